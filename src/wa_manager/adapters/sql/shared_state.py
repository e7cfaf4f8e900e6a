"""What every server process must agree on, in the database: sessions, login attempt
counters, the shared signing key and the leases of scheduled work.

Each write that two processes can race on is one atomic statement: an upsert
(``INSERT ... ON CONFLICT``) whose ``WHERE`` or ``CASE`` decides on the row as it
is when the statement runs (PostgreSQL re-checks it after waiting for a
concurrent writer; SQLite has one writer at a time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, case, delete, literal, select, update

from wa_manager.adapters.sql.accounts import user_columns, user_from_row
from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.tables import (
    UtcDateTime,
    leases,
    login_attempts,
    sessions,
    shared_secrets,
    users,
)
from wa_manager.domain.errors import NotFound
from wa_manager.domain.model import SignedInSession


def _session_from_row(row: Row[Any]) -> SignedInSession:
    return SignedInSession(
        id=row.session_id,
        user=user_from_row(row),
        created_at=row.session_created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


class SqlSessionRepository:
    """Browser sessions by the hash of their secret."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, session_hash: str, user_id: int, now: datetime, expires_at: datetime) -> int:
        """Store a new session; its id."""
        statement = (
            self._db.insert(sessions)
            .values(
                session_hash=session_hash,
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
            .returning(sessions.c.id)
        )
        refused = NotFound(f"no user with id {user_id}")
        return int(self._db.execute(statement, integrity_error=refused).scalar_one())

    def find_live(self, session_hash: str, now: datetime) -> SignedInSession | None:
        """A session not ended, not expired, of an active user; else None."""
        row = self._db.execute(
            select(
                sessions.c.id.label("session_id"),
                sessions.c.created_at.label("session_created_at"),
                sessions.c.last_seen_at,
                sessions.c.expires_at,
                *user_columns(),
            )
            .join_from(sessions, users, users.c.id == sessions.c.user_id)
            .where(
                sessions.c.session_hash == session_hash,
                sessions.c.ended_at.is_(None),
                sessions.c.expires_at > now,
                users.c.active.is_(True),
            )
        ).first()
        return None if row is None else _session_from_row(row)

    def touch(self, session_id: int, now: datetime) -> None:
        """Note that the session was used."""
        self._db.execute(
            update(sessions).where(sessions.c.id == session_id).values(last_seen_at=now)
        )

    def end(self, session_hash: str, now: datetime) -> bool:
        """End a live session; True if it was live."""
        statement = (
            update(sessions)
            .where(sessions.c.session_hash == session_hash, sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        return self._db.execute(statement).rowcount > 0

    def end_all_for(self, user_id: int, now: datetime, *, keep_hash: str | None = None) -> int:
        """End the user's live sessions but ``keep_hash``'s; how many ended."""
        conditions = [sessions.c.user_id == user_id, sessions.c.ended_at.is_(None)]
        if keep_hash is not None:
            conditions.append(sessions.c.session_hash != keep_hash)
        statement = update(sessions).where(*conditions).values(ended_at=now)
        return self._db.execute(statement).rowcount

    def prune(self, before: datetime) -> int:
        """Delete sessions that expired or ended before ``before``."""
        statement = delete(sessions).where(
            (sessions.c.expires_at < before) | (sessions.c.ended_at < before)
        )
        return self._db.execute(statement).rowcount


class SqlLoginAttemptRepository:
    """Fixed-window counters of login attempts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def hit(self, key: str, now: datetime, window_seconds: float) -> tuple[int, datetime]:
        """Count one attempt atomically; (attempts in this window, its start)."""
        column = login_attempts.c
        stale = column.window_start <= now - timedelta(seconds=window_seconds)
        statement = (
            self._db.insert(login_attempts)
            .values(key=key, window_start=now, attempts=1)
            .on_conflict_do_update(
                index_elements=[column.key],
                set_={
                    "attempts": case((stale, 1), else_=column.attempts + 1),
                    "window_start": case(
                        (stale, literal(now, UtcDateTime())), else_=column.window_start
                    ),
                },
            )
            .returning(column.attempts, column.window_start)
        )
        row = self._db.execute(statement).one()
        return int(row.attempts), row.window_start

    def give_back(self, key: str) -> None:
        """One attempt fewer on ``key``."""
        column = login_attempts.c
        self._db.execute(
            update(login_attempts)
            .where(column.key == key, column.attempts > 0)
            .values(attempts=column.attempts - 1)
        )

    def forget(self, key: str) -> None:
        """Drop the counter of ``key``."""
        self._db.execute(delete(login_attempts).where(login_attempts.c.key == key))

    def prune(self, before: datetime, keep: int) -> int:
        """Drop counters of old windows, then all but the newest ``keep``."""
        column = login_attempts.c
        gone = self._db.execute(delete(login_attempts).where(column.window_start < before)).rowcount
        beyond = select(column.key).order_by(column.window_start.desc()).offset(keep)
        gone += self._db.execute(
            delete(login_attempts).where(column.key.in_(beyond.scalar_subquery()))
        ).rowcount
        return gone


class SqlSecretRepository:
    """Named shared secrets, written once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get_or_add(self, name: str, candidate: str, now: datetime) -> str:
        """The stored secret, storing ``candidate`` when there is none."""
        self._db.execute(
            self._db.insert(shared_secrets)
            .values(name=name, value=candidate, created_at=now)
            .on_conflict_do_nothing(index_elements=[shared_secrets.c.name])
        )
        query = select(shared_secrets.c.value).where(shared_secrets.c.name == name)
        return str(self._db.execute(query).scalar_one())


class SqlLeaseRepository:
    """Turns taken by one process per period."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(
        self, name: str, holder: str, now: datetime, period_seconds: float
    ) -> datetime | None:
        """Take the turn when the last began ``period_seconds`` ago or more, or was
        ours; None when taken, else when the current (someone else's) turn began."""
        column = leases.c
        statement = (
            self._db.insert(leases)
            .values(name=name, holder=holder, started_at=now)
            .on_conflict_do_update(
                index_elements=[column.name],
                set_={"holder": holder, "started_at": now},
                where=(column.started_at <= now - timedelta(seconds=period_seconds))
                | (column.holder == holder),
            )
            .returning(column.name)
        )
        if self._db.execute(statement).first() is not None:
            return None
        query = select(column.started_at).where(column.name == name)
        started: datetime = self._db.execute(query).scalar_one()
        return started
