"""The demo's WhatsApp: a small bike shop's chats, with a few messages in each.

``demo_chats()`` is what the shop's phone would list: customers, suppliers, the
team's group and a customers' group ride, plus the chats a real phone has that
are not conversations (status updates, a broadcast list, WhatsApp itself).
``demo_messages(now)`` gives each conversation a short, realistic history in
both directions (group messages with their authors, an image and a document as
media links), dated just before ``now``. Message ids are the same on every run,
so running the demo again on the same database adds no duplicates.
``INBOUND_LINES`` is what the fake says when it makes up an incoming message.

The awkward names (hostile HTML, very long, right-to-left...) stay in
``sample_chats()``, the test fixture.
"""

from __future__ import annotations

import hashlib

from wa_manager.adapters.fake_ultramsg.chats import Chat
from wa_manager.adapters.fake_ultramsg.messages import Message, make_message

SHOP_PHONE = "4915000000000"
SHOP = f"{SHOP_PHONE}@c.us"

ANNA = "4915112345678@c.us"
OLIVIA = "447911123456@c.us"
LUKAS = "4917612345678@c.us"
CHLOE = "33612345678@c.us"
JAMES = "14155552671@c.us"
JONAS = "140000000000001@lid"
PARTS = "4915198765432@c.us"
COURIER = "4917698765432@c.us"
TEAM = "120363041234567890@g.us"
RIDE = "120363098765432109@g.us"

SARA = ("4915211111111@c.us", "Sara (workshop)")
DENIZ = ("4915722222222@c.us", "Deniz")
TEAM_MEMBER = SARA
"""Who speaks in a group when the fake knows nobody there yet: (author, push name)."""

_CHATS: tuple[tuple[str, str], ...] = (
    (ANNA, "Anna Schmidt"),
    (OLIVIA, "Olivia Smith"),
    (LUKAS, "Lukas Müller"),
    (CHLOE, "Chloé Dubois"),
    (JAMES, "James Johnson"),
    (JONAS, "Jonas"),
    (PARTS, "VeloParts Wholesale – Mia"),
    (COURIER, "Kurier Express – Tom"),
    (TEAM, "Radwerk team 🔧"),
    (RIDE, "Saturday group ride 🚴"),
    ("4915000000000@broadcast", "Customer newsletter"),
    ("status@broadcast", ""),
    ("0@c.us", "WhatsApp"),
)

# (chat, minutes before now, from the shop?, body, extras)
_Line = tuple[str, int, bool, str, dict[str, str]]
_NONE: dict[str, str] = {}
_LINES: tuple[_Line, ...] = (
    (ANNA, 1500, False, "Hi! Could you look at my brakes this week? They squeak a lot 🙈", _NONE),
    (ANNA, 1490, True, "Hi Anna, sure – bring it in tomorrow morning, we open at 9.", _NONE),
    (ANNA, 100, False, "Is my bike ready? I could come by after work.", _NONE),
    (ANNA, 95, True, "Yes! New brake pads, adjusted the gears too. €38 in total.", _NONE),
    (ANNA, 90, False, "Perfect, see you at 6 👍", _NONE),
    (OLIVIA, 3000, False, "Hello, do you rent e-bikes for a weekend? We are two.", _NONE),
    (OLIVIA, 2990, True, "Hi Olivia! Yes: €35 per bike per day, helmets included.", _NONE),
    (OLIVIA, 2980, False, "Lovely. Can we pick them up Friday at 10?", _NONE),
    (OLIVIA, 2975, True, "Booked ✅ Please bring an ID.", _NONE),
    (LUKAS, 4400, False, "Did the Shimano chain I ordered arrive?", _NONE),
    (LUKAS, 4380, True, "Not yet, the supplier says Thursday. I'll message you.", _NONE),
    (LUKAS, 200, True, "Your chain is here, Lukas. Fitting takes 20 minutes.", _NONE),
    (CHLOE, 700, False, "Bonjour! The frame got scratched, can it be fixed?", _NONE),
    (
        CHLOE,
        698,
        False,
        "Here is the scratch",
        {"type": "image", "media": "https://example.com/radwerk/frame-scratch.jpg"},
    ),
    (CHLOE, 650, True, "Only the paint – we can touch it up for €15.", _NONE),
    (JAMES, 5000, False, "Hi, what would a city e-bike cost, roughly?", _NONE),
    (JAMES, 4990, True, "From €1,900; come by for a test ride any day but Sunday.", _NONE),
    (JONAS, 60, False, "Are you open on the public holiday?", _NONE),
    (PARTS, 2000, True, 'Hi Mia, 10 chains (Shimano HG-71) and 20 inner tubes 28" please.', _NONE),
    (PARTS, 1900, False, "Confirmed, delivery on Thursday.", _NONE),
    (
        PARTS,
        1890,
        False,
        "Invoice 2024-118.pdf",
        {"type": "document", "media": "https://example.com/radwerk/invoice-2024-118.pdf"},
    ),
    (COURIER, 300, False, "Parcel for Radwerk at the door, nobody answers 🙂", _NONE),
    (COURIER, 298, True, "Sorry Tom, coming down now!", _NONE),
    (TEAM, 600, False, "Morning! Two repairs waiting, Anna's brakes first.", {"member": "sara"}),
    (TEAM, 590, False, "I'll take the e-bike rental paperwork.", {"member": "deniz"}),
    (TEAM, 585, True, "Thanks both. VeloParts delivers Thursday.", _NONE),
    (TEAM, 30, False, "Can someone cover Saturday 2–6?", {"member": "deniz"}),
    (RIDE, 2500, True, "Saturday ride: 9:00 at the shop, 40 km, coffee stop in Potsdam ☕", _NONE),
    (RIDE, 2400, False, "I'm in!", {"member": "olivia"}),
    (RIDE, 2390, False, "Me too, bringing my neighbour.", {"member": "anna"}),
)
_MEMBERS = {
    "sara": SARA,
    "deniz": DENIZ,
    "olivia": (OLIVIA, "Olivia"),
    "anna": (ANNA, "Anna S."),
}

INBOUND_LINES: tuple[str, ...] = (
    "Hi, are you open on Saturday?",
    "Thanks, see you tomorrow!",
    "Could I pick it up after 6?",
    "👍",
    "Is the blue helmet still in stock?",
    "What do I owe you?",
    "Running 10 minutes late, sorry!",
    "Great, thank you 🙏",
    "Could you send me the invoice again?",
    "The bell is rattling again 😅 could you take a look?",
)


def demo_chats() -> list[Chat]:
    """The shop's chat list, as UltraMsg's ``/chats`` answers it."""
    return [
        {"id": wa_id, "name": name, "unread": 0, "last_time": 1732400000 - index * 3600}
        for index, (wa_id, name) in enumerate(_CHATS)
    ]


def demo_messages(now: float) -> dict[str, list[Message]]:
    """Each conversation's history, oldest first, the last message a few minutes before
    ``now`` (unix seconds)."""
    book: dict[str, list[Message]] = {}
    for index, (chat, minutes_ago, from_shop, body, extras) in enumerate(_LINES):
        author, pushname = _MEMBERS.get(extras.get("member", ""), ("", ""))
        if not from_shop and not author:
            pushname = dict(_CHATS)[chat].split(" – ")[-1]
        message = make_message(
            chat,
            SHOP,
            body,
            from_me=from_shop,
            timestamp=int(now) - minutes_ago * 60,
            author=author,
            pushname=pushname,
            type=extras.get("type", "chat"),
            media=extras.get("media", ""),
            wa_id=_stable_id(chat, from_shop, index),
        )
        if from_shop:
            message["ack"] = "read"
        book.setdefault(chat, []).append(message)
    return book


def _stable_id(chat: str, from_me: bool, index: int) -> str:
    digest = hashlib.sha256(f"{chat}/{index}".encode()).hexdigest()[:16].upper()
    return f"{'true' if from_me else 'false'}_{chat}_3EB0{digest}"


SUPPORT_PHONE = "4915000000099"
"""The shop's second number, its repair hotline (the demo's second WhatsApp number)."""

_SUPPORT_CHATS: tuple[tuple[str, str], ...] = (
    (ANNA, "Anna Schmidt"),  # writes to both numbers: one contact per number
    ("4915233333333@c.us", "Ben Weber"),
    ("4917644444444@c.us", "Clara Hoffmann"),
)
_SUPPORT_LINES: tuple[tuple[str, int, bool, str], ...] = (
    (ANNA, 95, False, "Hi, this is the repair line? My brake squeaks since Saturday."),
    (ANNA, 90, True, "Yes! Bring it by tomorrow morning, we'll have a look."),
    ("4915233333333@c.us", 60, False, "Do you fix e-bike batteries?"),
    ("4915233333333@c.us", 55, True, "We test them and send them to the maker if needed."),
    ("4917644444444@c.us", 20, False, "Flat tyre on the way to work 😩 any chance today?"),
)


def support_chats() -> list[Chat]:
    """The repair hotline's chat list."""
    return [
        {"id": wa_id, "name": name, "unread": 0, "last_time": 1732400000 - index * 3600}
        for index, (wa_id, name) in enumerate(_SUPPORT_CHATS)
    ]


def support_messages(now: float) -> dict[str, list[Message]]:
    """The hotline's short histories, dated just before ``now``; ids stable across runs."""
    own = f"{SUPPORT_PHONE}@c.us"
    book: dict[str, list[Message]] = {}
    for index, (chat, minutes_ago, from_us, body) in enumerate(_SUPPORT_LINES):
        message = make_message(
            chat,
            own,
            body,
            from_me=from_us,
            timestamp=int(now) - minutes_ago * 60,
            pushname="" if from_us else dict(_SUPPORT_CHATS)[chat],
            wa_id=_stable_id(f"support/{chat}", from_us, index),
        )
        if from_us:
            message["ack"] = "read"
        book.setdefault(chat, []).append(message)
    return book
