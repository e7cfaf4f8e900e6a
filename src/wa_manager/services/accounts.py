"""Users, passwords and API tokens: creating them and checking credentials.

API tokens are random 256-bit secrets shown once and stored as SHA-256 hashes
(a fast hash is right for high-entropy secrets); passwords are stored as argon2
hashes through the ``PasswordHasher`` port.

``Accounts`` is bound to its store, hasher and clock once (by ``bootstrap``).
Managing users and tokens takes an actor (``permissions.authorize``); checking
credentials does not: it is how an actor comes to be.

Changing a user (``change_user``) never leaves the team without an enabled admin:
the enabled admins are locked (``UserRepository.lock_enabled_admins``) before the
check, so two admins disabling each other at once cannot both succeed. A password
change, a disable or a role change ends the user's other browser sessions
(``end_sessions_of``, through the ``SessionEnder`` port).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from attrs import field, frozen

from wa_manager.domain.errors import AlreadyExists, AuthError, Conflict, InvalidInput, NotFound
from wa_manager.domain.model import Actor, ApiToken, Role, User
from wa_manager.domain.ports import (
    Clock,
    PasswordHasher,
    PasswordPolicy,
    SessionEnder,
    UnitOfWork,
    UnitOfWorkFactory,
)
from wa_manager.domain.rules import validate_label, validate_username
from wa_manager.services.lookups import existing_user
from wa_manager.services.permissions import Action, authorize
from wa_manager.services.sessions import is_stale

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


MAX_TOKEN_NAME_LENGTH = 100


def check_role(role: str) -> Role:
    """``admin`` or ``user``, else ``InvalidInput``."""
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"role {role!r} is unknown; use admin or user") from None


def check_token_name(name: str) -> str:
    """A token's label: 1-100 characters, not blank."""
    return validate_label(name, "token name", MAX_TOKEN_NAME_LENGTH)


class NoSessions:
    """A ``SessionEnder`` for a store without server-side sessions: nothing to end."""

    def end_sessions_of(self, user_id: int, keep: str | None = None) -> None:
        """Nothing to do."""


def _existing_user_id(uow: UnitOfWork, user_id: int) -> User:
    user = uow.users.get(user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


@frozen
class Accounts:
    """Users, API tokens, and the checks of passwords, tokens and sessions."""

    store: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    policy: PasswordPolicy
    sessions: SessionEnder = field(factory=NoSessions)

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

    def end_sessions_of(self, user_id: int, keep: str | None = None) -> None:
        """End every browser session of ``user_id`` but ``keep`` (the caller's own)."""
        self.sessions.end_sessions_of(user_id, keep)

    def add_user(self, actor: Actor, username: str, role: str, password: str | None = None) -> User:
        """Create a user; ``AlreadyExists`` for a taken username (in any case: ``ADMIN``
        beside ``admin`` is taken), ``InvalidInput`` for bad input or a weak password."""
        authorize(actor, Action.ADD_USER)
        validate_username(username)
        role = check_role(role)
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
        with self.store(read_only=True) as uow:
            return existing_user(uow, username)

    def users(self, actor: Actor) -> list[User]:
        """Every user, by id."""
        authorize(actor, Action.LIST_USERS)
        with self.store(read_only=True) as uow:
            return uow.users.list()

    def change_user(
        self,
        actor: Actor,
        user_id: int,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        """Change a user's role, access and/or password (None: keep); the user after.

        ``NotFound`` for an unknown id; ``Conflict`` when it would leave no enabled
        admin. A new password, a disable or a new role ends the user's sessions.
        """
        authorize(actor, Action.CHANGE_USERS)
        new_role = check_role(role) if role is not None else None
        password_hash = None
        if password is not None:
            with self.store() as uow:
                self.check_password(_existing_user_id(uow, user_id).username, password)
            password_hash = self.hasher.hash(password)
        with self.store() as uow:
            user = _existing_user_id(uow, user_id)
            active = None if disabled is None else not disabled
            demoted = new_role is not None and new_role is not Role.ADMIN
            loses_admin = user.is_admin and user.active and (demoted or active is False)
            if loses_admin and uow.users.lock_enabled_admins() == [user.id]:
                raise Conflict(
                    f"{user.username!r} is the last enabled admin; make another admin first"
                )
            changed = uow.users.update(user.id, role=new_role, active=active)
            if password_hash is not None:
                uow.users.set_password_hash(user.id, password_hash)
            uow.commit()
        assert changed is not None
        if password_hash is not None or changed.role != user.role or not changed.active:
            self.end_sessions_of(user.id)
        return changed

    def change_own_password(
        self, actor: Actor, current_password: str, new_password: str, keep: str | None = None
    ) -> None:
        """Set a new password for ``actor`` after checking the current one (``InvalidInput``
        when it is wrong); the actor's other sessions (all but ``keep``) end."""
        authorize(actor, Action.MANAGE_OWN_ACCOUNT)
        if not isinstance(actor, User):
            raise InvalidInput("only a signed-in user has a password to change")
        self.check_password(actor.username, new_password)
        with self.store() as uow:
            stored = uow.users.password_hash(actor.id)
        if stored is None or not self.hasher.verify(stored, current_password):
            raise InvalidInput("the current password is wrong; type it again")
        new_hash = self.hasher.hash(new_password)
        with self.store() as uow:
            uow.users.set_password_hash(actor.id, new_hash)
            uow.commit()
        self.end_sessions_of(actor.id, keep)

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

    def issue_token(self, actor: Actor, username: str, name: str) -> tuple[ApiToken, str]:
        """A new API token for ``username`` (admins) and its secret, shown only this once."""
        authorize(actor, Action.CREATE_TOKEN)
        return self._issue(lambda uow: existing_user(uow, username), name)

    def issue_own_token(self, actor: Actor, name: str) -> tuple[ApiToken, str]:
        """A new API token for the actor themself and its secret, shown only this once."""
        authorize(actor, Action.MANAGE_OWN_ACCOUNT)
        if not isinstance(actor, User):
            raise InvalidInput("only a signed-in user can make a token for themself")
        return self._issue(lambda uow: _existing_user_id(uow, actor.id), name)

    def _issue(self, find: Callable[[UnitOfWork], User], name: str) -> tuple[ApiToken, str]:
        name = check_token_name(name)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store() as uow:
            user = find(uow)
            issued = uow.tokens.add(user.id, hash_api_token(secret), name, self.clock())
            uow.commit()
        return issued, secret

    def tokens(self, actor: Actor, username: str | None = None) -> list[tuple[ApiToken, str]]:
        """API tokens with their owners' names (never a secret): a user's own; an admin's
        choice of everyone's or ``username``'s."""
        authorize(actor, Action.MANAGE_OWN_ACCOUNT)
        with self.store() as uow:
            names = {user.id: user.username for user in uow.users.list()}
            if username is not None or not actor.is_admin:
                if username is not None and username != names.get(actor.id or 0):
                    authorize(actor, Action.SEE_ALL_TOKENS)
                owner = existing_user(uow, username).id if username is not None else actor.id
                assert owner is not None
                found = uow.tokens.list_for(owner)
            else:
                found = uow.tokens.list_all()
        return [(token, names.get(token.user_id, "?")) for token in found]

    def revoke_token(self, actor: Actor, token_id: int) -> ApiToken:
        """Revoke a token at once: one's own, or anyone's for an admin. Someone else's
        token is ``NotFound`` for a user (as for an absent one)."""
        authorize(actor, Action.MANAGE_OWN_ACCOUNT)
        with self.store() as uow:
            token = uow.tokens.get(token_id)
            if token is None or not (actor.is_admin or token.user_id == actor.id):
                raise NotFound(f"no API token with id {token_id}")
            uow.tokens.revoke(token.id, self.clock())
            revoked = uow.tokens.get(token.id)
            uow.commit()
        assert revoked is not None
        return revoked

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
