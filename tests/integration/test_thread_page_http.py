"""The conversation page ``/conversations/{id}`` over HTTP (no browser), and the ETag
that keeps its polling cheap.

What the page must hold whatever the browser does: only who may see the
conversation sees it (anyone else gets the same 404 page as for an absent id),
every row of ``/conversations`` links to it, the thread is oldest to newest with
everything escaped, media are links only for web addresses, and an unchanged
thread answers a poll with a bodiless 304. The live behaviour is in
``tests/e2e/test_thread_ui.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from test_http_support import World, browser_login, chatting, conversation_of, make_app, running

from wa_manager.domain.errors import UpstreamRejected
from wa_manager.testing import FakeMessenger

SECRET = "hook-1f2e3d4c5b6a7980"
HOOK = f"/webhooks/ultramsg/{SECRET}"
ANNA = "4915100000001@c.us"
BEN = "4915100000002@c.us"
GROUP = "120363041234567890@g.us"
HOSTILE = "<script>alert(1)</script>"
TIME = 1732400123


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


@pytest.fixture
def world(messenger: FakeMessenger) -> Iterator[World]:
    with chatting(messenger, SECRET, shared=ANNA) as world:
        yield world


def conversation_id(world: World, wa_id: str = ANNA) -> int:
    return conversation_of(world, wa_id)


def received(world: World, wa_id: str, body: str | None, seconds: int = 0, **data: Any) -> None:
    event = {
        "event_type": "message_received",
        "data": {"id": wa_id, "from": data.pop("chat", ANNA), "to": "4915000000000@c.us",
                 "type": "chat", "body": body, "time": TIME + seconds, **data},
    }  # fmt: skip
    assert world.client.post(HOOK, json=event).status_code == 200


class Thread(HTMLParser):
    """The messages of a thread page, in page order: (direction, status, text) and links."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, str]] = []
        self.links: list[str] = []
        self.retry_buttons: list[str] = []
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        classes = attributes.get("class", "").split()
        if tag == "li" and "message" in classes:
            self.messages.append(
                {"id": attributes["data-message-id"], "status": attributes["data-status"],
                 "direction": "out" if "message-out" in classes else "in"}
            )  # fmt: skip
        elif self.messages and tag == "p" and classes:
            self._field = classes[0]
            self.messages[-1].setdefault(self._field, "")
        elif self.messages and tag == "span" and "ticks" in classes:
            self.messages[-1]["ticks"] = attributes["aria-label"]
        elif tag == "a":
            self.links.append(attributes.get("href", ""))
        elif tag == "button" and "data-retry-message" in attributes:
            self.retry_buttons.append(attributes["data-retry-message"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._field = None

    def handle_data(self, data: str) -> None:
        if self._field is not None and self.messages:
            self.messages[-1][self._field] += data


def main_of(html: str) -> str:
    """The ``<main>`` of a page (the rest holds the session's CSRF token)."""
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def thread_of(html: str) -> Thread:
    parser = Thread()
    parser.feed(html)
    return parser


# -- who sees it ----------------------------------------------------------------------


def test_every_conversation_row_links_to_its_page(world: World) -> None:
    browser_login(world.client, "admin")
    html = world.client.get("/conversations").text
    rows = re.findall(r'data-conversation-id="(\d+)"', html)
    assert len(rows) == 2
    for row in rows:
        assert f'href="/conversations/{row}"' in html
        assert world.client.get(f"/conversations/{row}").status_code == 200


def test_a_conversation_not_shared_with_the_user_is_the_same_404_as_an_absent_one(
    world: World,
) -> None:
    browser_login(world.client, "maria")
    hidden = world.client.get(f"/conversations/{conversation_id(world, BEN)}")
    absent = world.client.get("/conversations/999999")
    assert (hidden.status_code, absent.status_code) == (404, 404)
    hidden_id = str(conversation_id(world, BEN))
    assert main_of(hidden.text).replace(hidden_id, "N") == main_of(absent.text).replace(
        "999999", "N"
    )
    assert "Person 2" not in hidden.text
    assert world.client.get(f"/conversations/{conversation_id(world)}").status_code == 200


def test_signed_out_visitors_are_sent_to_log_in_and_back(world: World) -> None:
    path = f"/conversations/{conversation_id(world)}"
    answer = world.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=" + path.replace("/", "%2F")


# -- what the thread shows ------------------------------------------------------------


def test_the_thread_reads_oldest_to_newest_with_our_replies_and_their_state(
    world: World,
) -> None:
    cid = conversation_id(world)
    received(world, "false_2", "second", seconds=60)
    received(world, "false_1", "first")
    world.app.send_message(world.user.user, cid, "our reply")
    browser_login(world.client, "maria")
    thread = thread_of(world.client.get(f"/conversations/{cid}").text)
    assert [(m["message-body"], m["direction"]) for m in thread.messages] == [
        ("first", "in"),
        ("second", "in"),
        ("our reply", "out"),
    ]
    assert thread.messages[-1]["ticks"] == "Sent"
    assert "ticks" not in thread.messages[0]


def test_everything_from_whatsapp_is_escaped_text(world: World) -> None:
    cid = conversation_id(world)
    received(world, "false_x", HOSTILE, pushname=HOSTILE, author=HOSTILE)
    browser_login(world.client, "maria")
    html = world.client.get(f"/conversations/{cid}").text
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    (message,) = thread_of(html).messages
    assert message["message-body"] == HOSTILE
    assert message["message-author"] == HOSTILE


def test_group_authors_are_named_by_pushname_else_number() -> None:
    with running(make_app([], webhook_secret=SECRET)) as world:
        for wa_id, author, pushname in (("g1", "4917611111111@c.us", "Lena"),
                                        ("g2", "4917622222222@c.us", None)):  # fmt: skip
            extra = {"pushname": pushname} if pushname else {}
            received(world, wa_id, "hi", chat=GROUP, author=author, **extra)
        browser_login(world.client, "admin")
        cid = conversation_id(world, GROUP)
        thread = thread_of(world.client.get(f"/conversations/{cid}").text)
    assert [m["message-author"] for m in thread.messages] == ["Lena", "4917622222222"]


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://media.ultramsg.com/photo.jpg", True),
        ("http://media.example/clip.mp4", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("  JavaScript:alert(1)", False),
    ],
)
def test_media_is_a_link_only_for_a_web_address(world: World, url: str, linked: bool) -> None:
    cid = conversation_id(world)
    received(world, "false_m", "caption", type="image", media=url)
    browser_login(world.client, "maria")
    html = world.client.get(f"/conversations/{cid}").text
    thread = thread_of(html)
    (message,) = thread.messages
    assert (url in thread.links) is linked
    assert not any(link.strip().lower().startswith(("javascript", "data")) for link in thread.links)
    assert message["message-media"].startswith("Open photo" if linked else "Photo")


def test_a_failed_reply_shows_its_error_and_a_retry_button(
    world: World, messenger: FakeMessenger
) -> None:
    cid = conversation_id(world)
    messenger.fail_with = UpstreamRejected("UltraMsg says: Wrong token")
    with pytest.raises(UpstreamRejected):
        world.app.send_message(world.user.user, cid, "Hallo?")
    browser_login(world.client, "maria")
    thread = thread_of(world.client.get(f"/conversations/{cid}").text)
    (failed,) = thread.messages
    assert failed["status"] == "failed"
    assert failed["ticks"] == "Not sent"
    assert "Wrong token" in failed["message-error"]
    assert thread.retry_buttons == [failed["id"]]


def test_an_empty_conversation_says_so_and_offers_the_history(world: World) -> None:
    browser_login(world.client, "maria")
    html = world.client.get(f"/conversations/{conversation_id(world)}").text
    assert thread_of(html).messages == []
    assert "No messages yet" in html
    assert 'id="thread-empty" hidden' not in html
    assert "Load earlier messages" in html
    assert 'data-earlier-cursor=""' in html  # nothing stored: the button asks WhatsApp


def test_a_long_thread_shows_the_newest_page_and_a_cursor_for_earlier_ones(
    world: World,
) -> None:
    cid = conversation_id(world)
    for n in range(60):
        received(world, f"false_{n}", f"message {n}", seconds=n)
    browser_login(world.client, "maria")
    html = world.client.get(f"/conversations/{cid}").text
    bodies = [m["message-body"] for m in thread_of(html).messages]
    assert bodies == [f"message {n}" for n in range(10, 60)]
    cursor = re.search(r'data-earlier-cursor="([^"]+)"', html)
    assert cursor
    older = world.client.get(f"/api/conversations/{cid}/messages?cursor={cursor.group(1)}")
    assert [m["body"] for m in older.json()["items"]] == [f"message {n}" for n in range(9, -1, -1)]


# -- the ETag of the thread -----------------------------------------------------------


def test_an_unchanged_thread_answers_a_poll_with_304_and_a_change_with_200(
    world: World,
) -> None:
    cid = conversation_id(world)
    path = f"/api/conversations/{cid}/messages"
    headers = world.user.headers
    received(world, "false_1", "Hallo")
    first = world.client.get(path, headers=headers)
    tag = first.headers["etag"]
    same = world.client.get(path, headers={**headers, "If-None-Match": tag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == tag

    sent = world.app.send_message(world.user.user, cid, "Hi!")
    changed = world.client.get(path, headers={**headers, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.json()["items"][0]["status"] == "sent"
    ack = {"event_type": "message_ack", "data": {"id": "wa-1", "ack": "read"}}
    # the ack finds the message by its WhatsApp id, which message_create gives it
    create = {
        "event_type": "message_create",
        "referenceId": sent.reference_id,
        "data": {"id": "wa-1", "from": "4915000000000@c.us", "to": ANNA, "fromMe": True,
                 "type": "chat", "body": "Hi!", "time": TIME + 5},
    }  # fmt: skip
    world.client.post(HOOK, json=create)
    before_ack = world.client.get(path, headers=headers).headers["etag"]
    world.client.post(HOOK, json=ack)
    after_ack = world.client.get(path, headers={**headers, "If-None-Match": before_ack})
    assert after_ack.status_code == 200
    assert after_ack.json()["items"][0]["status"] == "read"


def test_another_users_etag_reveals_nothing_about_a_hidden_thread(world: World) -> None:
    hidden = conversation_id(world, BEN)
    answer = world.client.get(
        f"/api/conversations/{hidden}/messages",
        headers={**world.user.headers, "If-None-Match": "*"},
    )
    assert answer.status_code == 404


def test_the_thread_page_has_no_inline_script_style_or_handler(world: World) -> None:
    received(world, "false_1", "Hallo")
    browser_login(world.client, "maria")
    page = world.client.get(f"/conversations/{conversation_id(world)}")
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    tags = re.findall(r"<[a-z][^>]*>", page.text)
    assert not [tag for tag in tags if tag.startswith("<script") and " src=" not in tag]
    assert not [tag for tag in tags if re.search(r"\s(on[a-z]+|style)=", tag)]


def test_the_openapi_document_describes_the_etag_and_the_304(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    operation = document["paths"]["/api/conversations/{id}/messages"]["get"]
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert "304" in operation["responses"]
    assert "If-None-Match" in [param["name"] for param in operation["parameters"]]
