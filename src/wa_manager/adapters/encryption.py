"""``FernetCipher``: the ``TokenCipher`` port over the ``cryptography`` package's Fernet.

``WA_MANAGER_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated
(``MultiFernet``): the first seals, every one opens. Rotation: put a new key
first, run ``wa-manager instances rotate-key`` (every stored token sealed again
with it), then drop the old key. A missing, malformed or wrong key is a
``ConfigError`` saying how to make one; never the key, never the token.
"""

from __future__ import annotations

import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from wa_manager.domain.errors import ConfigError

KEY_VARIABLE = "WA_MANAGER_ENCRYPTION_KEY"
HOW_TO_MAKE_ONE = (
    'make one with `wa-manager instances new-key` (or python -c "from cryptography.fernet '
    'import Fernet; print(Fernet.generate_key().decode())"), set it, and keep it safe'
)


def new_key() -> str:
    """A fresh random Fernet key, as text (32 bytes, url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise ConfigError(
            f"{KEY_VARIABLE}: key {position} is not a Fernet key (32 bytes, url-safe base64); "
            + HOW_TO_MAKE_ONE
        ) from None


class FernetCipher:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: str | None) -> None:
        """Read the comma-separated keys; ``ConfigError`` when there is none or one is
        malformed."""
        parts = [part.strip() for part in (keys or "").split(",") if part.strip()]
        if not parts:
            raise ConfigError(
                f"{KEY_VARIABLE} is not set: stored instances' tokens are encrypted with it; "
                + HOW_TO_MAKE_ONE
            )
        self._fernet = MultiFernet([_fernet(part, n) for n, part in enumerate(parts, 1)])

    def __repr__(self) -> str:
        return "FernetCipher(***)"

    def seal(self, token: str) -> str:
        """The token encrypted (and authenticated) with the first key."""
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def open(self, sealed: str, instance_id: str) -> str:
        """The token again; ``ConfigError`` when no key opens it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise self._wrong_key(instance_id) from None

    def reseal(self, sealed: str, instance_id: str) -> str:
        """The same token, sealed again with the first key."""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise self._wrong_key(instance_id) from None

    @staticmethod
    def _wrong_key(instance_id: str) -> ConfigError:
        return ConfigError(
            f"{KEY_VARIABLE} cannot decrypt the stored token of {instance_id}: set the key it "
            "was stored with (several keys, comma-separated, are all tried), or store the "
            f"token again with `wa-manager instances set-token {instance_id} --token-stdin`"
        )
