"""Scheduled sync: ``wa-manager serve --sync-every 15m`` runs syncs in the background.

One ``SyncScheduler`` owns one thread that runs a sync, waits, and runs the next:
syncs never overlap (one thread, and the sync lock against everyone else). A
failed sync (UltraMsg down, database busy, another sync running) is retried
after an exponential backoff that starts at ``initial_backoff`` and never exceeds
the interval; a success goes back to the interval. ``state()`` says what it is
doing, for the Contact Links page and ``GET /api/sync-schedule``.

Several server processes on one database each run a scheduler; ``claim_turn``
makes them take turns (``Syncs.scheduler``: a lease row in the database), so that
there is one scheduled sync per interval in all. A process whose turn it is not
skips the sync without counting a failure and looks again when the current turn
ends; a process that dies holding the turn loses it when the interval is over.

Time is injected: ``clock`` for the timestamps it shows and ``wait(seconds)`` for
the pauses (it returns True when the scheduler was stopped meanwhile), so tests
drive it step by step with a fake clock and no real sleeping.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from attrs import frozen

from wa_manager.domain.errors import WaManagerError
from wa_manager.domain.model import SyncReport
from wa_manager.domain.ports import Clock, UnitOfWorkFactory

logger = logging.getLogger("wa_manager.scheduler")

DEFAULT_INITIAL_BACKOFF = 30.0
# A process that lost the turn looks again this long after the turn ends, so that the
# holder (waking at the same moment) takes the next one rather than racing for it.
TURN_SLACK_SECONDS = 1.0


def turns_from_lease(
    store: UnitOfWorkFactory,
    clock: Clock,
    name: str,
    interval: float,
    *,
    holder: str | None = None,
) -> Callable[[], float | None]:
    """A ``claim_turn`` for ``SyncScheduler``: the lease ``name`` in the store, one turn
    per ``interval`` among every process. It answers None when this process has the
    turn, else the seconds until it should look again. ``holder`` names this process
    (default: host, process id and a random part)."""
    me = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    def claim_turn() -> float | None:
        now = clock()
        with store() as uow:
            began = uow.leases.claim(name, me, now, interval)
            uow.commit()
        if began is None:
            return None
        ends = began + timedelta(seconds=interval)
        return max(1.0, (ends - now).total_seconds()) + TURN_SLACK_SECONDS

    return claim_turn


@frozen
class SchedulerState:
    """A snapshot of the scheduler: what it did last and when it runs next."""

    interval_seconds: float
    active: bool
    running: bool
    next_run_at: datetime | None
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    last_report: SyncReport | None


def backoff_delay(failures: int, *, initial: float, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: initial, 2x, 4x ... at most ``cap``."""
    if failures <= 0:
        return cap
    return min(cap, initial * 2.0 ** min(failures - 1, 32))


class SyncScheduler:
    """Runs ``run_sync`` every ``interval`` seconds in a background thread, one at a time."""

    def __init__(
        self,
        run_sync: Callable[[], SyncReport],
        interval: float,
        *,
        clock: Clock,
        initial_backoff: float = DEFAULT_INITIAL_BACKOFF,
        wait: Callable[[float], bool] | None = None,
        claim_turn: Callable[[], float | None] | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError("the sync interval must be positive")
        self.interval = interval
        self.initial_backoff = min(initial_backoff, interval)
        self._run_sync = run_sync
        self._claim_turn = claim_turn
        self._clock = clock
        self._stopped = threading.Event()
        self._wait = wait if wait is not None else self._stopped.wait
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self._next_run_at: datetime | None = None
        self._last_started_at: datetime | None = None
        self._last_finished_at: datetime | None = None
        self._last_error: str | None = None
        self._last_report: SyncReport | None = None
        self._failures = 0

    def state(self) -> SchedulerState:
        """What the scheduler is doing now."""
        with self._lock:
            return SchedulerState(
                interval_seconds=self.interval,
                active=self._thread is not None and self._thread.is_alive(),
                running=self._running,
                next_run_at=self._next_run_at,
                last_started_at=self._last_started_at,
                last_finished_at=self._last_finished_at,
                last_error=self._last_error,
                consecutive_failures=self._failures,
                last_report=self._last_report,
            )

    def run_once(self) -> float:
        """Run one sync now, note its outcome, and return the seconds until the next one.

        Never raises for a failed sync: the failure is kept in ``last_error`` and
        the next attempt comes after the backoff. When another process has the turn
        (``claim_turn`` says how long it lasts), nothing runs and nothing is recorded
        but when to look again.
        """
        if self._claim_turn is not None:
            try:
                busy_for = self._claim_turn()
            except WaManagerError as failure:  # the database is down: as a failed sync
                logger.warning("scheduled sync: cannot take a turn: %s", failure)
                return self._note_outcome(None, str(failure), started=False)
            if busy_for is not None:
                with self._lock:
                    self._next_run_at = self._clock() + timedelta(seconds=busy_for)
                return busy_for
        with self._lock:
            self._running = True
            self._last_started_at = self._clock()
        report: SyncReport | None = None
        error: str | None = None
        try:
            report = self._run_sync()
        except WaManagerError as failure:
            error = str(failure)
            logger.warning("scheduled sync failed: %s", error)
        except Exception as failure:  # the thread must survive whatever a sync raises
            error = f"unexpected {type(failure).__name__}; see the server log"
            logger.error("scheduled sync failed with an unexpected %s", type(failure).__name__)
        return self._note_outcome(report, error)

    def _note_outcome(
        self, report: SyncReport | None, error: str | None, *, started: bool = True
    ) -> float:
        """Keep the outcome of an attempt; the seconds until the next."""
        with self._lock:
            self._running = False
            finished = self._clock()
            if started:
                self._last_finished_at = finished
            self._last_error = error
            if report is not None:
                self._last_report = report
                self._failures = 0
            else:
                self._failures += 1
            delay = backoff_delay(self._failures, initial=self.initial_backoff, cap=self.interval)
            self._next_run_at = finished + timedelta(seconds=delay)
        return delay

    def run_until_stopped(self) -> None:
        """Sync, wait, sync ... until ``stop()``; the body of the background thread."""
        while not self._stopped.is_set():
            delay = self.run_once()
            if self._wait(delay) or self._stopped.is_set():
                break
        with self._lock:
            self._next_run_at = None

    def start(self) -> None:
        """Start the background thread (the first sync runs at once); no-op when started."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopped.clear()
            self._next_run_at = self._clock()
            self._thread = threading.Thread(
                target=self.run_until_stopped, name="wa-manager-sync-scheduler", daemon=True
            )
            self._thread.start()
        logger.info("scheduled sync every %g seconds", self.interval)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (a running sync is allowed to finish)."""
        self._stopped.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
