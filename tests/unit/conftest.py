"""Unit test settings: hypothesis without per-example deadlines.

The suite runs on small shared machines (2 cores, other jobs running); a
per-example time limit there fails tests for the machine's load, not for a bug.
Nothing here is timed: slowness shows in the suite's total, not as a failure.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("wa-manager-unit", deadline=None)
settings.load_profile("wa-manager-unit")
