"""Times as the outside world reads them: ISO 8601, always with a timezone."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_time(moment: datetime | None) -> str | None:
    """ISO 8601 with a timezone, or None; a naive time (SQLite drops the zone) is UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()
