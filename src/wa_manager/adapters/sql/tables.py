"""The schema as SQLAlchemy Core ``Table``s, and the UTC timestamp type.

The migrations in ``migrations/versions`` create exactly these tables; the
repositories query them. Times are stored in UTC and always come back as
timezone-aware ``datetime``s, on SQLite (which has no time zone type) as on
PostgreSQL (``timestamptz``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime`` on every backend.

    Binding a naive datetime is a programming error (ambiguous time) and raises
    ``ValueError``. SQLite stores the UTC wall time; PostgreSQL a ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware time")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Constraint names are fixed so that later migrations can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (the rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("username"),
    CheckConstraint("role IN ('admin', 'user')", name="role"),
    sqlite_autoincrement=True,  # an id is never handed out again (migration 0005)
)
# Usernames are unique regardless of case (``ADMIN`` beside ``admin`` is refused), and
# found in any case through this index.
Index("uq_users_username_lower", func.lower(users.c.username), unique=True)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(128), nullable=False),
    Column("wa_id", String(128), nullable=False),
    Column("name", Text, nullable=True),
    Column("phone", String(32), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("vanished_at", UtcDateTime, nullable=True),
    UniqueConstraint("source", "wa_id"),
    CheckConstraint("kind IN ('person', 'group')", name="kind"),
    Index(None, "phone"),
)
# The "same name as a @lid" duplicate suggestion probes the @lid contacts by name: a
# partial index holds those rows only (migration 0011_contact_aliases).
LID_ROWS = "wa_id LIKE '%@lid'"
Index(
    "ix_contacts_lid_name",
    contacts.c.source,
    contacts.c.name,
    sqlite_where=text(LID_ROWS),
    postgresql_where=text(LID_ROWS),
)

# A chat id merged into another contact (an alias): syncs and webhooks for (source,
# wa_id) land on ``contact_id``, the survivor; never a contact of its own again.
contact_aliases = Table(
    "contact_aliases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", String(128), nullable=False),
    Column("wa_id", String(128), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("merged_contact_id", Id, nullable=False),
    Column("name", Text, nullable=True),
    Column("actor_id", Id, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "wa_id"),
    Index(None, "contact_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "contact_id",
        Id,
        ForeignKey("contacts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("assigned_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # The newest message's own time, and last_message_at else created_at: kept by every
    # message insert in its transaction (migration 0005), so lists run by activity.
    Column("last_message_at", UtcDateTime, nullable=True),
    Column("last_activity_at", UtcDateTime, nullable=False),
    UniqueConstraint("contact_id"),
    # A user's page: ids by contact from the index alone (SQLite's unique index
    # on contact_id already holds the rowid, the id; migration 0002).
    Index(None, "contact_id", "id").ddl_if(dialect="postgresql"),
    # Everyone's list by activity (admins), and each assignee's ("Mine"), keyset on
    # (last_activity_at, id): a deep page costs what the first does.
    Index(None, "last_activity_at", "id"),
    Index(None, "assigned_user_id", "last_activity_at", "id"),
)

# A conversation's workflow trail: plain ids, like link_events (it outlives what it names).
conversation_events = Table(
    "conversation_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, nullable=False),
    Column("type", String(16), nullable=False),
    Column("from_value", String(64), nullable=True),
    Column("to_value", String(64), nullable=True),
    Column("actor_id", Id, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint("type IN ('assigned', 'unassigned', 'status')", name="type"),
    Index(None, "conversation_id", "id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(128), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("token_hash"),
    Index(None, "user_id"),
)

contact_links = Table(
    "contact_links",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("contact_id", "user_id"),
    Index(None, "user_id", "contact_id"),
)

# The audit trail keeps plain ids (no foreign keys): it outlives what it describes.
# A user's link names ``user_id``; a team's link names ``team_id`` instead (migration 0005).
link_events = Table(
    "link_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, nullable=False),
    Column("user_id", Id, nullable=True),
    Column("action", String(8), nullable=False),
    Column("actor_id", Id, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("team_id", Id, nullable=True),
    # A ``merge`` names the contact merged into this one (migration 0011).
    Column("merged_contact_id", Id, nullable=True),
    CheckConstraint("action IN ('link', 'unlink', 'merge')", name="action"),
    Index(None, "contact_id", "id"),
)

teams = Table(
    "teams",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("name"),
)

# Visibility reads a member's teams by user: (user_id, team_id).
team_members = Table(
    "team_members",
    metadata,
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("team_id", "user_id"),
    Index(None, "user_id", "team_id"),
)

# Visibility reads a team's contacts: (team_id, contact_id).
contact_teams = Table(
    "contact_teams",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("contact_id", "team_id"),
    Index(None, "team_id", "contact_id"),
)

team_events = Table(
    "team_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("team_id", Id, nullable=False),
    Column("user_id", Id, nullable=False),
    Column("action", String(8), nullable=False),
    Column("actor_id", Id, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    CheckConstraint("action IN ('join', 'leave')", name="action"),
    Index(None, "team_id", "id"),
)

# Members of a WhatsApp number (instance id = contacts.source). No foreign key to an
# instance: the env's default instance has no row anywhere, and yet members.
instance_users = Table(
    "instance_users",
    metadata,
    Column("instance_id", String(128), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("instance_id", "user_id"),
    Index(None, "user_id", "instance_id"),
)

instance_teams = Table(
    "instance_teams",
    metadata,
    Column("instance_id", String(128), nullable=False),
    Column("team_id", Id, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("instance_id", "team_id"),
    Index(None, "team_id", "instance_id"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("instance_id", String(128), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("actor_id", Id, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("fetched", Integer, nullable=True),
    Column("created_contacts", Integer, nullable=True),
    Column("created_conversations", Integer, nullable=True),
    Column("updated_contacts", Integer, nullable=True),
    Column("skipped", Integer, nullable=True),
    Column("duration_ms", BigInteger, nullable=True),
    Column("dry_run", Boolean, nullable=True),
    Column("error", Text, nullable=True),
    # Set when the sync was found interrupted (its process killed) or was interrupted.
    Column("interrupted_at", UtcDateTime, nullable=True),
)

# Messages: unique by (source, wa_message_id) once WhatsApp has named them (NULLs are
# distinct on both backends, so replies still waiting for their id do not collide).
# A thread is read newest first by the message's own time: (conversation_id, created_at, id).
messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "conversation_id",
        Id,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source", String(128), nullable=False),
    Column("wa_message_id", String(256), nullable=True),
    Column("direction", String(3), nullable=False),
    Column("type", String(32), nullable=False),
    Column("body", Text, nullable=True),
    Column("media_url", Text, nullable=True),
    Column("author", String(128), nullable=True),
    Column("sender_name", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("sent_by_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("reference_id", String(64), nullable=True),
    Column("idempotency_key", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "wa_message_id"),
    UniqueConstraint("reference_id"),
    UniqueConstraint("sent_by_user_id", "idempotency_key"),
    CheckConstraint("direction IN ('in', 'out')", name="direction"),
    CheckConstraint(
        "status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')", name="status"
    ),
    Index(None, "conversation_id", "created_at", "id"),
)


# Browser sessions (migration 0005): the cookie carries a random secret, the table its
# SHA-256 only. Ending a session sets ``ended_at``; rows go once long expired.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_hash", String(64), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    UniqueConstraint("session_hash"),
    Index(None, "user_id"),
    Index(None, "expires_at"),
    sqlite_autoincrement=True,
)

# The login throttle's counters: one row per key (a hash of account and address, or of
# the address), attempts counted in a fixed window that starts at ``window_start``.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("window_start", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Index(None, "window_start"),
)

# Secrets every process of a deployment shares (the generated session signing key).
shared_secrets = Table(
    "shared_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Turns taken in turn by the processes (one scheduled sync per interval in all).
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
)

# UltraMsg instances beyond the environment's default one (``wa-manager instances``): the
# token only ever sealed (Fernet, ``WA_MANAGER_ENCRYPTION_KEY``), the webhook path's secret.
# Removing one deletes its row; its contacts keep their ``source`` and stay.
instances = Table(
    "instances",
    metadata,
    Column("instance_id", String(64), primary_key=True),
    Column("label", String(100), nullable=True),
    Column("sealed_token", Text, nullable=False),
    Column("webhook_secret", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("webhook_secret"),
)
