"""Chat lists for the fake UltraMsg: a hand-picked awkward set and a generator for load.

``sample_chats()`` is the tests' fixture: about forty chats that show every kind of id
UltraMsg sends (docs/ultramsg.md, "Chat ids") and every awkward name (emoji,
right-to-left, very long, hostile HTML). ``generate_chats(n, seed)`` makes n
distinct, realistic chats for tests and benchmarks, the same ones for the same
seed. ``encode_chats`` turns either into the bytes UltraMsg would send.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import msgspec

Chat = dict[str, Any]

# Country calling code + a mobile prefix, and how many subscriber digits follow.
# Every template gives numbers that ``phonenumbers`` accepts as valid.
_NUMBER_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("49151", 8),  # Germany
    ("49176", 8),
    ("4478", 8),  # United Kingdom
    ("14152", 6),  # United States
    ("12127", 6),
    ("9198", 8),  # India
    ("55119", 8),  # Brazil
    ("234803", 7),  # Nigeria
    ("346", 8),  # Spain
    ("3361", 7),  # France
    ("96650", 7),  # Saudi Arabia
    ("62812", 8),  # Indonesia
    ("2010", 8),  # Egypt
    ("39347", 7),  # Italy
    ("90532", 7),  # Turkey
    ("2782", 7),  # South Africa
    ("81901", 7),  # Japan
)

_FIRST_NAMES = (
    "Anna",
    "Lukas",
    "Olivia",
    "James",
    "Priya",
    "Arjun",
    "João",
    "Ana Clara",
    "Chinedu",
    "Ngozi",
    "Lucía",
    "Mateo",
    "Chloé",
    "Hugo",
    "محمد",
    "فاطمة",
    "Siti",
    "Budi",
    "Giulia",
    "Marco",
    "Elif",
    "Emre",
    "Thabo",
    "Zanele",
    "Yui",
    "さくら",
    "Maria",
    "Sam",
    "José",
)
_LAST_NAMES = (
    "Schmidt",
    "Müller",
    "Smith",
    "Johnson",
    "Sharma",
    "Patel",
    "Silva",
    "Okafor",
    "García",
    "Martin",
    "Dubois",
    "العتيبي",
    "Wijaya",
    "Rossi",
    "Yılmaz",
    "Nkosi",
    "Tanaka",
    "",
    "🌻",
)
_GROUP_NAMES = (
    "Family",
    "Football Sunday ⚽",
    "Team Berlin",
    "Book club 📚",
    "Flat 3B",
    "Support",
    "Alumni 2014",
    "Marketing",
    "Trip to Lisbon ✈️",
    "Neighbours",
)


def sample_chats() -> list[Chat]:
    """About forty chats for tests, covering every kind of id and awkward name (the
    demo's friendlier set is ``demo_chats()``)."""
    people: list[tuple[str, str | None]] = [
        ("4915112345678@c.us", "Anna Schmidt"),
        ("4917612345678@c.us", "Lukas Müller 🚲"),
        ("447911123456@c.us", "Olivia Smith"),
        ("14155552671@c.us", "James Johnson"),
        ("12127364012@c.us", "Dr. Emily Carter"),
        ("919876543210@c.us", "Priya Sharma"),
        ("5511987654321@c.us", "João Silva"),
        ("2348031234567@c.us", "Chinedu Okafor"),
        ("34612345678@c.us", "Lucía García"),
        ("33612345678@c.us", "Chloé Dubois"),
        ("966501234567@c.us", "محمد العتيبي"),
        ("972546789012@c.us", "נועה כהן"),
        ("201001234567@c.us", "Fatma Hassan"),
        ("6281234567890@c.us", "Siti Wijaya"),
        ("393471234567@c.us", "Giulia Rossi"),
        ("905321234567@c.us", "Elif Yılmaz"),
        ("27821234567@c.us", "Thabo Nkosi"),
        ("819012345678@c.us", "田中さくら"),
        ("4915198765432@c.us", "🎉🎂 Party Planner 🎈"),
        ("4915187654321@c.us", "Max 👨‍👩‍👧‍👦 Family Dad"),
        ("4915176543210@c.us", None),
        ("4915165432109@c.us", ""),
        ("4915154321098@c.us", "<script>alert(1)</script>"),
        ("4915143210987@c.us", "Long name " + "x" * 1990),
        ("4915132109876@c.us", "  Spaces around  "),
        ("140000000000001@lid", "Hidden Number Person"),
        ("140000000000002@lid", ""),
        ("14155550000@c.us", "Support Line"),
        ("525512345678@c.us", "Mateo Hernández"),
        ("61412345678@c.us", "Olivia Brown 🦘"),
        ("8613812345678@c.us", "王伟"),
    ]
    others: list[tuple[str, str | None]] = [
        ("120363041234567890@g.us", "Family"),
        ("120363098765432109@g.us", "Football Sunday ⚽"),
        ("4915198765432-1600000000@g.us", "Old style group"),
        ("4917612345678-1550000000@g.us", "Flat 3B"),
        ("120363011111111111@g.us", None),
        ("status@broadcast", ""),
        ("4915112345678@broadcast", "Weekly offers list"),
        ("120363222222222222@newsletter", "Tech News Channel"),
        ("0@c.us", "WhatsApp"),
    ]
    chats: list[Chat] = []
    for number, (wa_id, name) in enumerate(people + others):
        chat: Chat = {"id": wa_id, "unread": number % 4, "last_time": 1732400000 - number * 3600}
        if name is not None:
            chat["name"] = name
        elif number % 2:
            chat["name"] = None  # UltraMsg sends both a null and a missing name
        chats.append(chat)
    return chats


def generate_chats(n: int, seed: int = 0) -> list[Chat]:
    """``n`` distinct realistic chats, the same for the same ``seed``.

    About 90% persons with valid numbers, 4% ``@lid`` persons, 5% groups (old and
    new id form) and 1% broadcast lists; names in several scripts, some empty.
    """
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    rng = random.Random(seed)
    counters = [0] * len(_NUMBER_TEMPLATES)
    serial = seed * 1_000_003
    chats: list[Chat] = []
    append = chats.append
    templates = len(_NUMBER_TEMPLATES)
    for index in range(n):
        roll = rng.random()
        last_time = 1732400000 - int(roll * 977_777_777) % 100_000_000
        if roll < 0.90:
            template = int(roll * 1_000_003) % templates
            wa_id = _number(template, counters[template], seed) + "@c.us"
            counters[template] += 1
            name = _person_name(rng)
        elif roll < 0.94:
            wa_id = f"1{serial + index:014d}@lid"
            name = _person_name(rng) if rng.random() < 0.5 else ""
        elif roll < 0.97:
            wa_id = f"120363{serial + index:012d}@g.us"
            name = _GROUP_NAMES[index % len(_GROUP_NAMES)]
        elif roll < 0.99:
            template = int(roll * 1_000_003) % templates
            founder = _number(template, counters[template], seed)
            counters[template] += 1
            wa_id = f"{founder}-{1500000000 + index}@g.us"
            name = _GROUP_NAMES[index % len(_GROUP_NAMES)]
        else:
            wa_id = f"{serial + index}@broadcast"
            name = "Broadcast list"
        append({"id": wa_id, "name": name, "unread": index % 3, "last_time": last_time})
    return chats


def _number(template: int, counter: int, seed: int) -> str:
    """The ``counter``-th number of a template: distinct per counter (an affine
    permutation of the subscriber digits), shuffled by ``seed``."""
    prefix, digits = _NUMBER_TEMPLATES[template]
    modulus = 10**digits
    if counter >= modulus:
        raise ValueError(f"more numbers requested than {prefix}… has")
    subscriber = (counter * 7_919 + seed * 104_729 + 12_345) % modulus
    return f"{prefix}{subscriber:0{digits}d}"


def _person_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return ""
    first = _FIRST_NAMES[int(roll * 7_919) % len(_FIRST_NAMES)]
    if roll < 0.15:
        return first
    return f"{first} {_LAST_NAMES[int(roll * 104_729) % len(_LAST_NAMES)]}".strip()


def encode_chats(chats: Sequence[Chat]) -> bytes:
    """The chats as UltraMsg sends them: a compact JSON array, UTF-8."""
    return msgspec.json.encode(chats)
