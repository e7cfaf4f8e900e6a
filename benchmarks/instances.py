"""Several WhatsApp numbers: one sync of every number versus the sum of single syncs.

``python -m benchmarks.instances [--instances 10] [--chats 100000] [--backends sqlite]``

Ten stored UltraMsg instances (tokens sealed with a fresh Fernet key) of 100k chats
each (the fake's generator, a different seed per number), served by one built-in
fake UltraMsg on loopback. Two contenders, interleaved (A B, then B A, ...), each
on a fresh, migrated, empty database:

- **all**: one ``app.syncs.run_all`` (what ``wa-manager sync`` runs): the numbers one
  after the other, each with its own lock, history row and report;
- **singles**: ten ``app.syncs.run(instance=...)`` (``wa-manager sync --instance ID``
  ten times, in one process: process starts are not what is compared), timed one by
  one and summed.

overhead = all / sum of singles - 1 (goal: at most 10%), from two clocks: the wall
clock (the fastest of the runs: on a shared machine identical runs differ by tens of
percent, and the minimum is the least disturbed) and this process's CPU time
(``time.process_time``, median: what the work cost, barely moved by other processes;
the fake UltraMsg serves from a thread of this process, so its work counts for both
contenders alike). The chat lists are encoded once before any clock starts. Prints
a Markdown table; ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from benchmarks.databases import DEFAULT_POSTGRES_URL, POSTGRES_URL_VARIABLE, BenchDatabase
from benchmarks.machine import describe
from wa_manager import Settings
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg
from wa_manager.adapters.fake_ultramsg.chats import generate_chats
from wa_manager.bootstrap import App, bootstrap, new_encryption_key
from wa_manager.domain.model import CLI, LIBRARY
from wa_manager.testing import FastHasher

GOAL = 0.10
POSTGRES_DATABASE = "wa_bench_instances"  # not the suite's wa_bench: both may run at once


def instance_ids(count: int) -> list[str]:
    """``instance901`` … : the numbers of the run."""
    return [f"instance{901 + index}" for index in range(count)]


def start_upstream(count: int, chats: int) -> FakeUltraMsg:
    """One fake UltraMsg serving ``count`` instances of ``chats`` chats each, encoded."""
    ids = instance_ids(count)
    front = FakeUltraMsg(ids[0], f"bench-token-{ids[0]}", generate_chats(chats, seed=1))
    fakes = [front]
    for seed, instance_id in enumerate(ids[1:], start=2):
        fakes.append(
            front.add_instance(
                instance_id, f"bench-token-{instance_id}", generate_chats(chats, seed=seed)
            )
        )
    for fake in fakes:
        fake.chats_body()  # encode now, not in a timed section
    return front.start()


def prepared_app(url: str, base_url: str, key: str, count: int) -> App:
    """An App on ``url`` with the numbers stored (no default instance in the environment)."""
    app = bootstrap(
        Settings(database_url=url, base_url=base_url, encryption_key=key), hasher=FastHasher()
    )
    for instance_id in instance_ids(count):
        app.instances.add(LIBRARY, instance_id, f"bench-token-{instance_id}")
    return app


Seconds = tuple[float, float]
"""(wall clock, CPU time of this process)."""


def run_all(url: str, base_url: str, key: str, count: int) -> Seconds:
    """Seconds of one sync of every number."""
    with prepared_app(url, base_url, key, count) as app:
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        outcomes = app.syncs.run_all(CLI)
        elapsed = (time.perf_counter() - wall, time.process_time() - cpu)
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    if failed:
        raise SystemExit(f"sync failed: {failed[0].instance_id}: {failed[0].error}")
    return elapsed


def run_singles(url: str, base_url: str, key: str, count: int) -> Seconds:
    """The sums of the seconds of one single sync per number (each starting on a
    collected heap, as a fresh ``wa-manager sync --instance ID`` process would)."""
    total_wall = total_cpu = 0.0
    with prepared_app(url, base_url, key, count) as app:
        for instance_id in instance_ids(count):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            app.syncs.run(CLI, instance=instance_id)
            total_wall += time.perf_counter() - wall
            total_cpu += time.process_time() - cpu
    return total_wall, total_cpu


def bench_database(backend: str, folder: Path) -> BenchDatabase:
    """A benchmark database of its own (PostgreSQL: ``wa_bench_instances``)."""
    database = BenchDatabase(backend, folder)
    if backend == "postgres":
        base = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
        database.url = make_url(base).set(database=POSTGRES_DATABASE).render_as_string(False)
    return database


def measure(backends: list[str], count: int, chats: int, repeat: int) -> dict[str, Any]:
    """Interleaved runs of both contenders on each backend; their figures."""
    key = new_encryption_key()
    results: dict[str, Any] = {"instances": count, "chats": chats, "repeat": repeat, "rows": []}
    with tempfile.TemporaryDirectory(prefix="wa-bench-instances-") as folder:
        databases = [bench_database(backend, Path(folder)) for backend in backends]
        results["machine"] = describe([database.describe() for database in databases])
        with start_upstream(count, chats) as upstream:
            for database in databases:
                # warm-up, untimed: imports, the HTTP client's first connection, caches
                run_singles(database.fresh(), upstream.base_url, key, 1)
                times: dict[str, list[Seconds]] = {"all": [], "singles": []}
                for round_ in range(repeat):
                    order = ("all", "singles") if round_ % 2 == 0 else ("singles", "all")
                    for contender in order:
                        runner = run_all if contender == "all" else run_singles
                        url = database.fresh()
                        times[contender].append(runner(url, upstream.base_url, key, count))
                database.drop()
                results["rows"].append(summary(database.backend, times))
    return results


def summary(backend: str, times: dict[str, list[Seconds]]) -> dict[str, Any]:
    """The figures of one backend: fastest wall and median CPU seconds, and overheads."""
    wall = {name: min(run[0] for run in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(run[1] for run in runs) for name, runs in times.items()}
    return {
        "backend": backend,
        "all_wall_s": wall["all"],
        "singles_wall_s": wall["singles"],
        "overhead_wall": wall["all"] / wall["singles"] - 1,
        "all_cpu_s": cpu["all"],
        "singles_cpu_s": cpu["singles"],
        "overhead_cpu": cpu["all"] / cpu["singles"] - 1,
        "runs": {name: [list(run) for run in runs] for name, runs in times.items()},
    }


def render(results: dict[str, Any]) -> str:
    """The Markdown table of a run."""
    lines = [
        f"Sync of {results['instances']} numbers × {results['chats']:,} chats "
        f"({results['repeat']} runs each, interleaved; wall: fastest run, CPU: median)",
        "",
        "| backend | clock | one sync of all s | sum of single syncs s | overhead | goal ≤ 10% |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        for clock in ("wall", "cpu"):
            overhead = row[f"overhead_{clock}"]
            lines.append(
                f"| {row['backend']} | {clock} | {row[f'all_{clock}_s']:.1f} | "
                f"{row[f'singles_{clock}_s']:.1f} | {overhead:+.1%} | "
                f"{'met' if overhead <= GOAL else 'missed'} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and print the table."""
    cli = argparse.ArgumentParser(prog="python -m benchmarks.instances", description=__doc__)
    cli.add_argument("--instances", type=int, default=10, help="numbers (default 10)")
    cli.add_argument("--chats", type=int, default=100_000, help="chats per number (100000)")
    cli.add_argument("--backends", default="sqlite", help="sqlite,postgres (default sqlite)")
    cli.add_argument("--repeat", type=int, default=3, help="runs per contender (3)")
    cli.add_argument("--json", type=Path, help="also write the figures to this file")
    args = cli.parse_args(argv)
    backends = [part.strip() for part in args.backends.split(",") if part.strip()]
    results = measure(backends, args.instances, args.chats, args.repeat)
    print(render(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
