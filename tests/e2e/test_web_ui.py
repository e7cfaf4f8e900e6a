"""The web UI in a real browser: what an admin and the team see and do.

Chromium (Debian's) against a real ``wa-manager serve`` and a fake UltraMsg; see
``conftest.py``. Screenshots land in a temporary folder (``make screenshots``: in
``docs/screenshots/``).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_support import ULTRAMSG_TOKEN, VIEWPORTS, Shoot, Site, sign_in
from playwright.sync_api import Locator, Page, Route, expect

from wa_manager.adapters.fake_ultramsg import sample_chats

pytestmark = pytest.mark.e2e

HOSTILE = "<script>alert(1)</script>"
CONTACT_LINKS = "/settings/contact-links"
NOT_CONVERSATIONS = [
    chat
    for chat in sample_chats()
    if chat["id"] == "0@c.us" or chat["id"].endswith(("@broadcast", "@newsletter"))
]


def contact_rows(page: Page) -> Locator:
    """The rows of the contact table (not of the sync history below it)."""
    return page.locator("#contacts tbody tr")


def contact_names(page: Page) -> list[str]:
    """The names in the contact table, top to bottom."""
    return page.locator("#contacts tbody .contact-name").all_inner_texts()


def conversation_names(page: Page) -> list[str]:
    """The contact names in the conversation list, top to bottom."""
    return page.locator(".conversation .contact-name").all_inner_texts()


def contact_row(page: Page, name: str) -> Locator:
    """The table row of the contact with exactly this name."""
    return page.get_by_role("row").filter(has=page.get_by_text(name, exact=True))


def search(page: Page, text: str) -> None:
    box = page.get_by_role("searchbox", name="Search contacts")
    box.fill(text)
    box.press("Enter")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("search") == [text])


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


# -- signing in -----------------------------------------------------------------------


def test_sign_in_returns_to_the_page_asked_for(page: Page, synced_site: Site, shoot: Shoot) -> None:
    page.goto(f"{synced_site.url}{CONTACT_LINKS}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, "login")

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    page.get_by_label("Password").fill("admin-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Contact Links")).to_be_visible()
    assert page.url == f"{synced_site.url}{CONTACT_LINKS}"


# -- Sync WhatsApp --------------------------------------------------------------------


def test_first_sync_shows_its_report_and_fills_the_empty_list(
    page: Page, fresh_site: Site, shoot: Shoot
) -> None:
    site = fresh_site
    sign_in(page, site, "admin", CONTACT_LINKS)
    expect(page.get_by_text("No contacts yet — press Sync WhatsApp")).to_be_visible()
    shoot(page, "contact-links-empty")

    held: list[Route] = []
    page.route("**/api/whatsapp-contacts", lambda route: held.append(route))
    button = page.get_by_role("button", name="Sync WhatsApp")
    button.click()
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("aria-busy", "true")
    held[0].continue_()
    page.unroute("**/api/whatsapp-contacts")

    report = page.locator("[data-sync-report]")
    expect(report).to_be_visible()
    expect(button).to_be_enabled()
    created = len(sample_chats()) - len(NOT_CONVERSATIONS)
    expect(report.locator("[data-figure=created] dd")).to_have_text(str(created))
    expect(report.locator("[data-figure=updated] dd")).to_have_text("0")
    expect(report.locator("[data-figure=skipped] dd")).to_have_text(str(len(NOT_CONVERSATIONS)))
    expect(report.locator("[data-figure=took] dd")).to_have_text(
        re.compile(r"^\d+(\.\d)?\s(ms|s)$")
    )
    expect(contact_rows(page)).to_have_count(created)
    expect(contact_row(page, "Anna Schmidt")).to_contain_text("+4915112345678")
    shoot(page, "sync-report")

    page.goto(f"{site.url}/conversations")
    expect(page.locator(".conversation")).to_have_count(created)
    shoot(page, "conversations-admin")


def test_a_failing_ultramsg_is_explained_in_words(
    page: Page, synced_site: Site, shoot: Shoot
) -> None:
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    # The page asks UltraMsg for its status once loaded; fail the next request, the sync's.
    expect(page.locator("#instance-status")).to_have_attribute("data-connected", "true")
    synced_site.ultramsg.fail(
        200, times=1, body=b'{"error": "Wrong token. Please provide token as a GET parameter."}'
    )
    rows_before = contact_rows(page).count()
    page.get_by_role("button", name="Sync WhatsApp").click()

    error = page.locator("[data-sync-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Could not sync WhatsApp")
    expect(error).to_contain_text("Check ULTRAMSG_INSTANCE_ID and ULTRAMSG_TOKEN")
    expect(error).to_contain_text("Wrong token")
    expect(page.get_by_role("button", name="Sync WhatsApp")).to_be_enabled()
    assert ULTRAMSG_TOKEN not in page.content()
    expect(contact_rows(page)).to_have_count(rows_before)
    shoot(page, "sync-error")


# -- finding contacts -----------------------------------------------------------------


def test_search_by_name_phone_or_whatsapp_id(page: Page, synced_site: Site) -> None:
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    for query, found in [
        ("Schmidt", ["Anna Schmidt"]),
        ("+447911123456", ["Olivia Smith"]),
        ("120363041234567890@g.us", ["Family"]),
        ("נועה", ["נועה כהן"]),
    ]:
        search(page, query)
        expect(contact_rows(page)).to_have_count(len(found))
        assert contact_names(page) == found, query


def test_a_search_without_hits_says_so(page: Page, synced_site: Site) -> None:
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    search(page, "nobody-is-called-this")
    expect(page.get_by_text("No contacts match")).to_be_visible()
    page.get_by_role("link", name="Show all contacts").click()
    expect(contact_rows(page).first).to_be_visible()


def test_next_pages_through_every_contact(page: Page, synced_site: Site) -> None:
    total = len(sample_chats()) - len(NOT_CONVERSATIONS)
    sign_in(page, synced_site, "admin", f"{CONTACT_LINKS}?limit=15")
    seen: list[str] = []
    while True:
        rows = contact_rows(page)
        expect(rows).to_have_count(min(15, total - len(seen)))
        seen += [row.get_attribute("data-contact-id") or "" for row in rows.all()]
        next_link = page.get_by_role("link", name="Next")
        if len(seen) == total:
            expect(next_link).to_have_count(0)
            break
        next_link.click()
        expect(page.get_by_role("link", name="First page")).to_be_visible()
    assert len(set(seen)) == total
    ids = [int(contact_id) for contact_id in seen]
    assert ids == sorted(ids, reverse=True)


# -- Link Users and who sees what -----------------------------------------------------


def test_linking_a_contact_shows_its_conversation_to_that_user_only(
    page: Page, synced_site: Site, shoot: Shoot
) -> None:
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    row = contact_row(page, "Lucía García")
    row.get_by_role("button", name="Link Users").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Link Users to Lucía García")
    expect(dialog.get_by_role("checkbox")).to_have_count(3)
    dialog.get_by_role("checkbox", name="maria").check()
    shoot(page, "link-users-dialog")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("[data-linked-users]")).to_have_text("maria")

    page.reload()
    expect(contact_row(page, "Lucía García").locator("[data-linked-users]")).to_have_text("maria")
    shoot(page, "contact-links")

    sign_out(page)
    sign_in(page, synced_site, "maria")
    expect(page.get_by_role("heading", name="Conversations", exact=True)).to_be_visible()
    assert conversation_names(page) == ["Lucía García"]
    expect(page.locator(".conversation")).to_contain_text("+34612345678")
    expect(
        page.get_by_role("navigation").get_by_role("link", name=re.compile("Contact Links"))
    ).to_have_count(0)
    shoot(page, "conversations-user")
    page.goto(f"{synced_site.url}{CONTACT_LINKS}")
    expect(page.get_by_role("heading", name="Admins only")).to_be_visible()

    page.goto(f"{synced_site.url}/")
    sign_out(page)
    sign_in(page, synced_site, "bob")
    expect(page.get_by_text("No conversations shared with you yet")).to_be_visible()
    expect(page.locator(".conversation")).to_have_count(0)
    shoot(page, "conversations-empty")


def test_a_script_in_a_name_stays_text(page: Page, synced_site: Site) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda opened: (dialogs.append(opened.message), opened.dismiss()))
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    search(page, "script")
    assert contact_names(page) == [HOSTILE]
    contact_row(page, HOSTILE).get_by_role("button", name="Link Users").click()
    expect(page.get_by_role("dialog").get_by_role("heading")).to_have_text(
        f"Link Users to {HOSTILE}"
    )
    page.get_by_role("button", name="Cancel").click()
    page.goto(f"{synced_site.url}/conversations")
    expect(page.get_by_text(HOSTILE, exact=True)).to_be_visible()
    assert page.locator("main script").count() == 0
    assert dialogs == []


# -- looks and safety -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", CONTACT_LINKS, "/conversations"])
def test_pages_fit_a_phone_and_carry_no_inline_script(
    page: Page, synced_site: Site, path: str
) -> None:
    if path != "/login":
        sign_in(page, synced_site, "admin")
    page.set_viewport_size(VIEWPORTS["phone"])
    response = page.goto(f"{synced_site.url}{path}")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.locator("script:not([src])").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["width"]


def test_keyboard_focus_is_visible(page: Page, synced_site: Site) -> None:
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "sync-button":
            break
    else:
        pytest.fail("Tab never reached the Sync WhatsApp button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


def test_changes_from_the_browser_need_the_csrf_token(page: Page, synced_site: Site) -> None:
    sign_in(page, synced_site, "admin", CONTACT_LINKS)
    contact_id = contact_rows(page).first.get_attribute("data-contact-id")
    api = page.request
    assert api.post(f"{synced_site.url}/api/whatsapp-contacts").status == 403
    assert (
        api.put(f"{synced_site.url}/api/contacts/{contact_id}/users", data={"user_ids": []}).status
        == 403
    )
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    answer = api.post(f"{synced_site.url}/api/whatsapp-contacts", headers={"X-CSRF-Token": token})
    assert answer.status == 200
