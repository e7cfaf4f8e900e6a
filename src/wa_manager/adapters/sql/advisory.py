"""Keys of PostgreSQL advisory locks that guard one instance's sync.

Advisory locks live in one key space per database, shared by every schema in it. The
key is therefore computed by the server from the purpose, the current schema and the
instance id (``hashtextextended``, a 64-bit hash), so that two installations sharing
one database in different schemas (or two test runs) never block each other, while
every process of one installation computes the same key.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, func, literal


def instance_lock_key(purpose: str, instance_id: str) -> ColumnElement[int]:
    """The advisory lock key of ``purpose`` (``"sync"``, ``"sync run"``) for ``instance_id``
    in the current schema, as an SQL expression."""
    name = func.concat(
        literal(f"wa-manager {purpose}:"), func.current_schema(), literal(":"), literal(instance_id)
    )
    return func.hashtextextended(name, 0, type_=BigInteger)
