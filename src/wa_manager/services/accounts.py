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

from wa_manager.domain.errors import AlreadyExists, AuthError, InvalidInput
from wa_manager.domain.model import Actor, Role, User
from wa_manager.domain.ports import Clock, PasswordHasher, PasswordPolicy, UnitOfWorkFactory
from wa_manager.domain.rules import validate_username
from wa_manager.services.contacts import existing_user
from wa_manager.services.permissions import Action, authorize

TOKEN_PREFIX = "wam_"  # noqa: S105 (a prefix, not a secret)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # as the API's request bodies: argon2 needs no more
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
    policy: PasswordPolicy

    def check_password(self, username: str, password: str) -> None:
        """Refuse (``InvalidInput``, saying why) a password that is too short or too long,
        the username in any case, or too easy to guess (``PasswordPolicy``). Every path that
        sets a password goes through here."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidInput(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
        if password.casefold() == username.casefold():
            raise InvalidInput("the password may not be the username; choose another")
        weakness = self.policy.weakness(password)
        if weakness is not None:
            raise InvalidInput(
                f"that password is refused: {weakness}; choose a longer one, "
                "e.g. four unrelated words"
            )

    def add_user(self, actor: Actor, username: str, role: str, password: str | None = None) -> User:
        """Create a user; ``AlreadyExists`` for a taken username (in any case: ``ADMIN``
        beside ``admin`` is taken), ``InvalidInput`` for bad input or a weak password."""
        authorize(actor, Action.ADD_USER)
        validate_username(username)
        try:
            role = Role(role)
        except ValueError:
            raise InvalidInput(f"role {role!r} is unknown; use admin or user") from None
        if password is not None:
            self.check_password(username, password)
        password_hash = self.hasher.hash(password) if password is not None else None
        with self.store() as uow:
            existing = uow.users.by_username(username)
            if existing is not None:
                raise AlreadyExists(
                    f"user {existing.username!r} exists already (usernames ignore case); "
                    "pick another username"
                )
            user = uow.users.add(username, role, password_hash, self.clock())
            uow.commit()
        return user

    def user(self, actor: Actor, username: str) -> User:
        """The user with this name, or ``NotFound`` saying so."""
        authorize(actor, Action.LIST_USERS)
        with self.store() as uow:
            return existing_user(uow, username)

    def users(self, actor: Actor) -> list[User]:
        """Every user, by id."""
        authorize(actor, Action.LIST_USERS)
        with self.store() as uow:
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
        """The active user a live API token belongs to, or ``AuthError``."""
        with self.store() as uow:
            user = uow.tokens.user_for(hash_api_token(token), self.clock())
            uow.commit()  # keeps last_used_at
        if user is None or not user.active:
            raise AuthError(
                "the API token is unknown or revoked; create one with `wa-manager tokens create`"
            )
        return user

    def user_for_password(self, username: str, password: str) -> User:
        """The user whose password this is, or ``AuthError`` (the same for an unknown user)."""
        with self.store() as uow:
            user = uow.users.by_username(username)
            stored = uow.users.password_hash(user.id) if user is not None else None
        if user is None or stored is None:
            self.hasher.verify(_dummy_hash(self.hasher), password)  # the same work as a real check
            raise AuthError("wrong username or password")
        if not self.hasher.verify(stored, password) or not user.active:
            raise AuthError("wrong username or password")
        return user

    def user_for_session(self, user_id: int) -> User:
        """The active user a session cookie names, or ``AuthError``."""
        with self.store() as uow:
            user = uow.users.get(user_id)
        if user is None or not user.active:
            raise AuthError("your session has ended; sign in again")
        return user
