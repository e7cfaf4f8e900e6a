"""End to end through the command line: ``wa-manager sync --json`` as a subprocess.

What a person (or cron) runs: process start, imports, settings from the
environment, the HTTP GET to the fake UltraMsg, the sync, the commit and the
exit, all on the clock. The peak RSS is the CLI process's own (``wait4``'s
``ru_maxrss``: the child after ``exec``, not this small parent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.upstream import INSTANCE_ID, TOKEN


def cli_executable() -> str:
    """The ``wa-manager`` console script of the interpreter running the benchmarks."""
    return str(Path(sys.executable).with_name("wa-manager"))


def cli_sync(url: str, base_url: str) -> dict[str, Any]:
    """Run ``wa-manager sync --json`` once; its wall time, report and peak RSS."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ULTRAMSG_", "WA_MANAGER_"))
    }
    environment.update(
        ULTRAMSG_INSTANCE_ID=INSTANCE_ID,
        ULTRAMSG_TOKEN=TOKEN,
        ULTRAMSG_BASE_URL=base_url,
        WA_MANAGER_DATABASE_URL=url,
    )
    with (
        tempfile.TemporaryDirectory(prefix="wa-bench-cli-") as folder,
        tempfile.TemporaryFile("w+") as output,
        tempfile.TemporaryFile("w+") as errors,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(
            [cli_executable(), "sync", "--json"],
            cwd=folder,  # no .env of the checkout is read
            env=environment,
            stdout=output,
            stderr=errors,
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(
                f"wa-manager sync exited {process.returncode}: {errors.read()[-2000:]}"
            )
        output.seek(0)
        report = json.loads(output.read())
    return {
        "seconds": seconds,
        "report": report,
        "contacts": report["created_contacts"],
        "conversations": report["created_conversations"],
        "cli_peak_rss_mb": usage.ru_maxrss / 1024,
    }
