"""A sync under UltraMsg faults: a correct sync, or a clear error and nothing written.

Every fault of the issue is injected into a whole sync (client, service, SQLite
store), after a first good sync filled the database: the outcome is either the
right report, or one clear ``UpstreamError`` line, no changed row, a recorded
failed run, and retries bounded in count and in (simulated) total time. Faults
come from respx (exact failure modes) and from the fake UltraMsg server on real
sockets (refused connections, stalls, bursts), plus a hypothesis model of retry
sequences. Nothing waits for real backoff: the clients sleep on a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import fresh_sqlite_url
from tests.reliability.figures import UPSTREAM, Recorder
from tests.reliability.support import (
    INSTANCE,
    TOKEN,
    FakeTime,
    chats_json,
    last_sync_error,
    snapshot,
    sql_app,
    ultramsg_client,
)
from tests.serving import free_loopback_port
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg
from wa_manager.bootstrap import App
from wa_manager.domain.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from wa_manager.domain.model import LIBRARY
from wa_manager.testing import memory_app

BASE = "https://ultramsg.test"
CHATS_URL = f"{BASE}/{INSTANCE}/chats"
MAX_ATTEMPTS = 4
BUDGET_SECONDS = 60.0
FIRST_SYNC = chats_json(20)
SECOND_SYNC = chats_json(25, name=lambda number: f"Renamed {number}")

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def app(tmp_path: Path, fake_time: FakeTime, mock: respx.MockRouter) -> Iterator[App]:
    """A SQLite app on the mocked UltraMsg, after one good sync of 20 chats."""
    client = ultramsg_client(BASE, fake_time)
    app = sql_app(fresh_sqlite_url(tmp_path), client)
    mock.get(CHATS_URL).mock(return_value=httpx.Response(200, content=FIRST_SYNC))
    assert app.sync().created_contacts == 20
    fake_time.sleeps.clear()
    mock.reset()  # call counts start from zero for the test
    try:
        yield app
    finally:
        app.close()


def assert_clean_failure(app: App, error: UpstreamError, before: dict[str, Any]) -> None:
    """One line, no token, nothing written, the failed run recorded."""
    message = str(error)
    assert "\n" not in message
    assert TOKEN not in message
    assert TOKEN not in repr(error.__cause__)
    assert TOKEN not in repr(error.__context__)
    assert snapshot(app) == before
    assert last_sync_error(app) == message


def transient(kind: str, request: httpx.Request) -> httpx.Response:
    """One transient fault (as an answer, or raised like httpx would)."""
    if kind == "refused":
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    if kind == "dns":
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)
    if kind == "stall":
        raise httpx.ReadTimeout("timed out", request=request)
    if kind == "reset":
        raise httpx.RemoteProtocolError("Server disconnected without response", request=request)
    status, _, retry_after = kind.partition(":")
    headers = {"Retry-After": retry_after} if retry_after else {}
    return httpx.Response(int(status), headers=headers, content=b"<html>busy</html>")


def answers(*steps: str | httpx.Response) -> Any:
    """A respx side effect that plays ``steps`` in order, the last one for ever."""
    played = list(steps)

    def play(request: httpx.Request) -> httpx.Response:
        step = played.pop(0) if len(played) > 1 else played[0]
        return transient(step, request) if isinstance(step, str) else step

    return play


GOOD = httpx.Response(200, content=SECOND_SYNC)

RECOVERING = {
    "a refused connection, then an answer": ["refused", GOOD],
    "a DNS failure, then an answer": ["dns", GOOD],
    "a stall past the timeout, then an answer": ["stall", GOOD],
    "a dropped connection, then an answer": ["reset", GOOD],
    "429 with Retry-After, then an answer": ["429:3", GOOD],
    "429 without Retry-After twice, then an answer": ["429", "429", GOOD],
    "500, 502, 503, then an answer": ["500", "502", "503", GOOD],
    "503 with Retry-After, then an answer": ["503:1", GOOD],
}


@pytest.mark.parametrize("steps", list(RECOVERING.values()), ids=list(RECOVERING))
def test_transient_faults_then_recovery_give_a_correct_sync(
    app: App, mock: respx.MockRouter, fake_time: FakeTime, figures: Recorder, steps: list[Any]
) -> None:
    route = mock.get(CHATS_URL).mock(side_effect=answers(*steps))
    report = app.sync()
    assert (report.fetched, report.created_contacts, report.updated_contacts) == (25, 5, 20)
    assert route.call_count == len(steps)
    assert fake_time.elapsed <= BUDGET_SECONDS
    assert last_sync_error(app) is None
    figures.add(UPSTREAM, cases=1, faults=len(steps) - 1)


PERSISTENT = {
    "connection refused": "refused",
    "DNS failure": "dns",
    "stall past the timeout": "stall",
    "500 burst": "500",
    "502 burst": "502",
    "503 burst": "503",
    "429 without Retry-After": "429",
    "429 with a short Retry-After": "429:5",
}


@pytest.mark.parametrize("fault", list(PERSISTENT.values()), ids=list(PERSISTENT))
def test_persistent_transient_faults_fail_cleanly_within_bounds(
    app: App, mock: respx.MockRouter, fake_time: FakeTime, figures: Recorder, fault: str
) -> None:
    before = snapshot(app)
    route = mock.get(CHATS_URL).mock(side_effect=answers(fault))
    with pytest.raises(UpstreamUnavailable) as raised:
        app.sync()
    assert route.call_count == MAX_ATTEMPTS
    assert len(fake_time.sleeps) == MAX_ATTEMPTS - 1
    assert fake_time.elapsed <= BUDGET_SECONDS
    assert "try again" in str(raised.value) or "check the network" in str(raised.value)
    assert_clean_failure(app, raised.value, before)
    figures.add(UPSTREAM, cases=1, faults=route.call_count)


def test_a_retry_after_beyond_the_budget_fails_at_once(
    app: App, mock: respx.MockRouter, fake_time: FakeTime, figures: Recorder
) -> None:
    before = snapshot(app)
    route = mock.get(CHATS_URL).mock(side_effect=answers("429:3600"))
    with pytest.raises(UpstreamUnavailable) as raised:
        app.sync()
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert_clean_failure(app, raised.value, before)
    figures.add(UPSTREAM, cases=1, faults=1)


FIFTY_MB = 50 * 1024 * 1024


def big_string() -> bytes:
    return b'"' + b"x" * FIFTY_MB + b'"'


CHAT_ITEM = b'{"id": "4915100000000@c.us", "name": "Person 0", "unread": 0},'


def big_items() -> bytes:
    """At least 50 MB of chat objects, each followed by a comma."""
    return CHAT_ITEM * (FIFTY_MB // len(CHAT_ITEM) + 1)


def big_truncated_array() -> bytes:
    return b"[" + big_items()


def big_object() -> bytes:
    return b'{"chats": [' + big_items() + b'{"id": "1@c.us"}]}'


GARBAGE = {
    "truncated JSON": (lambda: SECOND_SYNC[:-40], UpstreamBadResponse, "cut off"),
    "invalid JSON": (lambda: b"<html>Bad Gateway</html>", UpstreamBadResponse, "not JSON"),
    "an empty body": (lambda: b"", UpstreamBadResponse, "empty body"),
    "an object instead of an array": (
        lambda: json.dumps({"chats": json.loads(SECOND_SYNC)}).encode(),
        UpstreamBadResponse,
        "a JSON object",
    ),
    "a string instead of an array": (
        lambda: b'"4915100000001@c.us"',
        UpstreamBadResponse,
        "a JSON string",
    ),
    "a number instead of an array": (lambda: b"42", UpstreamBadResponse, "a JSON number"),
    "null instead of an array": (lambda: b"null", UpstreamBadResponse, "JSON null"),
    "an UltraMsg error body with HTTP 200": (
        lambda: b'{"error": "Wrong token. Please provide token as a GET parameter."}',
        UpstreamRejected,
        "ULTRAMSG_TOKEN",
    ),
    "a 50 MB string": (big_string, UpstreamBadResponse, "a JSON string"),
}
SLOW_GARBAGE = {
    "a 50 MB array cut off": (big_truncated_array, UpstreamBadResponse, "cut off"),
    "a 50 MB object": (big_object, UpstreamBadResponse, "a JSON object"),
}


@pytest.mark.parametrize(
    ("body", "error_type", "words"),
    [
        *(pytest.param(*case, id=name) for name, case in GARBAGE.items()),
        *(
            pytest.param(*case, id=name, marks=pytest.mark.slow)
            for name, case in SLOW_GARBAGE.items()
        ),
    ],
)
def test_garbage_answers_are_clear_errors_and_write_nothing(
    app: App,
    mock: respx.MockRouter,
    fake_time: FakeTime,
    figures: Recorder,
    body: Any,
    error_type: type[UpstreamError],
    words: str,
) -> None:
    before = snapshot(app)
    route = mock.get(CHATS_URL).mock(return_value=httpx.Response(200, content=body()))
    with pytest.raises(UpstreamError) as raised:
        app.sync()
    assert type(raised.value) is error_type
    assert words in str(raised.value)
    assert route.call_count == 1, "garbage is not retried"
    assert_clean_failure(app, raised.value, before)
    figures.add(UPSTREAM, cases=1, faults=1)


WRONG_ITEMS: list[Any] = [
    1, -1.5, "4915100000001@c.us", None, True, False, [], ["4915100000002@c.us"], {},
    {"id": 4915100000003}, {"id": None}, {"id": True}, {"id": ["a@c.us"]}, {"id": {"x": 1}},
    {"id": ""}, {"id": "   "}, {"name": "no id"}, {"id": "status@broadcast"},
    {"id": "0@c.us"}, {"id": "123@newsletter"},
]  # fmt: skip
WRONG_NAMES: list[Any] = [5, 1.5, True, [], {}, ["Anna"], {"first": "Anna"}]


def test_items_of_every_wrong_type_are_skipped_and_the_rest_synced(
    app: App, mock: respx.MockRouter, figures: Recorder
) -> None:
    good = json.loads(SECOND_SYNC)
    odd_names = [
        {"id": f"4915199{index:06d}@c.us", "name": name} for index, name in enumerate(WRONG_NAMES)
    ]
    items = [*WRONG_ITEMS, *good, *odd_names]
    mock.get(CHATS_URL).mock(return_value=httpx.Response(200, content=json.dumps(items).encode()))
    report = app.sync()
    assert report.fetched == len(items)
    assert report.skipped == len(WRONG_ITEMS)
    assert report.created_contacts == 5 + len(WRONG_NAMES)
    nameless = list(app.contacts.page(LIBRARY, search="4915199", limit=200).items)
    assert len(nameless) == len(WRONG_NAMES)
    assert all(contact.name is None for contact in nameless)
    figures.add(UPSTREAM, cases=1, faults=len(WRONG_ITEMS) + len(WRONG_NAMES))


# -- the same faults on real sockets: the fake UltraMsg server ----------------------------


@pytest.fixture
def fake() -> Iterator[FakeUltraMsg]:
    chats = json.loads(FIRST_SYNC)
    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=chats) as server:
        yield server


@pytest.fixture
def served(tmp_path: Path, fake: FakeUltraMsg, fake_time: FakeTime) -> Iterator[App]:
    """A SQLite app on the fake server (1 s timeout), after one good sync."""
    client = ultramsg_client(fake.base_url, fake_time, timeout=1.0)
    app = sql_app(fresh_sqlite_url(tmp_path), client)
    assert app.sync().created_contacts == 20
    fake.chats = json.loads(SECOND_SYNC)
    fake_time.sleeps.clear()
    try:
        yield app
    finally:
        app.close()


@pytest.mark.parametrize(
    "base_url",
    [f"http://127.0.0.1:{free_loopback_port()}", "http://ultramsg-unknown-host.invalid"],
    ids=["connection refused", "DNS failure"],
)
def test_unreachable_ultramsg_on_real_sockets(
    tmp_path: Path, fake_time: FakeTime, figures: Recorder, base_url: str
) -> None:
    app = sql_app(fresh_sqlite_url(tmp_path), ultramsg_client(base_url, fake_time))
    try:
        before = snapshot(app)
        with pytest.raises(UpstreamUnavailable) as raised:
            app.sync()
        assert "could not reach UltraMsg" in str(raised.value)
        assert "4 attempts" in str(raised.value)
        assert_clean_failure(app, raised.value, before)
    finally:
        app.close()
    figures.add(UPSTREAM, cases=1, faults=MAX_ATTEMPTS)


def test_a_server_that_stalls_past_the_timeout(
    served: App, fake: FakeUltraMsg, figures: Recorder
) -> None:
    before = snapshot(served)
    fake.delay(30.0)  # far past the client's 1 s timeout; stop() lets it go
    with pytest.raises(UpstreamUnavailable) as raised:
        served.sync()
    assert "timed out" in str(raised.value)
    assert fake.requests == 1 + MAX_ATTEMPTS
    assert_clean_failure(served, raised.value, before)
    fake.delay(0.0)
    assert served.sync().fetched == 25, "the next sync, with UltraMsg back, succeeds"
    figures.add(UPSTREAM, cases=2, faults=MAX_ATTEMPTS)


def test_a_stall_once_then_recovery(served: App, fake: FakeUltraMsg, figures: Recorder) -> None:
    fake.delay(30.0, times=1)
    report = served.sync()
    assert (report.fetched, report.updated_contacts) == (25, 20)
    figures.add(UPSTREAM, cases=1, faults=1)


@pytest.mark.parametrize(
    ("status", "times", "retry_after"),
    [(500, 3, None), (502, 2, None), (503, 3, 2.0), (429, 3, 1.0), (429, 2, None)],
)
def test_bursts_then_recovery_on_real_sockets(
    served: App,
    fake: FakeUltraMsg,
    fake_time: FakeTime,
    figures: Recorder,
    status: int,
    times: int,
    retry_after: float | None,
) -> None:
    fake.fail(status, times=times, retry_after=retry_after)
    report = served.sync()
    assert (report.fetched, report.created_contacts) == (25, 5)
    if retry_after is not None:
        assert fake_time.sleeps == [retry_after] * times
    assert fake_time.elapsed <= BUDGET_SECONDS
    figures.add(UPSTREAM, cases=1, faults=times)


def test_a_long_burst_fails_cleanly_then_the_next_sync_works(
    served: App, fake: FakeUltraMsg, figures: Recorder
) -> None:
    before = snapshot(served)
    fake.fail(503, times=MAX_ATTEMPTS)
    with pytest.raises(UpstreamUnavailable) as raised:
        served.sync()
    assert "HTTP 503" in str(raised.value)
    assert_clean_failure(served, raised.value, before)
    assert served.sync().created_contacts == 5
    figures.add(UPSTREAM, cases=2, faults=MAX_ATTEMPTS)


@pytest.mark.parametrize(
    "body",
    [b'[{"id": "4915100000001@c.us", "na', b'{"chats": []}', b'"chats"', b"\x00\xff garbage"],
    ids=["truncated", "object", "string", "binary"],
)
def test_garbage_on_real_sockets(
    served: App, fake: FakeUltraMsg, figures: Recorder, body: bytes
) -> None:
    before = snapshot(served)
    fake.set_body(body)
    with pytest.raises(UpstreamBadResponse) as raised:
        served.sync()
    assert_clean_failure(served, raised.value, before)
    figures.add(UPSTREAM, cases=1, faults=1)


# -- a model of retries: any sequence of answers ------------------------------------------

TRANSIENT = ["refused", "dns", "stall", "reset", "500", "502", "503", "429", "429:2", "503:4"]
FINAL = {
    "good": None,
    "truncated": UpstreamBadResponse,
    "object": UpstreamBadResponse,
    "error body": UpstreamRejected,
    "401": UpstreamRejected,
    "404": UpstreamRejected,
    "500 wrong token": UpstreamRejected,
}


def final_answer(kind: str) -> httpx.Response:
    if kind == "good":
        return httpx.Response(200, content=chats_json(3))
    if kind == "truncated":
        return httpx.Response(200, content=chats_json(3)[:-5])
    if kind == "object":
        return httpx.Response(200, content=b'{"chats": []}')
    if kind == "error body":
        return httpx.Response(200, content=b'{"error": "Instance not found"}')
    if kind == "500 wrong token":
        return httpx.Response(500, content=b'{"error": "Wrong token"}')
    return httpx.Response(int(kind), content=b"no")


sequences = st.tuples(
    st.lists(st.sampled_from(TRANSIENT), max_size=6), st.sampled_from(sorted(FINAL))
)


def check_sequences(figures: Recorder, examples: int) -> None:
    """Up to 6 transient faults then a final answer: the outcome is exactly the model's.

    Model: the first non-transient answer within ``MAX_ATTEMPTS`` decides (a
    report for good chats, its error otherwise); ``MAX_ATTEMPTS`` transient
    faults in a row are ``UpstreamUnavailable``. On any error nothing is written.
    """

    @settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(sequences)
    def check(sequence: tuple[list[str], str]) -> None:
        faults, final = sequence
        fake_time = FakeTime()
        app = memory_app(ultramsg_client(BASE, fake_time), instance_id=INSTANCE)
        with respx.mock(assert_all_called=False) as router:
            route = router.get(CHATS_URL).mock(side_effect=answers(*faults, final_answer(final)))
            outcome = outcome_of(app)
        if len(faults) >= MAX_ATTEMPTS:
            assert outcome is UpstreamUnavailable
            assert route.call_count == MAX_ATTEMPTS
        else:
            assert outcome is FINAL[final]
            assert route.call_count == len(faults) + 1
        contacts = app.contacts.page(LIBRARY).items
        assert len(contacts) == (3 if outcome is None else 0)
        assert fake_time.elapsed <= BUDGET_SECONDS
        figures.add(UPSTREAM, cases=1, faults=min(len(faults), MAX_ATTEMPTS))

    check()


def outcome_of(app: App) -> type[UpstreamError] | None:
    """None when the sync succeeded, else the type of its (token-free) error."""
    try:
        app.sync()
    except UpstreamError as error:
        message = str(error)
        kind = type(error)
    else:
        return None
    assert TOKEN not in message
    return kind


def test_any_sequence_of_answers_gives_the_modelled_outcome(figures: Recorder) -> None:
    check_sequences(figures, examples=30)


@pytest.mark.slow
def test_many_sequences_of_answers_give_the_modelled_outcome(figures: Recorder) -> None:
    check_sequences(figures, examples=600)


@pytest.mark.slow
def test_a_50_mb_answer_of_real_chats_syncs(
    app: App, mock: respx.MockRouter, figures: Recorder
) -> None:
    """A valid 50 MB chat list (800,000 chats) is a correct sync, not an error."""
    count = 800_000
    chats = chats_json(count)
    assert len(chats) >= FIFTY_MB
    mock.get(CHATS_URL).mock(return_value=httpx.Response(200, content=chats))
    report = app.sync()
    assert report.fetched == count
    assert report.created_contacts == count - 20
    figures.add(UPSTREAM, cases=1)
    figures.note(
        UPSTREAM, f"a {len(chats) / 2**20:.0f} MB chat list synced ({report.fetched:,} chats)"
    )
