"""Where our sync spends its time: ``python -m benchmarks.profile_sync [N] [sqlite|postgres]``.

Runs one initial sync (and, with ``--resync``, a second one with nothing to
change; ``--reordered``: the same chats in another order) of N generated chats
against the local fake UltraMsg under cProfile (the initial one timed, not
profiled), and prints the functions with the most cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from benchmarks.databases import bench_databases
from benchmarks.ours import settings
from benchmarks.payload import payloads
from benchmarks.upstream import running_upstream
from wa_manager import bootstrap


def main() -> None:
    """Profile one sync and print the top of the profile."""
    cli = argparse.ArgumentParser(prog="python -m benchmarks.profile_sync")
    cli.add_argument("size", type=int, nargs="?", default=100_000)
    cli.add_argument("backend", nargs="?", default="sqlite", choices=("sqlite", "postgres"))
    cli.add_argument("--resync", action="store_true", help="profile a no-change re-sync")
    cli.add_argument(
        "--reordered",
        action="store_true",
        help="with --resync: the re-sync's payload lists the same chats in another order",
    )
    cli.add_argument("--top", type=int, default=25)
    args = cli.parse_args()
    initial, _, reordered = payloads(args.size)
    with running_upstream() as upstream, bench_databases([args.backend]) as databases:
        upstream.serve(initial)
        url = databases[args.backend].fresh()
        with bootstrap(settings(url, upstream.base_url)) as app:
            if args.resync:
                started = time.perf_counter()
                app.sync()
                print(f"initial sync (not profiled): {time.perf_counter() - started:.2f} s")
                if args.reordered:
                    upstream.serve(reordered)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.runcall(app.sync)
            seconds = time.perf_counter() - started
            print(f"sync of {args.size} chats on {args.backend}: {seconds:.2f} s")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
