"""Users, passwords and API tokens: creating them and checking credentials.

API tokens are random 256-bit secrets shown once and stored as SHA-256 hashes
(a fast hash is right for high-entropy secrets); passwords are stored as argon2
hashes through the ``PasswordHasher`` port.

``Accounts`` is bound to its store, hasher and clock once (by ``bootstrap``).
Managing users and tokens takes an actor (``permissions.authorize``); checking
credentials does not: it is how an actor comes to be.
"""

from __future__ import annotations

import hashlib
import secrets

from attrs import frozen

from wa_manager.domain.errors import AuthError, InvalidInput
from wa_manager.domain.model import Actor, Role, User
from wa_manager.domain.ports import Clock, PasswordHasher, UnitOfWorkFactory
from wa_manager.domain.rules import validate_username
from wa_manager.services.contacts import existing_user
from wa_manager.services.permissions import Action, authorize
from wa_manager.services.sessions import is_stale

TOKEN_PREFIX = "wam_"  # noqa: S105 (a prefix, not a secret)
MIN_PASSWORD_LENGTH = 8
# A fixed hash to verify against when the username is unknown, so that an unknown
# user and a wrong password take the same time (no username enumeration).
_DUMMY_PASSWORD = "not-a-real-password-" + "x" * 16


_dummy_hashes: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a password nobody has, made once per hasher."""
    key = id(hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(_DUMMY_PASSWORD)
    return _dummy_hashes[key]


def hash_api_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@frozen
class Accounts:
    """Users, API tokens, and the checks of passwords, tokens and sessions."""

    store: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock

    def add_user(self, actor: Actor, username: str, role: str, password: str | None = None) -> User:
        """Create a user; ``AlreadyExists`` for a taken username, ``InvalidInput`` for bad input."""
        authorize(actor, Action.ADD_USER)
        validate_username(username)
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInput(f"role {role!r} is unknown; use admin or user") from None
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        password_hash = self.hasher.hash(password) if password is not None else None
        with self.store() as uow:
            user = uow.users.add(username, role, password_hash, self.clock())
            uow.commit()
        return user

    def user(self, actor: Actor, username: str) -> User:
        """The user with this name, or ``NotFound`` saying so."""
        authorize(actor, Action.LIST_USERS)
        with self.store(read_only=True) as uow:
            return existing_user(uow, username)

    def users(self, actor: Actor) -> list[User]:
        """Every user, by id."""
        authorize(actor, Action.LIST_USERS)
        with self.store(read_only=True) as uow:
            return uow.users.list()

    def usernames(self, actor: Actor) -> dict[int, str]:
        """User id -> username, to show who did something (one query)."""
        return {user.id: user.username for user in self.users(actor)}

    def create_token(self, actor: Actor, username: str, name: str = "cli") -> str:
        """Make a new API token for ``username`` and return it; only its hash is stored."""
        authorize(actor, Action.CREATE_TOKEN)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store() as uow:
            user = existing_user(uow, username)
            uow.tokens.add(user.id, hash_api_token(token), name, self.clock())
            uow.commit()
        return token

    def user_for_token(self, token: str) -> User:
        """The active user a live API token belongs to, or ``AuthError``.

        A read: ``last_used_at`` is written only when it is a few minutes old
        (``sessions.LAST_SEEN_PRECISION``), in a short transaction of its own.
        """
        now = self.clock()
        with self.store(read_only=True) as uow:
            found = uow.tokens.find_live(hash_api_token(token))
        if found is None or not found.user.active:
            raise AuthError(
                "the API token is unknown or revoked; create one with `wa-manager tokens create`"
            )
        if is_stale(found.last_used_at, now):
            with self.store() as uow:
                uow.tokens.note_use(found.token_id, now)
                uow.commit()
        return found.user

    def user_for_password(self, username: str, password: str) -> User:
        """The user whose password this is, or ``AuthError`` (the same for an unknown user)."""
        with self.store(read_only=True) as uow:
            user = uow.users.by_username(username)
            stored = uow.users.password_hash(user.id) if user is not None else None
        if user is None or stored is None:
            self.hasher.verify(_dummy_hash(self.hasher), password)  # the same work as a real check
            raise AuthError("wrong username or password")
        if not self.hasher.verify(stored, password) or not user.active:
            raise AuthError("wrong username or password")
        return user
