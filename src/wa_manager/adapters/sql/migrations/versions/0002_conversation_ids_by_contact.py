"""PostgreSQL: an index on conversations (contact_id, id), for a user's page of conversations.

A user's page looks up the conversation id of each linked contact; with (contact_id,
id) PostgreSQL answers from the index alone. SQLite needs no such index: its unique
index on contact_id already holds the rowid, which is the id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEX = "ix_conversations_contact_id_id"


def upgrade() -> None:
    """Create the index on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(INDEX, "conversations", ["contact_id", "id"])


def downgrade() -> None:
    """Drop it again."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="conversations")
