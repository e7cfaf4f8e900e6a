"""WhatsApp numbers (UltraMsg instances) beyond the environment's default one.

A ``StoredInstance`` is a row of the ``instances`` table: its id (also the
``source`` of its contacts), an optional label, its API token sealed by the
``TokenCipher`` port (never the token itself), the secret of its webhook path and
when it was added. ``check_instance_id`` and ``check_token`` say what is accepted.
"""

from __future__ import annotations

import re
from datetime import datetime

from attrs import frozen

from wa_manager.domain.errors import InvalidInput

WEBHOOK_PATH_PREFIX = "/webhooks/ultramsg/"
MAX_LABEL_LENGTH = 100
MAX_TOKEN_LENGTH = 200
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@frozen
class StoredInstance:
    """One stored UltraMsg instance; ``sealed_token`` is ciphertext (``TokenCipher``)."""

    instance_id: str
    label: str | None
    sealed_token: str
    webhook_secret: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"StoredInstance({self.instance_id!r}, label={self.label!r})"

    @property
    def webhook_path(self) -> str:
        """The path UltraMsg posts this instance's webhooks to (its secret in it)."""
        return WEBHOOK_PATH_PREFIX + self.webhook_secret


@frozen
class InstanceSummary:
    """What ``instances list`` shows of one instance: never its token.

    ``stored`` is False for the environment's default instance (``ULTRAMSG_INSTANCE_ID``).
    """

    instance_id: str
    label: str | None
    contacts: int
    last_sync_at: datetime | None
    webhook_path: str | None
    stored: bool = True


def check_instance_id(instance_id: str) -> str:
    """An UltraMsg instance id such as ``instance12345``: letters, digits, ``-`` and
    ``_``, at most 64 characters (it goes into UltraMsg's URL paths)."""
    cleaned = instance_id.strip()
    if not _INSTANCE_ID.fullmatch(cleaned):
        raise InvalidInput(
            "an instance id is 1 to 64 letters, digits, '-' or '_' (e.g. instance12345), "
            "as the UltraMsg dashboard shows it"
        )
    return cleaned


def check_token(token: str) -> str:
    """An UltraMsg API token: not blank, no spaces inside, at most 200 characters.
    The message never repeats the token."""
    cleaned = token.strip()
    if not cleaned:
        raise InvalidInput("the token is empty; paste the instance's token from the dashboard")
    if len(cleaned) > MAX_TOKEN_LENGTH or any(char.isspace() for char in cleaned):
        raise InvalidInput(
            f"that is not an UltraMsg token (one word of at most {MAX_TOKEN_LENGTH} characters); "
            "copy it again from the UltraMsg dashboard"
        )
    return cleaned


def check_label(label: str | None) -> str | None:
    """A label of at most 100 characters, or None for none (blank counts as none)."""
    if label is None or not label.strip():
        return None
    cleaned = label.strip()
    if len(cleaned) > MAX_LABEL_LENGTH or not cleaned.isprintable():
        raise InvalidInput(f"a label is at most {MAX_LABEL_LENGTH} printable characters")
    return cleaned
