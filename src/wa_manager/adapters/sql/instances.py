"""``SqlInstanceRepository``: stored UltraMsg instances, and the counts ``instances list``
shows (contacts per source, last successful sync per instance)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.tables import contacts, instances, sync_runs
from wa_manager.domain.errors import AlreadyExists
from wa_manager.domain.instances import StoredInstance


def _instance_from_row(row: Row[Any]) -> StoredInstance:
    return StoredInstance(
        instance_id=row.instance_id,
        label=row.label,
        sealed_token=row.sealed_token,
        webhook_secret=row.webhook_secret,
        created_at=row.created_at,
    )


class SqlInstanceRepository:
    """The ``instances`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, instance: StoredInstance) -> None:
        """Store it; ``AlreadyExists`` when its id is taken."""
        taken = AlreadyExists(
            f"the instance {instance.instance_id} is stored already; "
            "`wa-manager instances set-token` changes its token"
        )
        self._db.execute(
            insert(instances).values(
                instance_id=instance.instance_id,
                label=instance.label,
                sealed_token=instance.sealed_token,
                webhook_secret=instance.webhook_secret,
                created_at=instance.created_at,
            ),
            integrity_error=taken,
        )

    def _one(self, *conditions: Any) -> StoredInstance | None:
        row = self._db.execute(select(instances).where(*conditions)).one_or_none()
        return _instance_from_row(row) if row is not None else None

    def get(self, instance_id: str) -> StoredInstance | None:
        """The stored instance ``instance_id``, if any."""
        return self._one(instances.c.instance_id == instance_id)

    def by_webhook_secret(self, secret: str) -> StoredInstance | None:
        """The instance whose webhook path carries ``secret``."""
        return self._one(instances.c.webhook_secret == secret)

    def list(self) -> builtins.list[StoredInstance]:
        """Every stored instance, oldest first."""
        rows = self._db.execute(
            select(instances).order_by(instances.c.created_at, instances.c.instance_id)
        )
        return [_instance_from_row(row) for row in rows]

    def set_sealed_token(self, instance_id: str, sealed_token: str) -> bool:
        """Replace the sealed token; False when there is no such instance."""
        result = self._db.execute(
            update(instances)
            .where(instances.c.instance_id == instance_id)
            .values(sealed_token=sealed_token)
        )
        return result.rowcount > 0

    def remove(self, instance_id: str) -> bool:
        """Delete the row; contacts, conversations and history stay."""
        result = self._db.execute(delete(instances).where(instances.c.instance_id == instance_id))
        return result.rowcount > 0

    def contact_counts(self) -> dict[str, int]:
        """source -> number of contacts (one grouped read of the (source, wa_id) index)."""
        rows = self._db.execute(
            select(contacts.c.source, func.count()).group_by(contacts.c.source)
        ).all()
        return {str(source): int(count) for source, count in rows}

    def last_syncs(self) -> dict[str, datetime]:
        """instance id -> end of its last successful sync."""
        rows = self._db.execute(
            select(sync_runs.c.instance_id, func.max(sync_runs.c.finished_at))
            .where(sync_runs.c.error.is_(None), sync_runs.c.finished_at.is_not(None))
            .group_by(sync_runs.c.instance_id)
        ).all()
        return {instance_id: finished for instance_id, finished in rows if finished is not None}
