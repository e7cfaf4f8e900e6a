"""UltraMsgClient against respx: answers, every UltraMsg error form, retries, and the token.

The token is a recognisable string; every test that makes the client fail checks
it appears in no message, repr, chained exception or captured log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from wa_manager.adapters.ultramsg import UltraMsgClient
from wa_manager.config import Secret
from wa_manager.domain.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from wa_manager.domain.model import RawChat

TOKEN = "tok-SECRET-4f1c9e"
BASE = "https://api.ultramsg.com"
INSTANCE = "instance12345"
CHATS_URL = f"{BASE}/{INSTANCE}/chats"
STATUS_URL = f"{BASE}/{INSTANCE}/instance/status"
STOPPED = "Your instance has been Stopped due to non-payment, please renew your subscription."


class FakeTime:
    """A clock that moves only when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(fake_time: FakeTime) -> UltraMsgClient:
    return make_client(fake_time)


def make_client(fake_time: FakeTime, **overrides: Any) -> UltraMsgClient:
    options: dict[str, Any] = {
        "base_url": BASE,
        "instance_id": INSTANCE,
        "token": Secret(TOKEN),
        "timeout": 5,
        "sleep": fake_time.sleep,
        "clock": fake_time.monotonic,
    }
    options.update(overrides)
    return UltraMsgClient(**options)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture(autouse=True)
def _no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log line (httpx's request lines included) and check none has the token."""
    caplog.set_level(logging.DEBUG)
    yield
    messages = [record.getMessage() for record in caplog.get_records("call")]
    assert not [message for message in messages if TOKEN in message]


def chats_route(mock: respx.MockRouter) -> respx.Route:
    return mock.get(CHATS_URL, params={"token": TOKEN})


def json_response(value: Any, status: int = 200, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(value, ensure_ascii=False).encode(), **kwargs)


def failure_of(client: UltraMsgClient) -> UpstreamError:
    """The error fetch_chats raises, after checking it is one clean line without the token."""
    with pytest.raises(UpstreamError) as raised:
        client.fetch_chats()
    error = raised.value
    assert_token_free(error)
    assert "\n" not in str(error)
    return error


def assert_token_free(error: BaseException) -> None:
    seen: BaseException | None = error
    while seen is not None:
        assert TOKEN not in str(seen)
        assert TOKEN not in repr(seen)
        assert TOKEN not in repr(seen.args)
        seen = seen.__cause__ or seen.__context__


# -- answers ------------------------------------------------------------------


def test_chats_are_fetched_with_the_token_as_a_query_parameter(
    client: UltraMsgClient, mock: respx.MockRouter
) -> None:
    route = chats_route(mock).mock(
        return_value=json_response(
            [
                {"id": "4915112345678@c.us", "name": "Anna Schmidt", "unread": 0},
                {"id": "120363041234567890@g.us", "name": "Family"},
                {"id": "140000000000001@lid", "name": ""},
                {"id": "status@broadcast"},
            ]
        )
    )
    assert client.fetch_chats() == [
        RawChat("4915112345678@c.us", "Anna Schmidt"),
        RawChat("120363041234567890@g.us", "Family"),
        RawChat("140000000000001@lid", ""),
        RawChat("status@broadcast", None),
    ]
    assert route.call_count == 1


def test_an_empty_chat_list_is_zero_chats(client: UltraMsgClient, mock: respx.MockRouter) -> None:
    chats_route(mock).mock(return_value=httpx.Response(200, content=b"[]"))
    assert client.fetch_chats() == []


def test_names_come_through_byte_for_byte(client: UltraMsgClient, mock: respx.MockRouter) -> None:
    names = [
        "🎉🎂 Party 🎈",
        "Max 👨‍👩‍👧‍👦",
        "محمد العتيبي",
        "נועה כהן",
        "Long " + "x" * 1995,
        "<script>alert(1)</script>",
    ]
    chats_route(mock).mock(
        return_value=json_response([{"id": f"{i}@c.us", "name": n} for i, n in enumerate(names)])
    )
    got = [chat.name for chat in client.fetch_chats()]
    assert [name.encode() if name else b"" for name in got] == [name.encode() for name in names]
    assert len(got[4] or "") == 2000


def test_missing_null_and_wrongly_typed_fields(
    client: UltraMsgClient, mock: respx.MockRouter
) -> None:
    chats_route(mock).mock(
        return_value=json_response(
            [{"id": "1@c.us"}, {"id": "2@c.us", "name": None}, {"id": 3, "name": "x"}, "junk"]
        )
    )
    assert client.fetch_chats() == [
        RawChat("1@c.us", None),
        RawChat("2@c.us", None),
        RawChat(None, "x"),
        RawChat(None, None),
    ]


@pytest.mark.parametrize("state", ["authenticated", "qr", "standby", "loading"])
def test_instance_status(client: UltraMsgClient, mock: respx.MockRouter, state: str) -> None:
    mock.get(STATUS_URL, params={"token": TOKEN}).mock(
        return_value=json_response(
            {"status": {"accountStatus": {"status": state, "substatus": "x"}}}
        )
    )
    assert client.instance_status() == state


def test_instance_status_errors_like_fetch_chats(
    client: UltraMsgClient, mock: respx.MockRouter
) -> None:
    mock.get(STATUS_URL).mock(return_value=json_response({"error": "Wrong token"}))
    with pytest.raises(UpstreamRejected, match="ULTRAMSG_TOKEN"):
        client.instance_status()
    mock.get(STATUS_URL).mock(return_value=json_response({"status": "weird"}))
    with pytest.raises(UpstreamBadResponse, match="accountStatus"):
        client.instance_status()


# -- UltraMsg's error bodies --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_type", "words"),
    [
        (
            200,
            {"error": "Wrong token. Please provide token as a GET parameter."},
            UpstreamRejected,
            ["rejected the token", "check ULTRAMSG_TOKEN"],
        ),
        (
            200,
            {"error": [{"token": "is required"}]},
            UpstreamRejected,
            ["token is required", "ULTRAMSG_TOKEN"],
        ),
        (
            200,
            {"error": "Instance not found"},
            UpstreamRejected,
            [f"does not know instance {INSTANCE}", "check ULTRAMSG_INSTANCE_ID"],
        ),
        (
            404,
            {"error": "Instance not found"},
            UpstreamRejected,
            [f"does not know instance {INSTANCE}", "check ULTRAMSG_INSTANCE_ID"],
        ),
        (404, "<html>Not Found</html>", UpstreamRejected, [f"does not know instance {INSTANCE}"]),
        (
            200,
            {"error": STOPPED},
            UpstreamRejected,
            ["is stopped", "renew"],
        ),
        (401, "Unauthorized", UpstreamRejected, ["HTTP 401"]),
        (403, {"error": "Forbidden"}, UpstreamRejected, ["Forbidden"]),
        (500, {"error": "Wrong token."}, UpstreamRejected, ["ULTRAMSG_TOKEN"]),
    ],
)
def test_error_answers_are_rejections_that_say_what_to_do(
    client: UltraMsgClient,
    mock: respx.MockRouter,
    fake_time: FakeTime,
    status: int,
    body: Any,
    error_type: type[UpstreamError],
    words: list[str],
) -> None:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    route = chats_route(mock).mock(return_value=httpx.Response(status, content=content))
    error = failure_of(client)
    assert type(error) is error_type
    for word in words:
        assert word in str(error)
    assert route.call_count == 1, "an error body or a 4xx is never retried"
    assert fake_time.sleeps == []


def test_an_error_body_echoing_the_token_does_not_leak_it(
    client: UltraMsgClient, mock: respx.MockRouter
) -> None:
    chats_route(mock).mock(return_value=json_response({"error": f"token {TOKEN} is not valid"}))
    error = failure_of(client)
    assert "***" in str(error)


# -- bad answers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<html><body>Welcome to nginx</body></html>", "not JSON"),
        (b'[{"id": "4915112345678@c.us", "name": "Ann', "cut off"),
        (b'{"chats": []}', "a JSON object"),
        (b'"4915112345678@c.us"', "a JSON string"),
        (b"", "empty body"),
    ],
)
def test_garbage_is_a_bad_response(
    client: UltraMsgClient, mock: respx.MockRouter, content: bytes, words: str
) -> None:
    route = chats_route(mock).mock(return_value=httpx.Response(200, content=content))
    error = failure_of(client)
    assert isinstance(error, UpstreamBadResponse)
    assert words in str(error)
    assert route.call_count == 1


def test_a_redirect_is_a_bad_response(client: UltraMsgClient, mock: respx.MockRouter) -> None:
    chats_route(mock).mock(
        return_value=httpx.Response(302, headers={"Location": f"https://elsewhere/?token={TOKEN}"})
    )
    error = failure_of(client)
    assert isinstance(error, UpstreamBadResponse)
    assert "redirect" in str(error)


# -- retries ------------------------------------------------------------------


def test_a_500_then_success_is_retried_once(
    client: UltraMsgClient, mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = chats_route(mock).mock(
        side_effect=[httpx.Response(500), json_response([{"id": "1@c.us", "name": "A"}])]
    )
    assert client.fetch_chats() == [RawChat("1@c.us", "A")]
    assert route.call_count == 2
    assert len(fake_time.sleeps) == 1
    assert 0.25 <= fake_time.sleeps[0] <= 0.5


def test_backoff_grows_and_attempts_are_bounded(
    client: UltraMsgClient,
    mock: respx.MockRouter,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    route = chats_route(mock).mock(return_value=httpx.Response(503, content=b"busy"))
    error = failure_of(client)
    assert isinstance(error, UpstreamUnavailable)
    assert "HTTP 503" in str(error)
    assert "4 attempts" in str(error)
    assert route.call_count == 4
    assert len(fake_time.sleeps) == 3
    for sleep, (low, high) in zip(
        fake_time.sleeps, [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0)], strict=True
    ):
        assert low <= sleep <= high
    retries = [
        r for r in caplog.records if r.name == "wa_manager.ultramsg" and "retrying" in r.message
    ]
    assert len(retries) == 3


def test_429_waits_as_long_as_retry_after_says(
    client: UltraMsgClient, mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = chats_route(mock).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            json_response([{"id": "1@c.us"}]),
        ]
    )
    assert client.fetch_chats() == [RawChat("1@c.us", None)]
    assert route.call_count == 2
    assert fake_time.sleeps == [7.0]


def test_429_without_retry_after_backs_off(
    client: UltraMsgClient, mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = chats_route(mock).mock(
        side_effect=[httpx.Response(429), httpx.Response(429), json_response([])]
    )
    assert client.fetch_chats() == []
    assert route.call_count == 3
    assert 0.25 <= fake_time.sleeps[0] <= 0.5
    assert 0.5 <= fake_time.sleeps[1] <= 1.0


def test_a_retry_after_beyond_the_time_budget_gives_up_without_waiting(
    client: UltraMsgClient, mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = chats_route(mock).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    error = failure_of(client)
    assert isinstance(error, UpstreamUnavailable)
    assert "3600" in str(error)
    assert "try again later" in str(error)
    assert route.call_count == 1
    assert fake_time.sleeps == []


def test_retries_stay_within_the_total_time(mock: respx.MockRouter, fake_time: FakeTime) -> None:
    client = make_client(fake_time, max_attempts=10, max_total_seconds=20)
    chats_route(mock).mock(return_value=httpx.Response(429, headers={"Retry-After": "6"}))
    error = failure_of(client)
    assert isinstance(error, UpstreamUnavailable)
    assert fake_time.sleeps == [6.0, 6.0, 6.0]
    assert sum(fake_time.sleeps) <= 20


def test_slow_attempts_count_against_the_total_time(
    mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    client = make_client(fake_time, max_attempts=10, max_total_seconds=12, timeout=5)
    timeouts: list[float] = []

    def stall(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"]["read"])
        fake_time.now += request.extensions["timeout"]["read"]
        raise httpx.ReadTimeout("timed out", request=request)

    chats_route(mock).mock(side_effect=stall)
    error = failure_of(client)
    assert "timed out" in str(error)
    assert fake_time.now - 1000.0 <= 12
    assert timeouts[0] == 5
    assert all(timeout <= 5 for timeout in timeouts)
    assert len(timeouts) < 10


def test_timeouts_are_retried_then_reported(
    client: UltraMsgClient, mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = chats_route(mock).mock(side_effect=httpx.ReadTimeout("timed out"))
    error = failure_of(client)
    assert isinstance(error, UpstreamUnavailable)
    assert str(error) == (
        f"could not reach UltraMsg at {BASE} after 4 attempts: timed out; "
        "check the network or ULTRAMSG_BASE_URL"
    )
    assert route.call_count == 4


def test_a_connect_error_then_success(
    client: UltraMsgClient, mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = chats_route(mock).mock(
        side_effect=[httpx.ConnectError("[Errno 111] Connection refused"), json_response([])]
    )
    assert client.fetch_chats() == []
    assert route.call_count == 2


def test_connect_errors_carrying_the_url_do_not_leak_the_token(
    client: UltraMsgClient, mock: respx.MockRouter
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    chats_route(mock).mock(side_effect=refuse)
    error = failure_of(client)
    assert isinstance(error, UpstreamUnavailable)
    assert "token=***" in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_the_client_repr_hides_the_token(client: UltraMsgClient) -> None:
    assert TOKEN not in repr(client)
    assert "***" in repr(client)
