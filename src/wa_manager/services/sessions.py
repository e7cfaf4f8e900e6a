"""Browser sessions and the login throttle, kept in the database so that every server
process agrees on them (``docs/interface.md#authentication``).

A session is a random 256-bit secret handed to the browser once (in the signed
cookie); the store keeps only its SHA-256, the user, and when it began, was last
seen, expires and ended. Signing out ends it for good: the same cookie replayed
later is refused. ``end_all_for`` ends every session of a user (a password
change, a disable, a role change), optionally but the current one. Ids of users
and sessions are never reused, so a session can never come to belong to a later
user with the same id.

``LoginThrottle`` counts login attempts per (account, client address) and per
client address in fixed windows, in the store: an attempt is counted *before* the
password is checked (one atomic statement), so N processes or N concurrent
requests together get no more than the limit; a successful login gives its
attempt back. Keys are hashes of a username cut to a bounded length, so any
username costs one short row; stale rows are deleted and the table is capped.

``signing_key`` is the key that signs session cookies and CSRF tokens when
``WA_MANAGER_SECRET_KEY`` is not set: generated once and kept in the store, the
first process to store it wins, so all processes and restarts share it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from attrs import frozen

from wa_manager.domain.errors import AuthError, WaManagerError
from wa_manager.domain.model import SignedInSession, User
from wa_manager.domain.ports import Clock, UnitOfWorkFactory

SESSION_LIFETIME = timedelta(hours=12)  # a working day; then sign in again
# How stale ``last_seen_at`` (sessions) and ``last_used_at`` (API tokens) may get before
# a request writes it: reads stay reads, and the time is still right to a few minutes.
LAST_SEEN_PRECISION = timedelta(minutes=5)
SIGNING_KEY_NAME = "session-signing-key"
ENDED_SESSIONS_KEPT = timedelta(days=30)  # then pruned


class TooManyAttempts(WaManagerError):
    """Too many logins in a short time (HTTP 429); ``retry_after`` in seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def hash_secret(secret: str) -> str:
    """The stored form of a session secret (a fast hash is right for 256 random bits)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_token_for(signing_key: str, session_secret: str) -> str:
    """The CSRF token of a session: an HMAC of its secret, so nothing more is stored and
    every process computes the same one."""
    message = f"csrf:{session_secret}".encode()
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def is_stale(last: datetime | None, now: datetime) -> bool:
    """Whether a ``last seen`` time is worth writing again."""
    return last is None or now - last >= LAST_SEEN_PRECISION


@frozen
class Sessions:
    """Sessions of signed-in browsers, in the store."""

    store: UnitOfWorkFactory
    clock: Clock
    lifetime: timedelta = SESSION_LIFETIME

    def start(self, user: User) -> str:
        """A new session for ``user``; its secret (for the cookie, never stored)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store() as uow:
            uow.sessions.add(hash_secret(secret), user.id, now, now + self.lifetime)
            uow.sessions.prune(now - ENDED_SESSIONS_KEPT)
            uow.commit()
        return secret

    def user_for(self, secret: str) -> User:
        """The active user of a live session, or ``AuthError``; notes ``last_seen_at``
        at most every few minutes (a read otherwise)."""
        now = self.clock()
        with self.store(read_only=True) as uow:
            session = uow.sessions.find_live(hash_secret(secret), now)
        if session is None:
            raise AuthError("your session has ended; sign in again")
        if is_stale(session.last_seen_at, now):
            self._touch(session, now)
        return session.user

    def _touch(self, session: SignedInSession, now: datetime) -> None:
        with self.store() as uow:
            uow.sessions.touch(session.id, now)
            uow.commit()

    def end(self, secret: str) -> bool:
        """Sign out: the session ends for good; True if it was live."""
        with self.store() as uow:
            ended = uow.sessions.end(hash_secret(secret), self.clock())
            uow.commit()
        return ended

    def end_all_for(self, user_id: int, *, except_secret: str | None = None) -> int:
        """End every live session of a user, but ``except_secret``'s; how many ended.

        For a password change, a disable or a role change.
        """
        keep = hash_secret(except_secret) if except_secret is not None else None
        with self.store() as uow:
            ended = uow.sessions.end_all_for(user_id, self.clock(), keep_hash=keep)
            uow.commit()
        return ended

    def end_sessions_of(self, user_id: int, keep: str | None = None) -> None:
        """``end_all_for`` under the name of the ``SessionEnder`` port that account
        management calls (``keep``: the caller's own session secret)."""
        self.end_all_for(user_id, except_secret=keep)

    def signing_key(self) -> str:
        """The shared key that signs cookies and CSRF tokens, made on first use."""
        with self.store() as uow:
            key = uow.secrets.get_or_add(SIGNING_KEY_NAME, secrets.token_urlsafe(48), self.clock())
            uow.commit()
        return key


MAX_USERNAME_KEY_LENGTH = 128  # characters of a username that count for the throttle


@frozen
class LoginThrottle:
    """At most ``max_attempts`` failed logins per ``window`` seconds per (account,
    address) pair and per address, counted in the store.

    Not per account alone: then anyone who knows a username could lock its owner
    out from anywhere. Guessing one account from many addresses stays slow (argon2,
    8+ character passwords); one address guessing many accounts hits its own limit.
    """

    store: UnitOfWorkFactory
    clock: Clock
    max_attempts: int = 5
    window: float = 60.0
    max_rows: int = 100_000

    @staticmethod
    def keys(username: str, address: str) -> tuple[str, str]:
        """The counters' keys: hashes, so a key is short whatever the username."""
        account = username.strip().lower()[:MAX_USERNAME_KEY_LENGTH]
        pair = hashlib.sha256(f"pair\0{account}\0{address}".encode()).hexdigest()
        alone = hashlib.sha256(f"addr\0{address}".encode()).hexdigest()
        return pair, alone

    def attempt(self, username: str, address: str) -> None:
        """Count a login attempt; ``TooManyAttempts`` when the pair or the address is
        over its limit (the attempt must then not go ahead)."""
        now = self.clock()
        retry_after = 0
        with self.store() as uow:
            for key in self.keys(username, address):
                attempts, started = uow.login_attempts.hit(key, now, self.window)
                if attempts > self.max_attempts:
                    left = (started - now).total_seconds() + self.window
                    retry_after = max(retry_after, 1, int(left + 0.999))
            uow.login_attempts.prune(now - timedelta(seconds=self.window), self.max_rows)
            uow.commit()
        if retry_after:
            raise TooManyAttempts(
                f"too many failed logins; wait {retry_after} seconds and try again", retry_after
            )

    def succeeded(self, username: str, address: str) -> None:
        """A login went through: forget the pair's failures, give the address its attempt back."""
        pair, alone = self.keys(username, address)
        with self.store() as uow:
            uow.login_attempts.forget(pair)
            uow.login_attempts.give_back(alone)
            uow.commit()
