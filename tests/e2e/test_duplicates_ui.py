"""Settings › Possible duplicates in a real browser: a pair is listed with its reason,
**Merge** asks first and says who will see the survivor, and the merge lands on it.

A site of its own (a merge changes its contacts for good), Debian's Chromium.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import INSTANCE, ULTRAMSG_TOKEN, Shoot, Site, sign_in, start_sites
from playwright.sync_api import Page, expect

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg

pytestmark = pytest.mark.e2e

PERSON, LID = "5511987654321@c.us", "140000000000001@lid"
CHATS = [
    {"id": PERSON, "name": "Ana Souza"},
    {"id": LID, "name": "Ana Souza"},
    {"id": "4915112345678@c.us", "name": "Anna Schmidt"},
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with FakeUltraMsg(
        instance_id=INSTANCE, token=ULTRAMSG_TOKEN, chats=CHATS, host="127.0.0.1", port=0
    ) as fake:
        made = Site(Path(tmp_path_factory.mktemp("duplicates")), fake)
        try:
            start_sites([made])
            made.cli("sync")
            made.cli("links", "add", LID, "maria")
            made.cli("links", "add", PERSON, "bob")
            yield made
        finally:
            made.stop()


def test_an_admin_merges_a_lid_twin_after_a_confirmation_naming_who_will_see_it(
    page: Page, site: Site, shoot: Shoot
) -> None:
    sign_in(page, site, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Duplicates").click()
    expect(page.get_by_role("heading", name="Possible duplicates")).to_be_visible()
    row = page.locator("[data-duplicate]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Same name, one a hidden-number (@lid) chat")
    expect(row).to_contain_text(PERSON)
    expect(row).to_contain_text(LID)
    shoot(page, "duplicates")

    row.get_by_role("button", name="Merge").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label(f"Ana Souza ({PERSON})")).to_be_checked()  # the number stays
    expect(dialog.locator("[data-merge-viewers]")).to_have_text(
        f"Afterwards bob, maria will see Ana Souza ({PERSON}): everyone who could see "
        "either contact."
    )
    shoot(page, "merge-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    contacts = json.loads(site.cli("contacts", "list", "--json"))
    assert {c["wa_id"] for c in contacts} >= {PERSON, LID}  # cancelled: nothing merged

    row.get_by_role("button", name="Merge").click()
    dialog.get_by_role("button", name="Merge").click()
    page.wait_for_url("**/settings/contact-links?search=*")
    expect(page.get_by_role("heading", name="Contact Links")).to_be_visible()
    rows = page.locator("tr[data-contact-id]")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(PERSON)
    after = {c["wa_id"]: c for c in json.loads(site.cli("contacts", "list", "--json"))}
    assert LID not in after
    assert len(after[PERSON]["user_ids"]) == 2  # maria's and bob's links, united

    page.get_by_role("navigation").get_by_role("link", name="Duplicates").click()
    expect(page.locator("[data-duplicates-count]")).to_contain_text("No possible duplicates")
