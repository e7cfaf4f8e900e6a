"""The several-numbers benchmark runs end to end (2 numbers × 200 chats, SQLite) and
prints its table; no time or ratio is judged here (speed lives in benchmarks/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.instances import main


def test_the_benchmark_prints_its_table_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "instances.json"
    args = ["--instances", "2", "--chats", "200", "--repeat", "1", "--json", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| sqlite | wall |" in printed
    assert "| sqlite | cpu |" in printed
    assert "Sync of 2 numbers × 200 chats" in printed
    [row] = json.loads(out.read_text())["rows"]
    assert len(row["runs"]["all"]) == len(row["runs"]["singles"]) == 1
