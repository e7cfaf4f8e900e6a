"""The reliability suite's figures: what each area tried, injected, sent and fixed.

Tests record through the ``figures`` fixture (``tests/reliability/conftest.py``)::

    figures.add(UPSTREAM, cases=1, faults=3)      # one scenario, three faults injected
    figures.add(LOAD, requests=4000)
    figures.note(LOAD, "4,000 GETs in 3.1 s, 0 errors")
    figures.fixed(AUTH, "HEAD /api/whatsapp-contacts ran a sync")

A test's records count only if the test passed, so every number in the table is
backed by a green run. Passing tests of the older fault and auth suites
(``EXTERNAL_SUITES``) count as one case each when the run includes them.

At the end of the run the table is printed; with ``WA_MANAGER_RELIABILITY_REPORT``
set to a Markdown file (``make reliability`` sets ``docs/reliability.md``) and a
green run, the table between the ``BEGIN``/``END`` markers of that file is
replaced by this run's.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from attrs import define, field

UPSTREAM = "UltraMsg faults"
PARSER = "Chat-list parser fuzzing"
DATABASE = "Database faults"
CONCURRENCY = "Concurrency"
HTTP_FUZZ = "HTTP fuzzing (schemathesis)"
AUTH = "Authorisation"
SECRETS = "Secrets"
LOAD = "Load"
SEVERAL_PROCESSES = "Several processes"
AREAS = (UPSTREAM, PARSER, DATABASE, CONCURRENCY, HTTP_FUZZ, AUTH, SECRETS, LOAD, SEVERAL_PROCESSES)

COLUMNS = ("cases", "faults", "requests")
REPORT_ENV = "WA_MANAGER_RELIABILITY_REPORT"
BEGIN = "<!-- BEGIN figures (written by `make reliability`; do not edit) -->"
END = "<!-- END figures -->"

# Older suites whose passing tests are fault, auth or parser cases too.
EXTERNAL_SUITES = {
    "tests/integration/test_ultramsg_client.py": UPSTREAM,
    "tests/unit/test_chat_parsing.py": PARSER,
    "tests/integration/test_http_auth.py": AUTH,
    "tests/integration/test_http_visibility.py": AUTH,
}


@define
class Area:
    """The totals of one area."""

    tests: int = 0
    cases: int = 0
    faults: int = 0
    requests: int = 0
    notes: list[str] = field(factory=list)
    fixed: list[str] = field(factory=list)


@define
class Recorder:
    """What one test recorded; kept only if that test passes."""

    counts: dict[str, dict[str, int]] = field(factory=lambda: defaultdict(lambda: defaultdict(int)))
    notes: list[tuple[str, str]] = field(factory=list)
    fixes: list[tuple[str, str]] = field(factory=list)
    areas: set[str] = field(factory=set)

    def add(self, area: str, *, cases: int = 0, faults: int = 0, requests: int = 0) -> None:
        """Count cases tried, faults injected and requests sent in ``area``."""
        assert area in AREAS, area
        self.areas.add(area)
        for name, value in zip(COLUMNS, (cases, faults, requests), strict=True):
            self.counts[area][name] += value

    def note(self, area: str, text: str) -> None:
        """A measured figure worth reporting in words (e.g. throughput)."""
        self.areas.add(area)
        self.notes.append((area, text))

    def fixed(self, area: str, failure: str) -> None:
        """This test guards a failure the suite found and that was fixed in ``src``."""
        self.areas.add(area)
        self.fixes.append((area, failure))


@define
class Totals:
    """The figures of the whole run."""

    areas: dict[str, Area] = field(factory=lambda: {name: Area() for name in AREAS})

    def keep(self, recorder: Recorder) -> None:
        """Add a passed test's records."""
        for area_name in recorder.areas:
            self.areas[area_name].tests += 1
        for area_name, counts in recorder.counts.items():
            area = self.areas[area_name]
            area.cases += counts["cases"]
            area.faults += counts["faults"]
            area.requests += counts["requests"]
        for area_name, text in recorder.notes:
            self.areas[area_name].notes.append(text)
        for area_name, text in recorder.fixes:
            self.areas[area_name].fixed.append(text)

    def keep_external(self, nodeid: str) -> bool:
        """Count a passed test of ``EXTERNAL_SUITES`` as one case; False if it is not one."""
        area_name = EXTERNAL_SUITES.get(nodeid.split("::", 1)[0])
        if area_name is None:
            return False
        self.areas[area_name].tests += 1
        self.areas[area_name].cases += 1
        return True

    @property
    def empty(self) -> bool:
        """True when no test recorded anything."""
        return not any(area.tests for area in self.areas.values())

    def table(self) -> str:
        """The Markdown table of the run, then the measured notes and the fixed failures."""
        lines = [
            "| area | tests passed | cases tried | faults injected | requests sent | "
            "failures found and fixed |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        total = Area()
        for name, area in self.areas.items():
            lines.append(
                f"| {name} | {area.tests:,} | {area.cases:,} | {area.faults:,} | "
                f"{area.requests:,} | {len(area.fixed)} |"
            )
            total.tests += area.tests
            total.cases += area.cases
            total.faults += area.faults
            total.requests += area.requests
            total.fixed += area.fixed
        lines.append(
            f"| **total** | {total.tests:,} | {total.cases:,} | {total.faults:,} | "
            f"{total.requests:,} | {len(total.fixed)} |"
        )
        notes = [(name, text) for name, area in self.areas.items() for text in area.notes]
        if notes:
            lines += ["", "Measured in this run:", ""]
            lines += [f"- {name}: {text}" for name, text in notes]
        if total.fixed:
            lines += ["", "Failures found by these tests and fixed (each test guards its fix):", ""]
            lines += [
                f"- {name}: {text}" for name, area in self.areas.items() for text in area.fixed
            ]
        return "\n".join(lines)


def write_report(path: Path, table: str) -> None:
    """Replace the figures between ``BEGIN`` and ``END`` in ``path`` (appended if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{BEGIN}\n\n{table}\n\n{END}"
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")


def report_path() -> Path | None:
    """Where to write the table, from ``WA_MANAGER_RELIABILITY_REPORT``; None: only print it."""
    value = os.environ.get(REPORT_ENV)
    return Path(value) if value else None
