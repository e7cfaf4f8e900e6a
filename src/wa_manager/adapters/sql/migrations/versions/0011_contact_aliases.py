"""Contact identity: merged chat ids (aliases), ``merge`` in the link history, and the
index the duplicate suggestions need.

- ``contact_aliases``: (source, wa_id) of a chat merged into another contact → that
  surviving contact (``contact_id``), with the merged contact's id and name, who merged
  and when. Syncs and webhooks read it so that the merged chat id lands on the survivor
  and never makes a contact again.
- ``link_events`` accepts ``action`` ``merge`` (the survivor's history records a merge,
  ``merged_contact_id`` naming the contact that went). SQLite cannot change a CHECK
  constraint in place: the table is rebuilt (it has no foreign keys either way).
- ``ix_contacts_lid_name``: a partial index on (source, name) of the ``@lid`` contacts
  only, so the "same name as a ``@lid``" suggestion probes a small index instead of
  sorting a million names (and a sync's inserts of ``@c.us`` chats do not maintain it).

Revision ID: 0011_contact_aliases
Revises: 0010_instance_members
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_contact_aliases"
down_revision = "0010_instance_members"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
ACTION_CHECK = "ck_link_events_action"
LID_NAME_INDEX = "ix_contacts_lid_name"
ALIAS_CONTACT_INDEX = "ix_contact_aliases_contact_id"
LID_ROWS = "wa_id LIKE '%@lid'"


def _set_actions(actions: str, *, drop_merged_column: bool = False) -> None:
    """Make ``link_events.action`` accept exactly ``actions`` (an SQL list)."""
    with op.batch_alter_table("link_events", recreate="auto") as batch:
        batch.drop_constraint(ACTION_CHECK, type_="check")
        batch.create_check_constraint(ACTION_CHECK, f"action IN ({actions})")
        if drop_merged_column:
            batch.drop_column("merged_contact_id")


def upgrade() -> None:
    """The alias table, ``merge`` events, the ``@lid`` name index."""
    op.create_table(
        "contact_aliases",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("wa_id", sa.String(128), nullable=False),
        sa.Column(
            "contact_id",
            ID,
            sa.ForeignKey(
                "contacts.id", ondelete="CASCADE", name="fk_contact_aliases_contact_id_contacts"
            ),
            nullable=False,
        ),
        sa.Column("merged_contact_id", ID, nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contact_aliases"),
        sa.UniqueConstraint("source", "wa_id", name="uq_contact_aliases_source_wa_id"),
    )
    op.create_index(ALIAS_CONTACT_INDEX, "contact_aliases", ["contact_id"])
    op.add_column("link_events", sa.Column("merged_contact_id", ID, nullable=True))
    _set_actions("'link', 'unlink', 'merge'")
    op.create_index(
        LID_NAME_INDEX,
        "contacts",
        ["source", "name"],
        sqlite_where=sa.text(LID_ROWS),
        postgresql_where=sa.text(LID_ROWS),
    )


def downgrade() -> None:
    """Drop it all again (merge events go with the wider CHECK)."""
    op.drop_index(LID_NAME_INDEX, table_name="contacts")
    op.execute("DELETE FROM link_events WHERE action = 'merge'")
    _set_actions("'link', 'unlink'", drop_merged_column=True)
    op.drop_index(ALIAS_CONTACT_INDEX, table_name="contact_aliases")
    op.drop_table("contact_aliases")
