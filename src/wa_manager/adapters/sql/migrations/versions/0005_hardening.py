"""Usernames unique regardless of case; sync runs can be marked interrupted.

A unique index on ``lower(username)`` (refused, with the clashing names, when two
users differ only in case: rename one first), and ``sync_runs.interrupted_at``.

Revision ID: 0005_hardening
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wa_manager.domain.errors import StorageError

revision = "0005_hardening"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEX = "uq_users_username_lower"


def upgrade() -> None:
    """Add the column and the index (after checking no two usernames clash)."""
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if clashes:
        raise StorageError(
            "usernames must now be unique regardless of case, but these clash: "
            + ", ".join(sorted(clashes))
            + "; rename all but one of each with the previous wa-manager, then upgrade"
        )
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("interrupted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(INDEX, table_name="users")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("interrupted_at")
