"""Inbox workflow: conversations ordered by activity, and their workflow trail.

``conversations`` gains ``last_message_at`` (the newest message's own time) and
``last_activity_at`` (that, else ``created_at``), filled from the stored messages,
with indexes on (last_activity_at, id) and (assigned_user_id, last_activity_at, id)
for keyset pages by activity. ``conversation_events`` records every status and
assignment change.

SQLite cannot make an added column NOT NULL without rebuilding the table (which,
with foreign keys on, would cascade into ``messages``), so ``last_activity_at`` is
added with a constant server default (SQLite allows no other), filled, and on
PostgreSQL the default is dropped again.
Every insert of the application sets it itself.

Revision ID: 0008_inbox
Revises: 0007_shared_state
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_inbox"
down_revision = "0007_shared_state"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
ACTIVITY_INDEX = "ix_conversations_last_activity_at_id"
ASSIGNEE_INDEX = "ix_conversations_assigned_user_id_last_activity_at_id"
EVENTS_INDEX = "ix_conversation_events_conversation_id_id"


def upgrade() -> None:
    """Add the activity columns (filled from the messages), their indexes, the trail."""
    op.add_column("conversations", sa.Column("last_message_at", TIME, nullable=True))
    op.add_column(
        "conversations",
        sa.Column(
            "last_activity_at",
            TIME,
            nullable=False,
            server_default=sa.text("'1970-01-01 00:00:00'"),
        ),
    )
    op.execute(
        "UPDATE conversations SET last_message_at = "
        "(SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = conversations.id)"
    )
    op.execute("UPDATE conversations SET last_activity_at = coalesce(last_message_at, created_at)")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("conversations", "last_activity_at", server_default=None)
    op.create_index(ACTIVITY_INDEX, "conversations", ["last_activity_at", "id"])
    op.create_index(ASSIGNEE_INDEX, "conversations", ["assigned_user_id", "last_activity_at", "id"])
    op.create_table(
        "conversation_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("from_value", sa.String(64), nullable=True),
        sa.Column("to_value", sa.String(64), nullable=True),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_events"),
        sa.CheckConstraint(
            "type IN ('assigned', 'unassigned', 'status')", name="ck_conversation_events_type"
        ),
    )
    op.create_index(EVENTS_INDEX, "conversation_events", ["conversation_id", "id"])


def downgrade() -> None:
    """Drop it all again."""
    op.drop_index(EVENTS_INDEX, table_name="conversation_events")
    op.drop_table("conversation_events")
    op.drop_index(ASSIGNEE_INDEX, table_name="conversations")
    op.drop_index(ACTIVITY_INDEX, table_name="conversations")
    op.drop_column("conversations", "last_activity_at")
    op.drop_column("conversations", "last_message_at")
