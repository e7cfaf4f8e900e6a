"""Teams: named groups of users that contacts can be linked to, with their audit trail.

``link_events`` gains ``team_id`` (a team's link) and its ``user_id`` may be null.

Revision ID: 0006_teams
Revises: 0005_hardening
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_teams"
down_revision = "0005_hardening"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
# Batch mode (SQLite) rebuilds link_events: keep its constraint names as they are.
_KEEP_NAMES = {"ck": "%(constraint_name)s"}


def upgrade() -> None:
    """Create ``teams``, ``team_members``, ``contact_teams``, ``team_events``; widen
    ``link_events``."""
    op.create_table(
        "teams",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
        sa.UniqueConstraint("name", name="uq_teams_name"),
    )
    op.create_table(
        "team_members",
        sa.Column(
            "team_id",
            ID,
            sa.ForeignKey("teams.id", ondelete="CASCADE", name="fk_team_members_team_id_teams"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            ID,
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_team_members_user_id_users"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name="pk_team_members"),
    )
    op.create_index("ix_team_members_user_id_team_id", "team_members", ["user_id", "team_id"])
    op.create_table(
        "contact_teams",
        sa.Column(
            "contact_id",
            ID,
            sa.ForeignKey(
                "contacts.id", ondelete="CASCADE", name="fk_contact_teams_contact_id_contacts"
            ),
            nullable=False,
        ),
        sa.Column(
            "team_id",
            ID,
            sa.ForeignKey("teams.id", ondelete="CASCADE", name="fk_contact_teams_team_id_teams"),
            nullable=False,
        ),
        sa.Column(
            "created_by",
            ID,
            sa.ForeignKey(
                "users.id", ondelete="SET NULL", name="fk_contact_teams_created_by_users"
            ),
            nullable=True,
        ),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "team_id", name="pk_contact_teams"),
    )
    op.create_index(
        "ix_contact_teams_team_id_contact_id", "contact_teams", ["team_id", "contact_id"]
    )
    op.create_table(
        "team_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_team_events"),
        sa.CheckConstraint("action IN ('join', 'leave')", name="ck_team_events_action"),
    )
    op.create_index("ix_team_events_team_id_id", "team_events", ["team_id", "id"])
    with op.batch_alter_table("link_events", naming_convention=_KEEP_NAMES) as batch:
        batch.alter_column("user_id", existing_type=ID, nullable=True)
        batch.add_column(sa.Column("team_id", ID, nullable=True))


def downgrade() -> None:
    """Drop the team tables and the team links' audit events."""
    op.execute("DELETE FROM link_events WHERE user_id IS NULL")
    with op.batch_alter_table("link_events", naming_convention=_KEEP_NAMES) as batch:
        batch.drop_column("team_id")
        batch.alter_column("user_id", existing_type=ID, nullable=False)
    op.drop_index("ix_team_events_team_id_id", table_name="team_events")
    op.drop_table("team_events")
    op.drop_index("ix_contact_teams_team_id_contact_id", table_name="contact_teams")
    op.drop_table("contact_teams")
    op.drop_index("ix_team_members_user_id_team_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_table("teams")
