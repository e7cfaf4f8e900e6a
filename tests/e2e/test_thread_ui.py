"""The conversation page in a real browser: read a thread, reply, watch it change.

Chromium (Debian's) against the HTTP app served by uvicorn on a loopback port,
on a real SQLite file. UltraMsg's message side is ``wa_manager.testing.FakeMessenger``
(canned history, every send recorded, failures on demand), so these tests can
make a reply fail and then succeed; its webhooks are posted to the served app
the way UltraMsg posts them. New messages and status changes reach the open page
by its polling, never by a reload. Screenshots go through the ``shoot`` fixture
(``make screenshots`` renews ``docs/screenshots/``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import PASSWORDS, VIEWPORTS, Shoot, sign_in
from playwright.sync_api import Locator, Page, expect
from tests.serving import served_in_thread

from wa_manager import Settings
from wa_manager.adapters.sql import SqlStore
from wa_manager.bootstrap import App, bootstrap
from wa_manager.domain.errors import UpstreamRejected
from wa_manager.domain.messages import raw_message
from wa_manager.domain.model import LIBRARY, RawChat
from wa_manager.entrypoints.http.app import create_app
from wa_manager.testing import FakeMessenger, FastHasher, StaticChats

pytestmark = pytest.mark.e2e

SECRET = "e2e-hook-7c1d9a"
OUR_NUMBER = "4915000000000@c.us"
ANNA = "4915111111111@c.us"
BERND = "4915122222222@c.us"
CLARA = "4915133333333@c.us"
DORA = "4915144444444@c.us"
EMIL = "4915155555555@c.us"
HOSTILE = "<img src=x onerror=alert(1)>"
TIME = 1732400123


class ThreadSite:
    """The served app (``url``), its ``App`` and the fake message channel behind it."""

    def __init__(self, folder: Path) -> None:
        self.messenger = FakeMessenger()
        database_url = f"sqlite:///{folder / 'wa_manager.db'}"
        chats = [RawChat(ANNA, "Anna Schmidt"), RawChat(BERND, "Bernd"),
                 RawChat(CLARA, "Clara"), RawChat(DORA, "Dora"),
                 RawChat(EMIL, "Emil")]  # fmt: skip
        self.app: App = bootstrap(
            Settings(
                instance_id="instance777",
                token="e2e-thread-SECRET-token",
                database_url=database_url,
                webhook_secret=SECRET,
            ),
            chats=StaticChats(chats),
            store=SqlStore.open(database_url, auto_migrate=True),
            hasher=FastHasher(),
            messenger=self.messenger,
        )
        for username, role in (("admin", "admin"), ("maria", "user")):
            self.app.add_user(username, role, PASSWORDS[username])
        self.app.sync()
        for chat in (ANNA, CLARA, DORA, EMIL):
            self.app.link(chat, "maria")
        self._serving = served_in_thread(create_app(self.app, secret_key="e2e-thread-session-key"))
        self.url = ""

    def start(self) -> None:
        self.url = self._serving.__enter__()

    def stop(self) -> None:
        self._serving.__exit__(None, None, None)
        self.app.close()

    def conversation_path(self, wa_id: str) -> str:
        conversation = next(
            c for c in self.app.conversations.all(LIBRARY) if c.contact.wa_id == wa_id
        )
        return f"/conversations/{conversation.id}"

    def webhook(self, event: dict[str, Any]) -> None:
        """Post one UltraMsg event to the served app, as UltraMsg would."""
        answer = httpx.post(f"{self.url}/webhooks/ultramsg/{SECRET}", json=event, timeout=10)
        assert answer.status_code == 200, answer.text

    def inbound(self, wa_id: str, chat: str, body: str, seconds: int = 0, **data: Any) -> None:
        self.webhook({
            "event_type": "message_received",
            "data": {"id": wa_id, "from": chat, "to": OUR_NUMBER, "type": "chat", "body": body,
                     "time": TIME + seconds, **data},
        })  # fmt: skip

    def delivered(self, reference_id: str, wa_id: str, chat: str, ack: str) -> None:
        """UltraMsg names our sent message (``message_create``), then acks it."""
        self.webhook({
            "event_type": "message_create", "referenceId": reference_id,
            "data": {"id": wa_id, "from": OUR_NUMBER, "to": chat, "fromMe": True, "type": "chat",
                     "body": "", "time": TIME},
        })  # fmt: skip
        self.webhook({"event_type": "message_ack", "data": {"id": wa_id, "ack": ack}})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadSite]:
    served = ThreadSite(tmp_path_factory.mktemp("thread"))
    served.start()
    yield served
    served.stop()


def old_message(n: int) -> Any:
    """Message ``n`` of DORA's history on WhatsApp, an hour back; odd ones typed on our phone."""
    fields = {"id": f"false_dora_{n}", "body": f"Old message {n}", "time": TIME - 3600 + n,
              "fromMe": n % 2 == 1, "type": "chat"}  # fmt: skip
    return raw_message(fields, DORA)


def messages(page: Page) -> Locator:
    return page.locator("#messages > li")


def message(page: Page, text: str) -> Locator:
    return messages(page).filter(has=page.get_by_text(text, exact=True))


def reply_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Reply")


def mark_page(page: Page) -> None:
    """Tag this document, so ``still_same_page`` can tell that nothing reloaded it."""
    page.evaluate("window.__noReload = true")


def still_same_page(page: Page) -> bool:
    return bool(page.evaluate("window.__noReload === true"))


# -- reading and replying -------------------------------------------------------------


def test_a_row_opens_the_thread_and_a_reply_shows_its_ticks_as_acks_arrive(
    page: Page, site: ThreadSite, shoot: Shoot
) -> None:
    site.inbound("false_anna_1", ANNA, "Hallo! Ist das Fahrrad noch da?", pushname="Anna")
    site.inbound("false_anna_2", ANNA, "Ich könnte morgen vorbeikommen.", seconds=40)
    sign_in(page, site, "maria", "/conversations")
    page.get_by_role("link", name="Anna Schmidt").click()
    expect(page.get_by_role("heading", name="Anna Schmidt")).to_be_visible()
    expect(messages(page)).to_have_count(2)
    assert messages(page).first.get_attribute("class") == "message message-in"
    expect(page.get_by_text("Enter sends · Shift+Enter starts a new line")).to_be_visible()
    mark_page(page)

    box = reply_box(page)
    box.click()
    box.type("Ja, gerne!")
    box.press("Shift+Enter")
    box.type("Ab 18 Uhr.")
    box.press("Enter")
    sent = messages(page).filter(has_text="Ja, gerne!")
    expect(sent).to_have_class("message message-out")
    expect(sent.get_by_role("img", name="Sent")).to_be_visible()
    expect(box).to_have_value("")
    (chat, body, reference_id) = site.messenger.sent[-1]
    assert (chat, body) == (ANNA, "Ja, gerne!\nAb 18 Uhr.")

    site.delivered(reference_id, "true_anna_out_1", ANNA, "device")
    expect(sent.get_by_role("img", name="Delivered")).to_be_visible()
    site.delivered(reference_id, "true_anna_out_1", ANNA, "read")
    expect(sent.get_by_role("img", name="Read")).to_be_visible()
    assert still_same_page(page)
    shoot(page, "conversation")


def test_an_inbound_message_appears_without_a_reload(page: Page, site: ThreadSite) -> None:
    sign_in(page, site, "maria", site.conversation_path(ANNA))
    expect(page.get_by_role("heading", name="Anna Schmidt")).to_be_visible()
    mark_page(page)
    now = int(time.time()) + 1  # after the reply sent earlier: it is the newest message
    site.inbound("false_anna_3", ANNA, f"Bis morgen {HOSTILE}", seconds=now - TIME)
    arrived = message(page, f"Bis morgen {HOSTILE}")
    expect(arrived).to_be_visible()
    expect(arrived).to_have_class("message message-in")
    expect(messages(page).last).to_have_id(arrived.get_attribute("id") or "")
    assert page.locator("#messages img").count() == 0  # the text stayed text
    assert still_same_page(page)


def test_a_double_click_on_send_sends_once(page: Page, site: ThreadSite) -> None:
    sign_in(page, site, "maria", site.conversation_path(DORA))
    before = len(site.messenger.sent)
    reply_box(page).fill("Only once, please")
    page.get_by_role("button", name="Send").dblclick()
    expect(message(page, "Only once, please").get_by_role("img", name="Sent")).to_be_visible()
    page.reload()  # what the database holds, not what the page kept
    expect(message(page, "Only once, please")).to_have_count(1)
    assert len(site.messenger.sent) == before + 1


def test_a_failed_reply_keeps_the_text_says_why_and_can_be_retried(
    page: Page, site: ThreadSite, shoot: Shoot
) -> None:
    sign_in(page, site, "maria", site.conversation_path(CLARA))
    before = len(site.messenger.sent)
    site.messenger.fail_with = UpstreamRejected("UltraMsg says: the phone is not connected")
    try:
        reply_box(page).fill("Are you there?")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_role("alert")).to_contain_text("Could not send the message")
        expect(reply_box(page)).to_have_value("Are you there?")
        failed = message(page, "Are you there?")
        expect(failed.get_by_role("img", name="Not sent")).to_be_visible()
        expect(failed).to_contain_text("the phone is not connected")
        shoot(page, "conversation-failed")
    finally:
        site.messenger.fail_with = None
    reply_box(page).fill("")
    failed.get_by_role("button", name="Retry").click()
    expect(failed.get_by_role("img", name="Sent")).to_be_visible()
    expect(failed.get_by_role("button", name="Retry")).to_have_count(0)
    assert len(site.messenger.sent) == before + 1


# -- earlier messages -----------------------------------------------------------------


def test_load_earlier_fetches_the_history_from_whatsapp(page: Page, site: ThreadSite) -> None:
    site.messenger.history[DORA] = [old_message(n) for n in range(5, 0, -1)]
    sign_in(page, site, "maria", site.conversation_path(DORA))
    page.get_by_role("button", name="Load earlier messages").click()
    expect(page.get_by_role("status").filter(has_text="WhatsApp gave")).to_contain_text(
        "5 new ones are now shown"
    )
    expect(message(page, "Old message 1")).to_be_visible()
    bodies = messages(page).locator(".message-body").all_inner_texts()
    assert bodies[:5] == [f"Old message {n}" for n in range(1, 6)]

    site.messenger.fail_with = UpstreamRejected("UltraMsg says: Wrong token")
    try:
        page.get_by_role("button", name="Load earlier messages").click()
        expect(page.locator("#earlier-status")).to_contain_text(
            "Could not fetch the history from WhatsApp"
        )
    finally:
        site.messenger.fail_with = None


def test_load_earlier_pages_back_through_the_stored_thread_first(
    page: Page, site: ThreadSite
) -> None:
    for n in range(60):
        site.inbound(f"false_emil_{n}", EMIL, f"Emil {n}", seconds=n)
    sign_in(page, site, "maria", site.conversation_path(EMIL))
    expect(messages(page)).to_have_count(50)
    expect(messages(page).first).to_contain_text("Emil 10")
    page.get_by_role("button", name="Load earlier messages").click()
    expect(page.locator("#earlier-status")).to_have_text(
        "10 earlier messages shown. That is all wa-manager has stored: "
        "press again to ask WhatsApp for older ones."
    )
    expect(messages(page)).to_have_count(60)
    bodies = messages(page).locator(".message-body").all_inner_texts()
    assert bodies == [f"Emil {n}" for n in range(60)]


def test_an_empty_thread_says_so_at_phone_width(page: Page, site: ThreadSite, shoot: Shoot) -> None:
    page.set_viewport_size(VIEWPORTS["phone"])
    sign_in(page, site, "admin", site.conversation_path(BERND))
    expect(page.get_by_role("heading", name="No messages yet")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["width"]
    shoot(page, "conversation-empty")


def test_the_thread_fits_a_phone_and_works_from_the_keyboard(page: Page, site: ThreadSite) -> None:
    page.set_viewport_size(VIEWPORTS["phone"])
    sign_in(page, site, "maria", site.conversation_path(ANNA))
    expect(messages(page).first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS["phone"]["width"]
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "reply-body":
            break
    else:
        pytest.fail("Tab never reached the reply box")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    page.keyboard.type("Sent from the keyboard")
    page.keyboard.press("Control+Enter")
    expect(message(page, "Sent from the keyboard").get_by_role("img", name="Sent")).to_be_visible()


def test_a_page_whose_session_ended_says_so_instead_of_going_quiet(
    page: Page, site: ThreadSite
) -> None:
    sign_in(page, site, "maria", site.conversation_path(ANNA))
    expect(messages(page).first).to_be_visible()
    page.context.clear_cookies()
    expect(page.get_by_role("alert")).to_have_text(
        "Your session has ended: sign in again to see new messages."
    )
