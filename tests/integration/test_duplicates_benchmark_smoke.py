"""The duplicate suggestions benchmark runs end to end (tiny N, SQLite): a table row per
size with every planted pair found. Never a time: this keeps it from rotting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_duplicates_benchmark_runs_and_finds_the_planted_pairs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.duplicates", "--sizes", "500,2000",
         "--backends", "sqlite", "--repeat", "1", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "duplicates.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| sqlite |")]
    assert [row.split("|")[2].strip() for row in rows] == ["500", "2,000"]
    assert "brazil_ninth_digit" in rows[1]
    assert "same_name_lid" in rows[1]
