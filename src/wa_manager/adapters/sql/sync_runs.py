"""``SqlSyncRunRepository``: the record of every sync, its report or its error."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from wa_manager.adapters.sql.database import Database
from wa_manager.adapters.sql.tables import sync_runs
from wa_manager.domain.model import Page, SyncReport, SyncRun

_REPORT_COUNTS = (
    "fetched",
    "created_contacts",
    "created_conversations",
    "updated_contacts",
    "skipped",
    "duration_ms",
)


def _run_from_row(row: Row[Any]) -> SyncRun:
    report = None
    if row.fetched is not None:
        report = SyncReport(
            instance_id=row.instance_id,
            dry_run=bool(row.dry_run),
            **{name: getattr(row, name) for name in _REPORT_COUNTS},
        )
    return SyncRun(
        id=row.id,
        instance_id=row.instance_id,
        trigger=row.trigger,
        actor_id=row.actor_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        report=report,
        error=row.error,
        interrupted_at=row.interrupted_at,
    )


def _unfinished() -> tuple[Any, ...]:
    return (sync_runs.c.finished_at.is_(None), sync_runs.c.interrupted_at.is_(None))


class SqlSyncRunRepository:
    """Sync runs, newest first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, instance_id: str, trigger: str, actor_id: int | None, now: datetime) -> int:
        """Record that a sync started; return the run's id."""
        statement = (
            insert(sync_runs)
            .values(instance_id=instance_id, trigger=trigger, actor_id=actor_id, started_at=now)
            .returning(sync_runs.c.id)
        )
        return int(self._db.execute(statement).scalar_one())

    def finish(
        self,
        run_id: int,
        now: datetime,
        report: SyncReport | None,
        error: str | None,
        *,
        interrupted: bool = False,
    ) -> None:
        """Record how the run ended: its report, or its error (``interrupted``: stopped)."""
        values: dict[str, Any] = {"finished_at": now, "error": error}
        if interrupted:
            values["interrupted_at"] = now
        if report is not None:
            values.update({name: getattr(report, name) for name in _REPORT_COUNTS})
            values["dry_run"] = report.dry_run
        self._db.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**values))

    def unfinished_instances(self) -> builtins.list[str]:
        """The instances with a run neither finished nor marked interrupted."""
        query = select(sync_runs.c.instance_id).where(*_unfinished()).distinct()
        return sorted(self._db.execute(query).scalars())

    def mark_interrupted(self, instance_id: str, now: datetime, error: str) -> int:
        """Mark every unfinished run of ``instance_id`` interrupted; how many."""
        statement = (
            update(sync_runs)
            .where(sync_runs.c.instance_id == instance_id, *_unfinished())
            .values(interrupted_at=now, error=error)
        )
        return int(self._db.execute(statement).rowcount)

    def page(self, *, limit: int, before_id: int | None) -> Page[SyncRun]:
        """Runs newest first, keyset-paginated by id."""
        query = select(sync_runs)
        if before_id is not None:
            query = query.where(sync_runs.c.id < before_id)
        rows = self._db.execute(query.order_by(sync_runs.c.id.desc()).limit(limit + 1)).all()
        items = tuple(_run_from_row(row) for row in rows[:limit])
        return Page(items=items, next_before_id=items[-1].id if len(rows) > limit else None)

    def latest(self) -> SyncRun | None:
        """The most recent run, or None."""
        row = self._db.execute(select(sync_runs).order_by(sync_runs.c.id.desc()).limit(1)).first()
        return None if row is None else _run_from_row(row)
