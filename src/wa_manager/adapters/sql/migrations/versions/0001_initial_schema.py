"""The initial schema: contacts, conversations, users, tokens, links, audit, sync runs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of version 1."""
    op.create_table(
        "users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.CheckConstraint("role IN ('admin', 'user')", name="ck_users_role"),
    )
    op.create_table(
        "contacts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("wa_id", sa.String(128), nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=True),
        sa.Column("vanished_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sa.UniqueConstraint("source", "wa_id", name="uq_contacts_source_wa_id"),
        sa.CheckConstraint("kind IN ('person', 'group')", name="ck_contacts_kind"),
    )
    op.create_index("ix_contacts_phone", "contacts", ["phone"])
    op.create_table(
        "conversations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("assigned_user_id", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.UniqueConstraint("contact_id", name="uq_conversations_contact_id"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_conversations_contact_id_contacts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_user_id"],
            ["users.id"],
            name="fk_conversations_assigned_user_id_users",
            ondelete="SET NULL",
        ),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_used_at", TIME, nullable=True),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "contact_links",
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "user_id", name="pk_contact_links"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_contact_links_contact_id_contacts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_contact_links_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_contact_links_created_by_users",
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_contact_links_user_id_contact_id", "contact_links", ["user_id", "contact_id"]
    )
    op.create_table(
        "link_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_link_events"),
        sa.CheckConstraint("action IN ('link', 'unlink')", name="ck_link_events_action"),
    )
    op.create_index("ix_link_events_contact_id_id", "link_events", ["contact_id", "id"])
    op.create_table(
        "sync_runs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("fetched", sa.Integer, nullable=True),
        sa.Column("created_contacts", sa.Integer, nullable=True),
        sa.Column("created_conversations", sa.Integer, nullable=True),
        sa.Column("updated_contacts", sa.Integer, nullable=True),
        sa.Column("skipped", sa.Integer, nullable=True),
        sa.Column("duration_ms", sa.BigInteger, nullable=True),
        sa.Column("dry_run", sa.Boolean, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
    )


def downgrade() -> None:
    """Drop everything version 1 created."""
    for table in (
        "sync_runs",
        "link_events",
        "contact_links",
        "api_tokens",
        "conversations",
        "contacts",
        "users",
    ):
        op.drop_table(table)
