"""Reliability fixtures, and the hooks that total the suite's figures.

- ``figures``: a ``figures.Recorder`` for the running test; kept only if it passes.
- At the end of the run, the table of figures is printed, and written to
  ``$WA_MANAGER_RELIABILITY_REPORT`` when that is set and the run is green.

The HTTP helpers of ``tests/integration/test_http_support.py`` (an app on memory
adapters, members with tokens, a browser login) are shared: that folder is put
on ``sys.path`` so they import the same way as in the integration tests.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.reliability import figures as figures_module
from tests.reliability.figures import Recorder, Totals

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

_TOTALS = Totals()
_RECORDERS: dict[str, Recorder] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Recorder:
    """Record this test's figures (cases, faults, requests, notes, fixed failures)."""
    recorder = Recorder()
    _RECORDERS[request.node.nodeid] = recorder
    return recorder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep a test's figures when its call passed (and its teardown did not fail)."""
    report = yield
    recorder = _RECORDERS.get(item.nodeid)
    if recorder is not None:
        if report.when == "call" and report.passed:
            item.stash[_PASSED] = True
        if report.when == "teardown":
            _RECORDERS.pop(item.nodeid, None)
            if item.stash.get(_PASSED, False) and report.passed:
                _TOTALS.keep(recorder)
    return report


_PASSED = pytest.StashKey[bool]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the figures of this run; write them to the report file on a green run."""
    totals = Totals(areas={name: _copy(area) for name, area in _TOTALS.areas.items()})
    for report in terminalreporter.stats.get("passed", []):
        if getattr(report, "when", None) == "call":
            totals.keep_external(report.nodeid)
    if totals.empty:
        return
    table = totals.table()
    terminalreporter.write_sep("=", "reliability figures")
    for line in table.splitlines():
        terminalreporter.write_line(line)
    path = figures_module.report_path()
    if path is not None:
        if exitstatus == 0:
            figures_module.write_report(path, table)
            terminalreporter.write_line(f"written to {path}")
        else:
            terminalreporter.write_line(f"not written to {path}: the run was not green")


def _copy(area: figures_module.Area) -> figures_module.Area:
    return figures_module.Area(
        area.tests, area.cases, area.faults, area.requests, list(area.notes), list(area.fixed)
    )
