"""Shared state for several server processes: sessions, login attempts, secrets, leases;
user ids that are never reused on SQLite (``AUTOINCREMENT``).

Revision ID: 0007_shared_state
Revises: 0006_teams
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_shared_state"
down_revision = "0006_teams"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
USERNAME_INDEX = "uq_users_username_lower"  # 0005_hardening's; a rebuild would lose it


def upgrade() -> None:
    """Create the four tables; on SQLite rebuild ``users`` with ``AUTOINCREMENT``
    (``schema.upgrade_engine`` turns foreign keys off meanwhile, so the rebuild
    cascades nothing; the expression index on ``lower(username)``, which SQLite's
    reflection cannot copy, is dropped first and made again after)."""
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(USERNAME_INDEX, table_name="users")
        with op.batch_alter_table(
            "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        op.create_index(USERNAME_INDEX, "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "sessions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            ID,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_sessions_user_id_users"),
            nullable=False,
        ),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("ended_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("session_hash", name="uq_sessions_session_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("window_start", TIME, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_window_start", "login_attempts", ["window_start"])
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_shared_secrets"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    """Drop the four tables (``users`` keeps ``AUTOINCREMENT``: harmless)."""
    for table in ("leases", "shared_secrets", "login_attempts", "sessions"):
        op.drop_table(table)
