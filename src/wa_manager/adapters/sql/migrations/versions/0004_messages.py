"""Messages: what was said in each conversation, in and out, with delivery state.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``messages`` and its indexes."""
    op.create_table(
        "messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            ID,
            sa.ForeignKey(
                "conversations.id",
                ondelete="CASCADE",
                name="fk_messages_conversation_id_conversations",
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("wa_message_id", sa.String(256), nullable=True),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("media_url", sa.Text, nullable=True),
        sa.Column("author", sa.String(128), nullable=True),
        sa.Column("sender_name", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column(
            "sent_by_user_id",
            ID,
            sa.ForeignKey(
                "users.id", ondelete="SET NULL", name="fk_messages_sent_by_user_id_users"
            ),
            nullable=True,
        ),
        sa.Column("reference_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint("source", "wa_message_id", name="uq_messages_source_wa_message_id"),
        sa.UniqueConstraint("reference_id", name="uq_messages_reference_id"),
        sa.UniqueConstraint(
            "sent_by_user_id", "idempotency_key", name="uq_messages_sent_by_user_id_idempotency_key"
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_messages_direction"),
        sa.CheckConstraint(
            "status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')",
            name="ck_messages_status",
        ),
    )
    op.create_index(
        "ix_messages_conversation_id_created_at_id",
        "messages",
        ["conversation_id", "created_at", "id"],
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_messages_conversation_id_created_at_id", table_name="messages")
    op.drop_table("messages")
