"""Text from outside made storable: a lone UTF-16 surrogate becomes U+FFFD.

UltraMsg's JSON may carry half of an emoji (``"\\ud83d"``, when a name or a body
was cut mid-character): valid JSON, but no UTF-8 database can store it. Such
characters are replaced, and everything else is kept as it was.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (free for ordinary text)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def storable_or_none(value: object) -> str | None:
    """A string value made storable; anything that is no string is None."""
    return storable(value) if isinstance(value, str) else None
