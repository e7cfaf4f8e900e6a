"""``wa-manager serve`` behind no proxy: a local client cannot choose its address with
``X-Forwarded-For`` (the login throttle counts the TCP peer), and a client that
trickles its headers is disconnected once the request deadline passes."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import fresh_sqlite_url
from tests.reliability.support import HIDDEN, cli_environment, served_process

pytestmark = pytest.mark.timeout(300)

REQUEST_TIMEOUT = 2  # seconds: --request-timeout of the served process
# Seconds the slow client keeps trying before the test gives up: well under the default
# deadline (30 s), so a process that ignored --request-timeout fails the test.
TRICKLE_BOUND = 20


@pytest.fixture(params=["one process", "two workers"])
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    env = cli_environment("http://127.0.0.1:9", fresh_sqlite_url(tmp_path))
    log = tmp_path / "serve.log"
    workers = ("--workers", "2") if request.param == "two workers" else ()
    with served_process(env, log, "--request-timeout", str(REQUEST_TIMEOUT), *workers) as root:
        yield root
    output = log.read_text()
    assert all(secret not in output for secret in HIDDEN)


def test_x_forwarded_for_from_loopback_does_not_change_the_throttled_address(
    served: str,
) -> None:
    with httpx.Client(base_url=served, timeout=30) as client:
        page = client.get("/login").text
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert match
        statuses = [
            client.post(
                "/login",
                data={"username": f"guess{n}", "password": "wrong!", "csrf_token": match[1]},
                headers={"X-Forwarded-For": f"203.0.113.{n}", "Forwarded": f"for=198.51.100.{n}"},
            ).status_code
            for n in range(6)
        ]
    assert statuses == [401] * 5 + [429]  # one address: 127.0.0.1, whatever it claims


def test_a_client_that_trickles_its_headers_is_disconnected(served: str) -> None:
    address = urlsplit(served)
    with socket.create_connection((address.hostname, address.port), timeout=5) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        closed = False
        deadline = time.monotonic() + TRICKLE_BOUND
        line = 0
        while time.monotonic() < deadline and not closed:
            time.sleep(0.5)
            line += 1
            try:
                slow.sendall(f"X-Slow-{line}: {line}\r\n".encode())
                slow.settimeout(0.01)
                closed = slow.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:  # reset: closed too
                closed = True
    assert closed, f"still open after {TRICKLE_BOUND} s of trickled headers"
    assert line * 0.5 < TRICKLE_BOUND
    # and an ordinary client is served as before
    assert httpx.get(f"{served}/healthz", timeout=10).status_code == 200
