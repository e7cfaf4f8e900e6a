"""``SqlUserRepository`` and ``SqlTokenRepository``: team members, password hashes, API tokens."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.tables import api_tokens, users
from wa_manager.domain.errors import AlreadyExists, NotFound
from wa_manager.domain.model import ApiToken, TokenUse, User

_USER_COLUMNS = (users.c.id, users.c.username, users.c.role, users.c.active, users.c.created_at)


def user_columns() -> tuple[Any, ...]:
    """The columns ``user_from_row`` reads, for joins with other tables."""
    return _USER_COLUMNS


def user_from_row(row: Row[Any]) -> User:
    """A ``User`` from a row that has the columns of ``user_columns()``."""
    return _user_from_row(row)


def _user_from_row(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=row.role,
        active=bool(row.active),
        created_at=row.created_at,
    )


def _token_from_row(row: Row[Any]) -> ApiToken:
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlUserRepository:
    """Users, unique by username regardless of case (a unique index on its lower case)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, username: str, role: str, password_hash: str | None, now: datetime) -> User:
        """Create a user; ``AlreadyExists`` for a taken username."""
        statement = (
            insert(users)
            .values(
                username=username,
                role=str(role),
                password_hash=password_hash,
                active=True,
                created_at=now,
            )
            .returning(*_USER_COLUMNS)
        )
        taken = AlreadyExists(f"user {username!r} exists already; pick another username")
        return _user_from_row(self._db.execute(statement, integrity_error=taken).one())

    def _one(self, *conditions: Any) -> User | None:
        row = self._db.execute(select(*_USER_COLUMNS).where(*conditions)).first()
        return None if row is None else _user_from_row(row)

    def get(self, user_id: int) -> User | None:
        """The user with this id, or None."""
        return self._one(users.c.id == user_id)

    def by_username(self, username: str) -> User | None:
        """The user with this username in any case, or None (the index on lower(username))."""
        return self._one(func.lower(users.c.username) == username.lower())

    def password_hash(self, user_id: int) -> str | None:
        """The stored hash, or None for a user without a password (or no such user)."""
        query = select(users.c.password_hash).where(users.c.id == user_id)
        value = self._db.execute(query).scalar()
        return None if value is None else str(value)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace the user's password hash."""
        self._db.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )

    def list(self) -> builtins.list[User]:
        """Every user, ordered by id."""
        return [
            _user_from_row(row)
            for row in self._db.execute(select(*_USER_COLUMNS).order_by(users.c.id))
        ]

    def lock_enabled_admins(self) -> builtins.list[int]:
        """The enabled admins' ids, locked (``FOR UPDATE``, in id order) until the
        transaction ends. A concurrent transaction waits on these rows, then reads
        their new state: two admins disabling each other cannot both see the other
        still enabled. (SQLite's units of work hold the write lock from the start.)"""
        query = (
            select(users.c.id)
            .where(users.c.role == "admin", users.c.active.is_(True))
            .order_by(users.c.id)
            .with_for_update()
        )
        return [row[0] for row in self._db.execute(query)]

    def update(self, user_id: int, *, role: str | None, active: bool | None) -> User | None:
        """Change the role and/or ``active`` (None: keep); the user as it is now, or None."""
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = str(role)
        if active is not None:
            values["active"] = active
        if values:
            self._db.execute(update(users).where(users.c.id == user_id).values(**values))
        return self.get(user_id)


class SqlTokenRepository:
    """API tokens, stored as hashes only."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, user_id: int, token_hash: str, name: str, now: datetime) -> ApiToken:
        """Store a new token's hash for ``user_id``."""
        statement = (
            insert(api_tokens)
            .values(user_id=user_id, token_hash=token_hash, name=name, created_at=now)
            .returning(*api_tokens.c)
        )
        refused = NotFound(f"no user with id {user_id}, or this token exists already")
        return _token_from_row(self._db.execute(statement, integrity_error=refused).one())

    def user_for(self, token_hash: str, now: datetime) -> User | None:
        """The active user of a live token, noting ``last_used_at``; else None."""
        found = self.find_live(token_hash)
        if found is None:
            return None
        self.note_use(found.token_id, now)
        return found.user

    def revoke(self, token_id: int, now: datetime) -> bool:
        """Revoke a live token; True if it was live."""
        statement = (
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return self._db.execute(statement).rowcount > 0

    def list_for(self, user_id: int) -> builtins.list[ApiToken]:
        """The user's tokens (revoked ones too), by id."""
        rows = self._db.execute(
            select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id)
        )
        return [_token_from_row(row) for row in rows]

    def get(self, token_id: int) -> ApiToken | None:
        """The token with this id (never its hash), or None."""
        row = self._db.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        return None if row is None else _token_from_row(row)

    def list_all(self) -> builtins.list[ApiToken]:
        """Every token of every user (revoked ones too), by id."""
        rows = self._db.execute(select(api_tokens).order_by(api_tokens.c.id))
        return [_token_from_row(row) for row in rows]

    def find_live(self, token_hash: str) -> TokenUse | None:
        """A live token of an active user, read only; else None."""
        row = self._db.execute(
            select(api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at, *_USER_COLUMNS)
            .join_from(api_tokens, users, users.c.id == api_tokens.c.user_id)
            .where(
                api_tokens.c.token_hash == token_hash,
                api_tokens.c.revoked_at.is_(None),
                users.c.active.is_(True),
            )
        ).first()
        if row is None:
            return None
        return TokenUse(
            token_id=row.token_id, user=_user_from_row(row), last_used_at=row.last_used_at
        )

    def note_use(self, token_id: int, now: datetime) -> None:
        """Set ``last_used_at``."""
        self._db.execute(
            update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
        )
