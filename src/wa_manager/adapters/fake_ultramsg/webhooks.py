"""The fake UltraMsg's background work: webhooks posted later, on one thread.

``Timeline`` runs callables at their time on a single daemon thread, so a request
to the fake never waits for a webhook. ``WebhookPoster`` posts an event as JSON
to the configured URL and, like UltraMsg, tries again a few times when it does
not get a 2xx; every attempt's outcome is kept in ``log`` (the URL never is: it
holds the receiver's secret).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs
import httpx

POST_TIMEOUT_SECONDS = 10.0
RETRY_DELAYS = (1.0, 3.0, 10.0)
ANSWER_KEPT = 2000


class Timeline:
    """Runs each scheduled callable at its time, one after another, on one thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` ``delay`` seconds from now (on the timeline's thread)."""
        with self._changed:
            heapq.heappush(self._due, (self._clock() + max(delay, 0.0), next(self._order), action))
            self._changed.notify()

    def start(self) -> None:
        """Start the thread (a no-op when it runs)."""
        with self._changed:
            if self._thread is not None:
                return
            self._stopped = False
            self._thread = threading.Thread(
                target=self._run, name="fake-ultramsg-hooks", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread; whatever is still scheduled is dropped."""
        with self._changed:
            self._stopped = True
            self._due.clear()
            self._changed.notify()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def pending(self) -> int:
        """How many callables wait for their time."""
        with self._changed:
            return len(self._due)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopped and (not self._due or self._due[0][0] > self._clock()):
                    wait = self._due[0][0] - self._clock() if self._due else None
                    self._changed.wait(wait)
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._due)
            action()


@attrs.frozen
class Delivery:
    """One attempt to post a webhook: the event type, the attempt number, what came of
    it (the HTTP status, or the error's class name) and the start of the answer."""

    event_type: str
    attempt: int
    outcome: int | str
    payload: dict[str, Any] = attrs.field(eq=False, repr=False)
    answer: str = attrs.field(default="", eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the receiver answered with a 2xx."""
        return isinstance(self.outcome, int) and 200 <= self.outcome < 300


class WebhookPoster:
    """Posts events to ``url`` on a ``Timeline``, retrying like UltraMsg."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.url: str | None = None
        self.log: list[Delivery] = []
        self._lock = threading.Lock()

    def post_later(self, delay: float, payload: dict[str, Any]) -> None:
        """Post ``payload`` in ``delay`` seconds (nothing when no URL is set by then)."""
        self.timeline.call_later(delay, lambda: self._attempt(payload, 1))

    def delivered(self, event_type: str | None = None) -> list[Delivery]:
        """The attempts that got a 2xx (of one event type, or all)."""
        with self._lock:
            return [
                delivery
                for delivery in self.log
                if delivery.ok and event_type in (None, delivery.event_type)
            ]

    def attempts(self) -> list[Delivery]:
        """Every attempt so far, refused ones included."""
        with self._lock:
            return list(self.log)

    def _attempt(self, payload: dict[str, Any], attempt: int) -> None:
        url = self.url
        if url is None:
            return
        outcome: int | str
        answer = ""
        try:
            response = httpx.post(url, json=payload, timeout=POST_TIMEOUT_SECONDS)
            outcome, answer = response.status_code, response.text[:ANSWER_KEPT]
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        delivery = Delivery(str(payload.get("event_type")), attempt, outcome, payload, answer)
        with self._lock:
            self.log.append(delivery)
        if not delivery.ok and attempt <= len(RETRY_DELAYS):
            self.timeline.call_later(
                RETRY_DELAYS[attempt - 1], lambda: self._attempt(payload, attempt + 1)
            )
