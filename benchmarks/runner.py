"""Runs the suite: for each size and backend, every contender and figure, in one process tree.

Per size the payloads are encoded once and served by the local fake UltraMsg.
Per backend: the initial sync by ours (in process, and end to end through the
CLI), the limit (executemany; SQLite also json.loads, PostgreSQL also COPY) and
the naive peer, each on a fresh database, interleaved and repeated
(median) to spread the machine's noise over all of them alike; then, on the
database ours filled, a re-sync with no change (in process and through the
CLI), the same chats in another order, a re-sync with 1% new and 1% renamed,
the listing latencies, then N stored messages: thread pages, and the HTTP
throughput (webhook ingest too). A re-sync with nothing to change writes nothing,
so it runs ``--repeat`` times on the same database (median) at every N.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from benchmarks.databases import BenchDatabase, bench_databases
from benchmarks.http_load import throughput
from benchmarks.machine import describe, load_average
from benchmarks.payload import Payloads, payloads
from benchmarks.upstream import INSTANCE_ID, Upstream, running_upstream
from benchmarks.worker import run_job


class Options:
    """What to run; see ``python -m benchmarks --help``."""

    def __init__(
        self,
        *,
        sizes: list[int],
        backends: list[str],
        repeat: int,
        repeat_max_size: int,
        naive_max_size: int,
        requests: int,
        listing_budget: float,
        links: int,
        isolated: bool,
    ) -> None:
        self.sizes = sizes
        self.backends = backends
        self.repeat = repeat
        self.repeat_max_size = repeat_max_size
        self.naive_max_size = naive_max_size
        self.requests = requests
        self.listing_budget = listing_budget
        self.links = links
        self.isolated = isolated


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time, with every time kept for the record."""
    ordered = sorted(runs, key=lambda run: run["seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["all_seconds"] = [run["seconds"] for run in runs]
    return chosen


def _initial_syncs(
    database: BenchDatabase, upstream: Upstream, size: int, options: Options
) -> dict[str, Any]:
    """Ours, the limit(s) and the naive peer on fresh databases; ours' database is kept last."""
    common = {"chats_url": upstream.chats_url, "source": INSTANCE_ID}
    contenders: dict[str, Callable[[str], dict[str, Any]]] = {
        "limit": lambda url: run_job("limit", url=url, isolated=options.isolated, **common),
    }
    if database.backend == "postgres":
        contenders["limit_copy"] = lambda url: run_job(
            "limit", url=url, method="copy", isolated=options.isolated, **common
        )
    else:
        contenders["limit_json"] = lambda url: run_job(
            "limit", url=url, method="json", isolated=options.isolated, **common
        )
    contenders["cli"] = lambda url: run_job(
        "cli", url=url, base_url=upstream.base_url, isolated=options.isolated
    )
    if size <= options.naive_max_size:
        contenders["naive"] = lambda url: run_job(
            "naive", url=url, isolated=options.isolated, **common
        )
    contenders["ours"] = lambda url: run_job(
        "ours", url=url, base_url=upstream.base_url, isolated=options.isolated
    )
    repeats = options.repeat if size <= options.repeat_max_size else 1
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    for attempt in range(repeats):
        for name, contender in contenders.items():
            if name == "naive" and attempt > 0:
                continue  # slow and far from the others: once is enough
            _say(f"{database.backend} N={size}: {name} ({attempt + 1}/{repeats})")
            runs[name].append(contender(database.fresh()))
    return {name: _median_run(name_runs) for name, name_runs in runs.items()}


def _after_initial(
    database: BenchDatabase, upstream: Upstream, sent: Payloads, size: int, options: Options
) -> dict[str, Any]:
    """Re-syncs, listing and HTTP on the database ours just filled."""
    url, base_url, backend = database.url, upstream.base_url, database.backend
    isolated = options.isolated
    cell: dict[str, Any] = {}

    def resyncs(job: str) -> dict[str, Any]:
        runs = [
            run_job(job, url=url, base_url=base_url, isolated=isolated)
            for _ in range(options.repeat)
        ]
        return _median_run(runs)

    _say(f"{backend}: re-sync, no change")
    cell["resync_same"] = resyncs("ours")
    _say(f"{backend}: re-sync, no change, through the CLI")
    cell["cli_resync_same"] = resyncs("cli")
    _say(f"{backend}: re-sync, no change, the chats in another order")
    upstream.serve(sent.reordered)
    cell["resync_reordered"] = resyncs("ours")
    _say(f"{backend}: re-sync, 1% new and 1% renamed")
    initial = sent.initial
    upstream.serve(sent.changed)
    cell["resync_changed"] = run_job("ours", url=url, base_url=base_url, isolated=isolated)
    upstream.serve(initial)
    _say(f"{backend}: listing")
    prepared = run_job(
        "prepare-listing", url=url, base_url=base_url, links=options.links, isolated=isolated
    )
    cell["listing"] = run_job(
        "listing",
        url=url,
        base_url=base_url,
        budget_seconds=options.listing_budget,
        isolated=isolated,
    )
    cell["listing"]["link_seconds"] = prepared["link_seconds"]
    _say(f"{backend}: storing {size} messages")
    thread = run_job("prepare-messages", url=url, total=size, isolated=isolated)
    _say(f"{backend}: thread pages and HTTP load")
    cell["http"] = throughput(
        url,
        base_url,
        prepared["token"],
        options.requests,
        warmup=min(200, options.requests // 4),
        thread=thread,
        budget_seconds=options.listing_budget,
    )
    return cell


def run(options: Options) -> dict[str, Any]:
    """Every figure of every size and backend, with the machine they were measured on."""
    cells: dict[str, dict[str, Any]] = {}
    with running_upstream() as upstream, bench_databases(options.backends) as databases:
        machine = describe([database.describe() for database in databases.values()])
        for size in options.sizes:
            _say(f"N={size}: generating the payloads")
            sent = payloads(size)
            for backend, database in databases.items():
                upstream.serve(sent.initial)
                cell: dict[str, Any] = {"payload_bytes": len(sent.initial)}
                cell.update(_initial_syncs(database, upstream, size, options))
                cell.update(_after_initial(database, upstream, sent, size, options))
                cells[f"{backend}/{size}"] = cell
            del sent
    machine["load_at_end"] = load_average()
    return {
        "machine": machine,
        "sizes": options.sizes,
        "backends": options.backends,
        "naive_max_size": options.naive_max_size,
        "cells": cells,
    }
