"""Unit test settings: hypothesis without per-example deadlines.

The suite runs on small shared machines (2 cores, other jobs running); a
per-example time limit there fails tests for the machine's load, not for a bug.
Nothing here is timed: slowness shows in the suite's total, not as a failure.
The ``clock``, ``store`` and ``app`` fixtures are the usual memory app.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from wa_manager.bootstrap import App
from wa_manager.testing import FixedClock, InMemoryStore, memory_app

settings.register_profile("wa-manager-unit", deadline=None)
settings.load_profile("wa-manager-unit")


@pytest.fixture
def clock() -> FixedClock:
    """A clock that stands still until told to move."""
    return FixedClock()


@pytest.fixture
def store() -> InMemoryStore:
    """An empty memory store."""
    return InMemoryStore()


@pytest.fixture
def app(store: InMemoryStore, clock: FixedClock) -> App:
    """An app on ``store`` and ``clock`` (modules may define their own ``app``)."""
    return memory_app(store=store, clock=clock)
