"""The child process that runs one measurement: ``python -m benchmarks.worker JOB ARGS_JSON``.

Each timed run gets a fresh interpreter, so no run inherits another's heap
(a million parsed chats left over would slow the garbage collector of the
next) and each run's peak RSS is its own. It prints one JSON object: the job's
result plus ``rss_before_mb`` (after imports, before the job) and ``peak_rss_mb``
(the process's high-water mark, VmHWM).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JOB_TIMEOUT_SECONDS = 3600


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM peak).

    Not ``ru_maxrss``: on Linux a child inherits its parent's RSS high-water mark
    through fork, so a small job forked from a large parent would report the parent's.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _jobs() -> dict[str, Callable[..., dict[str, Any]]]:
    from benchmarks.cli import cli_sync
    from benchmarks.limit import limit_sync
    from benchmarks.listing import listing_latency, prepare_listing
    from benchmarks.messages import prepare_messages
    from benchmarks.naive import naive_sync
    from benchmarks.ours import our_sync

    return {
        "ours": our_sync,
        "cli": cli_sync,
        "limit": limit_sync,
        "naive": naive_sync,
        "prepare-listing": prepare_listing,
        "listing": listing_latency,
        "prepare-messages": prepare_messages,
    }


def _measured(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    job = _jobs()[name]  # imports first: the baseline is the interpreter with its imports
    before = _status_mb("VmRSS")
    result = job(**kwargs)
    result.update(rss_before_mb=before, peak_rss_mb=_status_mb("VmHWM"))
    return result


def main(argv: list[str]) -> None:
    """Run the job named in ``argv[0]`` with the keyword arguments in ``argv[1]`` (JSON)."""
    print(json.dumps(_measured(argv[0], json.loads(argv[1]))))


def run_job(job: str, *, isolated: bool = True, **kwargs: Any) -> dict[str, Any]:
    """Run ``job`` in a child process and return what it printed.

    ``isolated=False`` runs it in this process instead (smoke runs: quick, but
    the peak RSS is then this process's, not the job's alone).
    """
    if not isolated:
        return _measured(job, kwargs)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", job, json.dumps(kwargs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark job {job} failed:\n{completed.stderr.strip()}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
