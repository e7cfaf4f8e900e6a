"""Join the results of runs of different sizes into one report:
``python -m benchmarks.merge OUT RUN.json [RUN.json ...]``.

Each figure and ratio stays what its own run measured (every cell's contenders
ran interleaved in one run); only the scaling between sizes then compares runs,
and the header says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.plot import plot
from benchmarks.report import render


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result set holding every run's cells; the machine of each run kept."""
    merged = dict(runs[0])
    merged["cells"] = {key: cell for run in runs for key, cell in run["cells"].items()}
    merged["sizes"] = sorted({size for run in runs for size in run["sizes"]})
    merged["backends"] = list(dict.fromkeys(b for run in runs for b in run["backends"]))
    merged["naive_max_size"] = max(run["naive_max_size"] for run in runs)
    machine = dict(runs[0]["machine"])
    machine["load_at_start"] = " / ".join(run["machine"]["load_at_start"] for run in runs)
    machine["load_at_end"] = " / ".join(run["machine"].get("load_at_end", "?") for run in runs)
    machine["date"] = " / ".join(run["machine"]["date"] for run in runs)
    merged["machine"] = machine
    merged["command"] = " + ".join(run.get("command", "?") for run in runs)
    return merged


def main(argv: list[str]) -> None:
    """Write results.md, results.json and the plot of the merged runs into OUT."""
    out = Path(argv[0])
    runs = [json.loads(Path(name).read_text(encoding="utf-8")) for name in argv[1:]]
    data = merge(runs)
    out.mkdir(parents=True, exist_ok=True)
    report = render(data)
    (out / "results.md").write_text(report, encoding="utf-8")
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    plot(data, out / "sync_scaling.png")
    print(report)


if __name__ == "__main__":
    main(sys.argv[1:])
