"""The duplicate suggestions at scale: ``GET /api/contacts/duplicates``'s queries on N contacts.

    .venv/bin/python -m benchmarks.duplicates        # N = 10k, 100k, 1M; both backends
    .venv/bin/python -m benchmarks.duplicates --sizes 100000 --backends sqlite

Each size gets a fresh migrated database filled with N contacts of one instance, as
a sync leaves them, with a realistic share of duplicates planted among them:

- ~60% ``@c.us`` people with a phone, half of them Brazilian mobiles (+55, with the
  ninth digit), the rest German and others; 20% ``@lid``; 10% groups; 10% of another
  instance (pairs never cross instances);
- 2% of the Brazilian mobiles also stored in the old form without the ninth digit
  (``brazil_ninth_digit``), 3% of the ``@lid``s named exactly like a ``@c.us``
  (``same_name_lid``), 0.5% of the ``@lid``s holding a ``@c.us``'s phone (``same_phone``).

Then ``IdentityRepository.duplicates`` (all three queries, what the route runs) is
timed, median of 3, and each query alone, with the pairs found (every planted
one, and the few the planting made by chance, e.g. two ``@lid``s given one phone).
PostgreSQL is ``VACUUM ANALYZE``d after the load, as autovacuum would after a big sync;
it runs in its own database, ``wa_bench_duplicates``. The figures go to
``benchmarks/duplicates.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks.databases import BenchDatabase, dbapi_connect

SIZES = (10_000, 100_000, 1_000_000)
SOURCE, OTHER = "instance12345", "instance99999"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/wa_bench_duplicates"


def contact_rows(n: int) -> tuple[list[tuple[Any, ...]], Counter[str]]:
    """N contact rows (source, wa_id, name, phone, kind) and the pairs planted, by reason."""
    rows: list[tuple[Any, ...]] = []
    planted: Counter[str] = Counter()
    people: list[tuple[str, str]] = []  # (name, phone) of @c.us people, for the twins
    index = 0
    while len(rows) < n:
        index += 1
        slot = index % 10
        source = OTHER if slot == 9 else SOURCE
        if slot < 6:
            if index % 2:
                digits = f"55{11 + index % 80:02d}9{6 + index % 4}{index % 10_000_000:07d}"
            else:
                digits = f"49151{index % 100_000_000:08d}"
            name = f"Person {index}"
            rows.append((source, f"{digits}@c.us", name, f"+{digits}", "person"))
            if source == SOURCE:
                people.append((name, f"+{digits}"))
            if digits.startswith("55") and index % 50 == 1 and len(rows) < n:
                short = digits[:4] + digits[5:]  # the same mobile without its ninth digit
                rows.append((source, f"{short}@c.us", f"{name} (old)", f"+{short}", "person"))
                planted["brazil_ninth_digit"] += 1
        elif slot < 8:
            name, phone = f"Hidden {index}", None
            if people and (index // 10) % 100 < 3:
                name = people[index % len(people)][0]
                planted["same_name_lid"] += 1
            elif people and (index // 10) % 200 == 7:
                phone = people[index % len(people)][1]
                planted["same_phone"] += 1
            rows.append((source, f"{10**14 + index}@lid", name, phone, "person"))
        else:
            rows.append((source, f"1203630{index:011d}@g.us", f"Group {index}", None, "group"))
    return rows[:n], planted


def load(url: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert the contacts with one executemany, then let PostgreSQL analyse them."""
    connection = dbapi_connect(url)
    marker = "?" if make_url(url).get_backend_name() == "sqlite" else "%s"
    now = NOW.replace(tzinfo=None).isoformat(" ") if marker == "?" else NOW
    try:
        cursor = connection.cursor()
        cursor.executemany(
            "INSERT INTO contacts (source, wa_id, name, phone, kind, created_at, last_seen_at) "
            f"VALUES ({', '.join([marker] * 7)})",
            [(*row, now, now) for row in rows],
        )
        connection.commit()
        if marker == "%s":
            connection.autocommit = True
            connection.execute("VACUUM ANALYZE contacts")
        else:
            connection.execute("ANALYZE")
            connection.commit()
    finally:
        connection.close()


def timed(function: Any, repeat: int) -> tuple[float, Any]:
    """Median seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure(backend: str, n: int, folder: Path, repeat: int) -> dict[str, Any]:
    """Fill a fresh database with N contacts and time the suggestion queries."""
    from wa_manager.adapters.sql import SqlStore
    from wa_manager.adapters.sql.identities import _QUERIES

    database = BenchDatabase(backend, folder)
    if backend == "postgres":
        database.url = os.environ.get("WA_MANAGER_BENCH_DUPLICATES_URL", POSTGRES_URL)
    url = database.fresh()
    rows, planted = contact_rows(n)
    load(url, rows)
    store = SqlStore.open(url)
    try:

        def everything() -> Any:
            with store(read_only=True) as uow:
                return uow.identities.duplicates()

        total, pairs = timed(everything, repeat)
        found = Counter(str(pair.reason) for pair in pairs)
        each: dict[str, float] = {}
        for reason, query in _QUERIES:
            with store(read_only=True) as uow:
                db = uow.identities._db  # type: ignore[attr-defined]
                each[str(reason)], _ = timed(lambda db=db, q=query: db.execute(q()).all(), repeat)
        with store(read_only=True) as uow:
            identities: Any = uow.identities
            each["same_phone"], _ = timed(identities._same_phone, repeat)
    finally:
        store.close()
        database.drop()
    missed = planted - found
    assert not missed, f"planted pairs not found: {missed}"
    return {
        "backend": backend,
        "n": n,
        "total": total,
        "each": each,
        "pairs": dict(found),
        "planted": dict(planted),
    }


def report(results: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| backend | contacts | all three queries | same_phone | brazil_ninth_digit "
        "| same_name_lid | pairs found (planted) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for item in results:
        each = item["each"]
        pairs = ", ".join(
            f"{k} {v} ({item['planted'].get(k, 0)})" for k, v in sorted(item["pairs"].items())
        )
        lines.append(
            f"| {item['backend']} | {item['n']:,} | {item['total'] * 1000:.0f} ms "
            f"| {each['same_phone'] * 1000:.0f} ms | {each['brazil_ninth_digit'] * 1000:.0f} ms "
            f"| {each['same_name_lid'] * 1000:.0f} ms | {pairs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the sizes on the backends, print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    options = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in options.backends.split(","):
            for n in map(int, options.sizes.split(",")):
                results.append(measure(backend, n, Path(folder), options.repeat))
                print(report(results[-1:]).splitlines()[-1], flush=True)
    table = report(results)
    print(table)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "duplicates.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
