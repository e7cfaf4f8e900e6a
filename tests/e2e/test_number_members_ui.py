"""The members page of a WhatsApp number in a real browser: an admin makes maria a
member of a second number, and that number's chats appear in maria's inbox.

A site of its own (members are changed here), with two fake UltraMsg instances:
the site's own number, and a second one whose chats a CLI sync with that instance's
settings brings in (contacts of source ``OTHER``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import INSTANCE, ULTRAMSG_TOKEN, WA_MANAGER, Site, sign_in, start_sites
from playwright.sync_api import Browser, Page, expect

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats

pytestmark = pytest.mark.e2e

OTHER = "instance5150"
OTHER_TOKEN = "e2e-second-number-SECRET-token"
OTHER_CHATS = [
    {"id": "4915990000001@c.us", "name": "Second Number Customer"},
    {"id": "4915990000002@c.us", "name": "Another Sales Lead"},
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with (
        FakeUltraMsg(
            instance_id=INSTANCE, token=ULTRAMSG_TOKEN, chats=sample_chats()[:3], port=0
        ) as fake,
        FakeUltraMsg(instance_id=OTHER, token=OTHER_TOKEN, chats=OTHER_CHATS, port=0) as second,
    ):
        made = Site(Path(tmp_path_factory.mktemp("numbers")), fake)
        try:
            start_sites([made])
            made.cli("sync")
            other_env = {
                **made.env,
                "ULTRAMSG_INSTANCE_ID": OTHER,
                "ULTRAMSG_TOKEN": OTHER_TOKEN,
                "ULTRAMSG_BASE_URL": second.base_url,
            }
            subprocess.run([str(WA_MANAGER), "sync"], env=other_env, check=True, timeout=60)
            yield made
        finally:
            made.stop()


def test_an_admin_makes_maria_a_member_and_the_numbers_chats_appear_in_her_inbox(
    page: Page, browser: Browser, site: Site
) -> None:
    maria_context = browser.new_context()
    try:
        maria = maria_context.new_page()
        sign_in(maria, site, "maria")
        expect(maria.get_by_text("No conversations shared with you yet")).to_be_visible()

        sign_in(page, site, "admin", f"/settings/whatsapp-numbers/{OTHER}/members")
        expect(page.get_by_role("heading", name=f"Members of {OTHER}")).to_be_visible()
        members = page.get_by_role("group", name=f"Users who are members of {OTHER}")
        maria_box = members.get_by_role("checkbox", name="maria")
        expect(maria_box).not_to_be_checked()
        maria_box.check()
        page.get_by_role("button", name="Save members").click()
        expect(page.locator("[data-form-notice]")).to_contain_text(f"Saved the members of {OTHER}")
        expect(members.get_by_role("checkbox", name="maria")).to_be_checked()

        maria.reload()
        rows = maria.locator("[data-inbox-list] .conversation")
        expect(rows).to_have_count(len(OTHER_CHATS))
        for chat in OTHER_CHATS:
            expect(maria.get_by_role("link", name=chat["name"]).first).to_be_visible()
        expect(maria.get_by_text("Anna Schmidt")).to_have_count(0)  # the site's own number

        page.get_by_role("group", name=f"Users who are members of {OTHER}").get_by_role(
            "checkbox", name="maria"
        ).uncheck()
        page.get_by_role("button", name="Save members").click()
        expect(page.locator("[data-form-notice]")).to_contain_text("0 in all")
        maria.reload()
        expect(maria.get_by_text("No conversations shared with you yet")).to_be_visible()
    finally:
        maria_context.close()
