"""``SqlUnitOfWork``: one connection, one transaction, the repositories over it, the sync lock.

The transaction begins with the first statement and is rolled back on leaving
unless ``commit()`` was called. ``lock_sync`` serialises syncs of one instance:
on PostgreSQL with a transaction-scoped advisory lock (never waits); on SQLite
by taking the database's write lock at once (``BEGIN IMMEDIATE``), waiting a few
seconds at most for a writer that holds it. Every other SQLite unit of work
also starts with ``BEGIN IMMEDIATE`` (waiting up to the busy timeout), so that
one that reads and then writes never fails because a sync committed meanwhile;
except a read-only one (``read_only=True``): a plain ``BEGIN``, a snapshot that
never waits for a writer (write-ahead logging) and must not write.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from wa_manager.adapters.sql.accounts import SqlTokenRepository, SqlUserRepository
from wa_manager.adapters.sql.advisory import instance_lock_key
from wa_manager.adapters.sql.contacts import SqlContactRepository
from wa_manager.adapters.sql.conversations import SqlConversationRepository
from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    begin_immediately,
    set_sqlite_busy_timeout,
)
from wa_manager.adapters.sql.errors import translate, unreachable
from wa_manager.adapters.sql.identities import SqlIdentityRepository
from wa_manager.adapters.sql.instance_members import SqlInstanceMemberRepository
from wa_manager.adapters.sql.instances import SqlInstanceRepository
from wa_manager.adapters.sql.links import SqlLinkRepository
from wa_manager.adapters.sql.messages import SqlMessageRepository
from wa_manager.adapters.sql.shared_state import (
    SqlLeaseRepository,
    SqlLoginAttemptRepository,
    SqlSecretRepository,
    SqlSessionRepository,
)
from wa_manager.adapters.sql.sync_runs import SqlSyncRunRepository
from wa_manager.adapters.sql.teams import SqlTeamRepository
from wa_manager.domain.errors import SyncAlreadyRunning
from wa_manager.domain.ports import (
    ContactRepository,
    ConversationRepository,
    IdentityRepository,
    InstanceMemberRepository,
    InstanceRepository,
    LeaseRepository,
    LinkRepository,
    LoginAttemptRepository,
    MessageRepository,
    SecretRepository,
    SessionRepository,
    SyncRunRepository,
    TeamRepository,
    TokenRepository,
    UserRepository,
)

# How long a sync on SQLite waits for another writer before giving up.
SQLITE_SYNC_LOCK_WAIT_MS = 3_000


def _already_running(instance_id: str) -> SyncAlreadyRunning:
    return SyncAlreadyRunning(
        f"a sync of {instance_id} is already running; try again when it has finished"
    )


class SqlUnitOfWork:
    """One transaction on one pooled connection: ``with uow: ...; uow.commit()``."""

    def __init__(self, engine: Engine, url: str, *, read_only: bool = False) -> None:
        self._engine = engine
        self._url = url
        self._read_only = read_only
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        try:
            connection = self._engine.connect()
        except sa_exc.SQLAlchemyError as error:
            raise unreachable(self._url, error) from error
        self._connection = connection
        if connection.dialect.name == "sqlite" and not self._read_only:
            # Most units of work read, then write (links, a token's last_used_at). In WAL
            # mode a read transaction cannot become a write one once another connection
            # has committed (SQLITE_BUSY at once, no waiting): take the write lock first.
            begin_immediately(connection)
        db = Database(connection, self._url)
        self.contacts: ContactRepository = SqlContactRepository(db)
        self.conversations: ConversationRepository = SqlConversationRepository(db)
        self.users: UserRepository = SqlUserRepository(db)
        self.tokens: TokenRepository = SqlTokenRepository(db)
        self.links: LinkRepository = SqlLinkRepository(db)
        self.teams: TeamRepository = SqlTeamRepository(db)
        self.instance_members: InstanceMemberRepository = SqlInstanceMemberRepository(db)
        self.sync_runs: SyncRunRepository = SqlSyncRunRepository(db)
        self.messages: MessageRepository = SqlMessageRepository(db)
        self.sessions: SessionRepository = SqlSessionRepository(db)
        self.login_attempts: LoginAttemptRepository = SqlLoginAttemptRepository(db)
        self.secrets: SecretRepository = SqlSecretRepository(db)
        self.leases: LeaseRepository = SqlLeaseRepository(db)
        self.instances: InstanceRepository = SqlInstanceRepository(db)
        self.identities: IdentityRepository = SqlIdentityRepository(db)
        self._db = db
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and give the connection back."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.close()  # rolls back an open transaction
        except sa_exc.SQLAlchemyError as error:
            if exc is None:  # never hide the error that is already on its way out
                raise translate(error, self._url) from error

    @property
    def connection(self) -> Connection:
        """The open connection; only inside ``with``."""
        if self._connection is None:
            raise RuntimeError("use the unit of work inside `with`")
        return self._connection

    def commit(self) -> None:
        """Make everything done so far permanent."""
        try:
            self.connection.commit()
        except sa_exc.SQLAlchemyError as error:
            raise translate(error, self._url) from error

    def lock_sync(self, instance_id: str) -> None:
        """Hold the sync lock of ``instance_id`` until this transaction ends, or raise
        ``SyncAlreadyRunning``."""
        if self.connection.dialect.name == "postgresql":
            key = instance_lock_key("sync", instance_id)
            locked = self._db.execute(select(func.pg_try_advisory_xact_lock(key))).scalar()
            if not locked:
                raise _already_running(instance_id)
            return
        self._lock_sqlite(instance_id)

    def _lock_sqlite(self, instance_id: str) -> None:
        connection = self.connection
        try:
            if connection.in_transaction():
                # Too late for BEGIN IMMEDIATE: a write that changes nothing takes the lock.
                set_sqlite_busy_timeout(connection, SQLITE_SYNC_LOCK_WAIT_MS)
                connection.execute(text("UPDATE sync_runs SET id = id WHERE 0 = 1"))
            else:
                set_sqlite_busy_timeout(connection, SQLITE_SYNC_LOCK_WAIT_MS)
                begin_immediately(connection)
                connection.begin()
        except sa_exc.OperationalError as error:
            if "locked" in str(error.orig) or "busy" in str(error.orig):
                connection.rollback()
                raise _already_running(instance_id) from None
            raise translate(error, self._url) from error
        finally:
            set_sqlite_busy_timeout(connection, SQLITE_BUSY_TIMEOUT_MS)
