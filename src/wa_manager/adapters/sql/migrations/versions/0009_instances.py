"""Stored UltraMsg instances: several WhatsApp numbers, tokens sealed at rest.

Revision ID: 0009_instances
Revises: 0008_inbox
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_instances"
down_revision = "0008_inbox"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``instances`` (a new table: nothing existing is rebuilt)."""
    op.create_table(
        "instances",
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(100), nullable=True),
        sa.Column("sealed_token", sa.Text, nullable=False),
        sa.Column("webhook_secret", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("instance_id", name="pk_instances"),
        sa.UniqueConstraint("webhook_secret", name="uq_instances_webhook_secret"),
    )


def downgrade() -> None:
    """Drop ``instances`` (stored numbers are forgotten; their contacts stay)."""
    op.drop_table("instances")
