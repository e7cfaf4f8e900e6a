"""Turning SQLAlchemy and DB-API exceptions into ``wa_manager.domain.errors``, in one place.

Every statement the repositories run goes through ``Database.execute``
(``wa_manager.adapters.sql.database``), which hands any database exception to
``translate``. Messages name the database URL without its password and say what
to check; they are one line.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from wa_manager.domain.errors import (
    SchemaNotReady,
    StorageError,
    WaManagerError,
    WriteContention,
)


def safe_url(url: str | URL) -> str:
    """The URL as text with its password replaced by ``***``."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def _first_line(error: BaseException, url: str | URL) -> str:
    """The driver's own message, first line only, with any password blanked out."""
    original = getattr(error, "orig", None) or error
    text = (str(original).strip().splitlines() or [type(original).__name__])[0]
    try:
        password = make_url(url).password
    except sa_exc.ArgumentError:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text


def schema_not_ready(url: str | URL) -> SchemaNotReady:
    """The error for a database without (or with an old) wa-manager schema."""
    return SchemaNotReady(
        f"the database at {safe_url(url)} has no wa-manager schema; run `wa-manager db upgrade`"
    )


def unreachable(url: str | URL, error: BaseException) -> StorageError:
    """The error for a database that cannot be opened or reached."""
    return StorageError(
        f"cannot reach the database at {safe_url(url)} ({_first_line(error, url)}); "
        "check that it is running, that the URL in WA_MANAGER_DATABASE_URL is right, "
        "and that the user may connect"
    )


def _is_missing_table(error: sa_exc.DBAPIError) -> bool:
    text = str(error.orig).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def _is_busy(error: sa_exc.DBAPIError) -> bool:
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back.
_CONTENTION = frozenset({"40P01", "40001"})


def translate(
    error: sa_exc.SQLAlchemyError,
    url: str | URL,
    *,
    integrity_error: WaManagerError | None = None,
) -> WaManagerError:
    """The domain error for a database exception.

    ``integrity_error`` is what a constraint violation the caller expects means
    (e.g. ``AlreadyExists`` for a taken username); without it such a violation
    is a ``StorageError``.
    """
    if isinstance(error, sa_exc.IntegrityError) and integrity_error is not None:
        return integrity_error
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
            return unreachable(url, error)
        if _is_missing_table(error):
            return schema_not_ready(url)
        if getattr(error.orig, "sqlstate", None) in _CONTENTION:
            return WriteContention(
                f"the database at {safe_url(url)} rolled this change back to break a "
                "deadlock with another writer; nothing was written, try again"
            )
        if _is_busy(error):
            return StorageError(
                f"the database at {safe_url(url)} stayed locked by another writer; try again"
            )
        if isinstance(error, sa_exc.IntegrityError):
            return StorageError(
                f"the database refused a change ({_first_line(error, url)}); "
                "it conflicts with data stored meanwhile, try again"
            )
    return StorageError(
        f"the database at {safe_url(url)} failed ({_first_line(error, url)}); "
        "check that it is running and migrated (`wa-manager db upgrade`)"
    )
