"""The benchmark suite runs end to end (tiny N, SQLite) and prints every table and row.

Performance itself stays out of pass/fail: nothing here looks at a time or a
ratio. This only keeps ``python -m benchmarks`` from rotting as the code changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = (
    "### Initial sync",
    "### End to end",
    "### Re-sync",
    "### Listing",
    "### HTTP throughput",
    "### Messages",
    "### Memory",
    "### Scaling",
    "### Goals",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--backends", "sqlite", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout, out


def _section(report: str, title: str) -> list[str]:
    """The table rows (not header or rule) under one section title."""
    body = report.split(title, 1)[1].split("\n### ", 1)[0]
    table = [line for line in body.splitlines() if line.startswith("|")]
    return table[2:]


def test_prints_every_section_with_a_row_per_size(smoke_run: tuple[str, Path]) -> None:
    report, _ = smoke_run
    for title in SECTIONS[:7]:
        rows = _section(report, title)
        assert [row.split("|")[1:3] for row in rows] == [
            [" sqlite ", " 200 "],
            [" sqlite ", " 600 "],
        ], title


def test_scaling_and_goals_have_their_rows(smoke_run: tuple[str, Path]) -> None:
    report, _ = smoke_run
    figures = [row.split("|")[2].strip() for row in _section(report, "### Scaling")]
    assert "initial sync (ours)" in figures
    assert "user deep page" in figures
    goals = " ".join(_section(report, "### Goals"))
    for goal in (
        "efficiency",
        "naive peer",
        "no-change re-sync",
        "deep page",
        "1,000 links",
        "end to end (CLI)",
        "through the CLI",
        "thread deep page",
        "POST webhook",
        "healthz",
        "RSS",
    ):
        assert goal in goals


def test_no_change_resync_writes_no_rows(smoke_run: tuple[str, Path]) -> None:
    _, out = smoke_run
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for cell in data["cells"].values():
        assert cell["resync_same"]["rows_written"] == 0
        assert cell["resync_reordered"]["rows_written"] == 0
        assert cell["resync_reordered"]["report"]["fetched"] == cell["ours"]["report"]["fetched"]
        assert cell["resync_changed"]["rows_written"] > 0
        assert cell["ours"]["contacts"] == cell["limit"]["contacts"] == cell["naive"]["contacts"]


def test_writes_results_and_the_plot(smoke_run: tuple[str, Path]) -> None:
    _, out = smoke_run
    assert (out / "results.md").read_text(encoding="utf-8").startswith("Measured ")
    assert (out / "sync_scaling.png").read_bytes().startswith(b"\x89PNG")
