"""Members of WhatsApp numbers: users and teams that see every conversation of an instance.

``instance_users`` and ``instance_teams`` key a membership by the instance's id (the
contacts' ``source``), with no foreign key to a table of instances: the default
instance from the environment is stored nowhere and may have members all the same.
Deleting a user or a team deletes its memberships.

Revision ID: 0010_instance_members
Revises: 0009_instances
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_instance_members"
down_revision = "0009_instances"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _membership(table: str, member: str, referred: str) -> None:
    """Create ``table`` (instance_id, ``member`` → ``referred``.id) with its reverse index."""
    op.create_table(
        table,
        sa.Column("instance_id", sa.String(128), nullable=False),
        sa.Column(
            member,
            ID,
            sa.ForeignKey(
                f"{referred}.id", ondelete="CASCADE", name=f"fk_{table}_{member}_{referred}"
            ),
            nullable=False,
        ),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("instance_id", member, name=f"pk_{table}"),
    )
    op.create_index(f"ix_{table}_{member}_instance_id", table, [member, "instance_id"])


def upgrade() -> None:
    """Create ``instance_users`` and ``instance_teams``."""
    _membership("instance_users", "user_id", "users")
    _membership("instance_teams", "team_id", "teams")


def downgrade() -> None:
    """Drop them."""
    for table, member in (("instance_teams", "team_id"), ("instance_users", "user_id")):
        op.drop_index(f"ix_{table}_{member}_instance_id", table_name=table)
        op.drop_table(table)
