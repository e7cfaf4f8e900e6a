"""Password hashing with argon2 (argon2-cffi's recommended parameters), and the check
that refuses common passwords (zxcvbn's list of the 30,000 most common and its score)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

# zxcvbn's matching grows fast with the length; a password longer than this is not
# "common" in any sense its lists know, so only its start is scored.
_SCORED_CHARACTERS = 64


class Argon2Hasher:
    """The ``PasswordHasher`` port over argon2id."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536) -> None:
        self._argon2 = _Argon2(time_cost=time_cost, memory_cost=memory_cost)

    def hash(self, password: str) -> str:
        """A salted argon2id hash of ``password``."""
        return self._argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; False (never an exception) when it does not."""
        try:
            return bool(self._argon2.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False


class CommonPasswordPolicy:
    """The ``PasswordPolicy`` port over zxcvbn: refuses a password from its list of the
    30,000 most common ones (any case), and any it scores 0 ("too guessable": fewer
    than a thousand guesses, e.g. ``aaaaaaaa`` or ``12341234``)."""

    @functools.cached_property
    def _common(self) -> frozenset[str]:
        """The common passwords, loaded on the first check: zxcvbn's lists take ~14 MB,
        which a process that checks no password (a sync) need not hold."""
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        return frozenset(FREQUENCY_LISTS["passwords"])

    def weakness(self, password: str) -> str | None:
        """Why ``password`` is too easy to guess, or None."""
        if password.lower() in self._common:
            return "it is one of the 30,000 most common passwords"
        from zxcvbn import zxcvbn

        # No user_inputs: zxcvbn keeps them in a module-level dict that concurrent
        # calls would share; the service compares the password with the username itself.
        if zxcvbn(password[:_SCORED_CHARACTERS])["score"] == 0:
            return "it is too easy to guess (a repeated character, a sequence or a common word)"
        return None
