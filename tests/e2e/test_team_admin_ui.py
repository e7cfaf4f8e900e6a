"""Settings › Users, Settings › Teams, My account and bulk linking in a real browser.

A site of its own (users are added and changed here, which the shared sites' tests
must not see), Debian's Chromium, keyboard where a person would use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import INSTANCE, ULTRAMSG_TOKEN, VIEWPORTS, Site, sign_in, start_sites
from playwright.sync_api import Page, expect

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats

pytestmark = pytest.mark.e2e

PAGES = ["/settings/users", "/settings/teams", "/account"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with FakeUltraMsg(
        instance_id=INSTANCE, token=ULTRAMSG_TOKEN, chats=sample_chats(), host="127.0.0.1", port=0
    ) as fake:
        made = Site(Path(tmp_path_factory.mktemp("teams")), fake)
        try:
            start_sites([made])
            made.cli("sync")
            yield made
        finally:
            made.stop()


def sign_in_as(page: Page, site: Site, username: str, password: str) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_admin_adds_a_user_who_signs_in_with_the_one_time_password(
    page: Page, site: Site
) -> None:
    sign_in(page, site, "admin")
    page.get_by_role("navigation").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    page.get_by_label("Username").fill("tom")
    page.get_by_role("button", name="Add user").click()
    notice = page.locator("[data-form-notice]")
    expect(notice).to_contain_text("Added tom")
    password = page.locator("[data-secret]").inner_text()
    assert len(password) >= 12
    page.reload()
    expect(page.locator("[data-secret]")).to_have_count(0)

    page.get_by_role("button", name="Disable").last.click()
    expect(page.locator("[data-form-notice]")).to_contain_text("tom is disabled")
    page.get_by_role("button", name="Enable").click()
    expect(page.locator("[data-form-notice]")).to_contain_text("tom is enabled")
    page.locator('[data-user="admin"]').get_by_role("button", name="Disable").click()
    expect(page.locator("[data-form-error]")).to_contain_text("last enabled admin")

    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, site, "tom", password)
    page.get_by_role("link", name="My account").click()
    page.get_by_label("Current password").fill(password)
    page.get_by_label("New password").fill("tom-has-a-new-one")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("[data-form-notice]")).to_contain_text("Your password is changed")

    page.get_by_label("Name").fill("laptop")
    page.get_by_label("Name").press("Enter")
    expect(page.locator("[data-form-notice]")).to_contain_text("laptop")
    expect(page.locator("[data-secret]")).to_have_text(re.compile(r"^wam_[A-Za-z0-9_-]{20,}$"))
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator('[data-token="laptop"]')).to_contain_text("revoked")


def test_a_team_gets_members_and_bulk_linked_contacts(page: Page, site: Site) -> None:
    sign_in(page, site, "admin")
    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name").fill("Support")
    page.get_by_label("Name").press("Enter")
    expect(page.locator("[data-form-notice]")).to_contain_text("Created the team Support")
    team = page.locator('[data-team="Support"]')
    team.get_by_role("checkbox", name="maria").check()
    team.get_by_role("button", name="Save members").click()
    expect(page.locator("[data-form-notice]")).to_contain_text("Saved the members of Support")

    page.get_by_role("link", name="Contact Links").click()
    page.get_by_text("Link many contacts at once").click()
    expect(page.get_by_text("All", exact=False).filter(has_text="matching")).to_be_visible()
    boxes = page.locator("[data-select-contact]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    bulk = page.locator("#bulk-form")
    bulk.get_by_role("checkbox", name="Support").check()
    bulk.get_by_role("button", name="Link Users").click()
    expect(page.locator("[data-bulk-notice]")).to_contain_text("2 contacts, 2 links changed")
    expect(page.locator("[data-team-chip]")).to_have_count(2)

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, "maria")
    expect(page.locator(".conversation")).to_have_count(2)


@pytest.mark.parametrize("path", PAGES)
def test_the_new_pages_fit_a_phone_and_carry_no_inline_script(
    page: Page, site: Site, path: str
) -> None:
    sign_in(page, site, "admin")
    page.set_viewport_size(VIEWPORTS["phone"])
    response = page.goto(f"{site.url}{path}")
    assert response is not None
    assert response.status == 200
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("[style]").count() == 0
