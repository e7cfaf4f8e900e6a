"""Settings › WhatsApp numbers in a real browser: add a second number (its token in a
password field, never shown again), each number's status filled in, a number's own
Sync, and Contact Links' Sync WhatsApp reporting every number.

A site of its own: one fake UltraMsg serving the default instance and a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import INSTANCE, ULTRAMSG_TOKEN, Shoot, Site, sign_in, start_sites
from playwright.sync_api import Page, expect

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats
from wa_manager.bootstrap import new_encryption_key

pytestmark = pytest.mark.e2e

SECOND = "instance4040"
SECOND_TOKEN = "e2e-second-number-SECRET"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with FakeUltraMsg(
        instance_id=INSTANCE, token=ULTRAMSG_TOKEN, chats=sample_chats(), host="127.0.0.1", port=0
    ) as fake:
        second = fake.add_instance(SECOND, SECOND_TOKEN, sample_chats()[:5])
        second.status = "qr"
        made = Site(Path(tmp_path_factory.mktemp("numbers")), fake)
        made.env["WA_MANAGER_ENCRYPTION_KEY"] = new_encryption_key()
        try:
            start_sites([made], usernames=("admin",))
            yield made
        finally:
            made.stop()


def test_an_admin_adds_a_number_and_syncs_it(page: Page, site: Site, shoot: Shoot) -> None:
    sign_in(page, site, "admin", "/settings/contact-links")
    page.get_by_role("navigation").get_by_role("link", name="WhatsApp numbers").click()
    expect(page.get_by_role("heading", name="WhatsApp numbers")).to_be_visible()
    expect(page.locator(f'[data-status-of="{INSTANCE}"]')).to_contain_text("Connected")

    page.get_by_label("Instance id").fill(SECOND)
    page.get_by_label("Label (optional)").fill("Support")
    token = page.get_by_label("Token")
    assert token.get_attribute("type") == "password"
    token.fill(SECOND_TOKEN)
    page.get_by_role("button", name="Add number").click()
    expect(page.locator("[data-form-notice]")).to_contain_text(f"Added {SECOND}")
    expect(page.locator(f'[data-status-of="{SECOND}"]')).to_contain_text("Not connected")
    assert page.get_by_label("Token").input_value() == ""
    assert SECOND_TOKEN not in page.content()

    page.locator(f'[data-sync-instance="{SECOND}"]').click()
    expect(page.locator(f'[data-sync-result-of="{SECOND}"]')).to_contain_text("5 fetched")
    expect(page.locator(f'[data-last-sync-of="{SECOND}"]')).to_have_text("just now")
    members = page.locator(f'tr[data-instance="{SECOND}"]').get_by_role("link", name="Members")
    assert members.get_attribute("href") == f"/settings/whatsapp-numbers/{SECOND}/members"
    shoot(page, "whatsapp-numbers")

    page.get_by_role("link", name="Contact Links").click()
    page.get_by_role("button", name="Sync WhatsApp").click()
    report = page.locator("[data-sync-report]")
    expect(report.locator(f'[data-instance-report="{INSTANCE}"]')).to_contain_text("created")
    expect(report.locator(f'[data-instance-report="{SECOND}"]')).to_contain_text("0 created")
    assert SECOND_TOKEN not in page.content()
