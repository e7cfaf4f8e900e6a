"""The background sync scheduler, driven step by step with a fake clock (no real sleeping)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_manager.config import Settings, parse_duration
from wa_manager.domain.errors import ConfigError, SyncAlreadyRunning, UpstreamUnavailable
from wa_manager.domain.model import SyncReport
from wa_manager.entrypoints.shapes import SyncSchedule
from wa_manager.services.scheduler import SyncScheduler, backoff_delay

START = datetime(2024, 11, 24, 12, 0, tzinfo=UTC)
FIFTEEN_MINUTES = 900.0


class FakeTime:
    """A clock that moves only when the scheduler waits."""

    def __init__(self) -> None:
        self.now = START
        self.waits: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def waiter(self, stop_after: int) -> Callable[[float], bool]:
        """A ``wait`` that advances the clock and reports "stopped" after ``stop_after`` waits."""

        def wait(seconds: float) -> bool:
            self.waits.append(seconds)
            self.now += timedelta(seconds=seconds)
            return len(self.waits) >= stop_after

        return wait


def report(fetched: int = 3) -> SyncReport:
    return SyncReport(
        instance_id="instance1",
        fetched=fetched,
        created_contacts=0,
        created_conversations=0,
        updated_contacts=0,
        skipped=0,
        duration_ms=5,
    )


class ScriptedSync:
    """A sync that follows a script of results and errors, and records when it ran."""

    def __init__(self, time: FakeTime, script: Sequence[SyncReport | Exception]) -> None:
        self.time = time
        self.script = list(script)
        self.ran_at: list[datetime] = []

    def __call__(self) -> SyncReport:
        self.ran_at.append(self.time.now)
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_syncs_every_interval_until_stopped() -> None:
    time = FakeTime()
    sync = ScriptedSync(time, [report(1), report(2), report(3)])
    scheduler = SyncScheduler(
        sync, FIFTEEN_MINUTES, clock=time.clock, wait=time.waiter(stop_after=3)
    )

    scheduler.run_until_stopped()

    assert sync.ran_at == [START + timedelta(minutes=15 * i) for i in range(3)]
    state = scheduler.state()
    assert state.last_report == report(3)
    assert state.last_error is None
    assert state.running is False
    assert state.next_run_at is None  # stopped: nothing planned


def test_failures_back_off_exponentially_up_to_the_interval_then_recover() -> None:
    time = FakeTime()
    down = UpstreamUnavailable("UltraMsg could not be reached")
    sync = ScriptedSync(time, [down] * 7 + [report()])
    scheduler = SyncScheduler(
        sync, FIFTEEN_MINUTES, clock=time.clock, initial_backoff=30, wait=time.waiter(8)
    )

    scheduler.run_until_stopped()

    assert time.waits == [30, 60, 120, 240, 480, 900, 900, 900]
    assert len(sync.ran_at) == 8  # it survived seven failures and synced again
    assert scheduler.state().consecutive_failures == 0
    assert scheduler.state().last_error is None


def test_state_shows_the_last_error_and_when_it_tries_again() -> None:
    time = FakeTime()
    sync = ScriptedSync(time, [SyncAlreadyRunning("a sync is already running")])
    scheduler = SyncScheduler(sync, FIFTEEN_MINUTES, clock=time.clock, initial_backoff=60)

    delay = scheduler.run_once()

    state = scheduler.state()
    assert delay == 60
    assert state.last_error == "a sync is already running"
    assert state.consecutive_failures == 1
    assert state.last_started_at == START
    assert state.next_run_at == START + timedelta(seconds=60)
    assert SyncSchedule.of(state).as_json()["next_run_at"] == "2024-11-24T12:01:00+00:00"


def test_an_unexpected_exception_does_not_kill_the_scheduler() -> None:
    time = FakeTime()
    sync = ScriptedSync(time, [RuntimeError("token=abc leaked?"), report()])
    scheduler = SyncScheduler(sync, FIFTEEN_MINUTES, clock=time.clock, wait=time.waiter(2))

    scheduler.run_until_stopped()

    assert len(sync.ran_at) == 2
    assert scheduler.state().last_report == report()


def test_unexpected_errors_are_shown_without_their_message() -> None:
    time = FakeTime()
    sync = ScriptedSync(time, [RuntimeError("https://x/chats?token=abc")])
    scheduler = SyncScheduler(sync, FIFTEEN_MINUTES, clock=time.clock)

    scheduler.run_once()

    error = scheduler.state().last_error
    assert error is not None
    assert "RuntimeError" in error
    assert "abc" not in error


def test_start_runs_a_sync_at_once_in_the_background_and_stop_ends_the_wait() -> None:
    time = FakeTime()
    synced = threading.Event()

    def sync() -> SyncReport:
        synced.set()
        return report()

    scheduler = SyncScheduler(sync, FIFTEEN_MINUTES, clock=time.clock)
    scheduler.start()
    assert synced.wait(timeout=30)
    assert scheduler.state().active is True

    scheduler.stop(timeout=30)  # would hang for 15 minutes if stop did not end the wait

    assert scheduler.state().active is False
    assert scheduler.state().last_report == report()


@given(st.integers(min_value=1, max_value=200))
def test_backoff_never_exceeds_the_interval_and_never_shrinks(failures: int) -> None:
    delay = backoff_delay(failures, initial=30, cap=FIFTEEN_MINUTES)
    assert 30 <= delay <= FIFTEEN_MINUTES
    assert backoff_delay(failures + 1, initial=30, cap=FIFTEEN_MINUTES) >= delay


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("600", 600)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15x", "1.5h", "-5m", "15 m m", "h1"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_duration_parts_add_up(hours: int, minutes: int, seconds: int) -> None:
    assert parse_duration(f"{hours}h{minutes}m{seconds}s") == hours * 3600 + minutes * 60 + seconds


def test_sync_every_comes_from_the_environment() -> None:
    settings = Settings.from_env({"WA_MANAGER_SYNC_EVERY": "15m"})
    assert settings.sync_every_seconds == FIFTEEN_MINUTES
    assert Settings.from_env({}).sync_every_seconds is None


@pytest.mark.parametrize("raw", ["soon", "5s"])
def test_a_bad_or_too_short_sync_every_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="WA_MANAGER_SYNC_EVERY"):
        Settings.from_env({"WA_MANAGER_SYNC_EVERY": raw})


# -- several processes on one store take turns -------------------------------------------


def test_schedulers_of_several_processes_sync_once_per_interval_in_all() -> None:
    """Three processes' schedulers on one store: one sync per interval overall, and
    those whose turn it was not record no failure."""
    from wa_manager.domain.model import LIBRARY
    from wa_manager.testing import InMemoryStore, memory_app

    time = FakeTime()
    store = InMemoryStore()
    apps = [memory_app([], store=store, clock=time.clock) for _ in range(3)]
    schedulers = [app.syncs.scheduler(60.0, holder=f"p{n}") for n, app in enumerate(apps)]
    due = [START + timedelta(seconds=7 * n) for n in range(3)]  # started a little apart
    while time.now < START + timedelta(minutes=10):
        for n, scheduler in enumerate(schedulers):
            if due[n] <= time.now:
                due[n] = time.now + timedelta(seconds=scheduler.run_once())
        time.now += timedelta(seconds=1)
    runs = apps[0].syncs.history(LIBRARY, limit=50).items
    started = sorted(run.started_at for run in runs)
    assert 9 <= len(started) <= 10
    assert all(b - a >= timedelta(seconds=60) for a, b in itertools.pairwise(started))
    for scheduler in schedulers:
        state = scheduler.state()
        assert (state.last_error, state.consecutive_failures) == (None, 0)


def test_a_process_that_lost_the_turn_looks_again_when_it_ends() -> None:
    from wa_manager.testing import InMemoryStore, memory_app

    time = FakeTime()
    store = InMemoryStore()
    first, second = (
        memory_app([], store=store, clock=time.clock).syncs.scheduler(60.0, holder=name)
        for name in ("a", "b")
    )
    assert first.run_once() == 60.0
    time.now += timedelta(seconds=15)
    assert second.run_once() == 46.0  # the 45 s left of a's turn, and a second of slack
    assert second.state().last_started_at is None
    time.now += timedelta(seconds=46)
    second.run_once()
    assert second.state().last_started_at == time.now
