"""Three real ``wa-manager serve`` processes on one PostgreSQL, behind a round-robin
client: whatever one process knows, the others know (sessions, CSRF, the login
throttle, sign-out, messages arriving by webhook); one scheduled sync per interval
in all; SIGTERM lets the request in flight finish, then the process exits 0.

``WA_MANAGER_SECRET_KEY`` is left unset on purpose: the signing key is the one kept
in the database. Slow (about three minutes): ``make reliability`` runs it.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import drop_postgres_schema, in_fresh_postgres_schema, postgres_url
from tests.reliability.figures import SEVERAL_PROCESSES, Recorder
from tests.reliability.support import (
    INSTANCE,
    TOKEN,
    WA_MANAGER,
    WEBHOOK_SECRET,
    cli_environment,
    wait_until_serving,
)
from tests.serving import free_loopback_port
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ADMIN_PASSWORD = "admin password 1"
MARIA_PASSWORD = "maria password 1"


class Cluster:
    """Processes serving one database, and a round-robin choice among them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []
        self.roots: list[str] = []
        self._turn = itertools.count()

    def start(self, *extra: str) -> str:
        port = free_loopback_port()
        log = self.logs / f"serve-{port}.log"
        with log.open("w") as output:
            process = subprocess.Popen(
                [WA_MANAGER, "serve", "--port", str(port), *extra],
                env=self.env,
                stdout=output,
                stderr=output,
            )
        root = f"http://127.0.0.1:{port}"
        wait_until_serving(root, process, log)
        self.processes.append(process)
        self.roots.append(root)
        return root

    def next(self) -> str:
        """The next process in turn, as a round-robin load balancer would pick it."""
        return self.roots[next(self._turn) % len(self.roots)]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=60)


def cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [WA_MANAGER, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, FakeUltraMsg, str]]:
    """An empty PostgreSQL schema, a fake UltraMsg, an admin with a token, and maria;
    yields the (not yet started) cluster, the fake and the admin's token."""
    base = postgres_url()
    if base is None:
        pytest.skip("set WA_MANAGER_TEST_DATABASE_URL to run the PostgreSQL tests")
    schema, url = in_fresh_postgres_schema(base)
    # An instance of its own: the sync lock is per instance and per database, and other
    # tests may be syncing the usual one in the same database at the same time.
    instance = f"{INSTANCE}-{schema}"
    fake = FakeUltraMsg(instance_id=instance, token=TOKEN).start()
    env = cli_environment(fake.base_url, url) | {"ULTRAMSG_INSTANCE_ID": instance}
    del env["WA_MANAGER_SECRET_KEY"]
    cluster = Cluster(env, tmp_path)
    try:
        cli(env, "db", "upgrade")
        cli(
            env,
            "users",
            "add",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
            stdin=ADMIN_PASSWORD,
        )
        cli(
            env, "users", "add", "maria", "--role", "user", "--password-stdin", stdin=MARIA_PASSWORD
        )
        token = cli(env, "tokens", "create", "admin").strip()
        yield cluster, fake, token
    finally:
        cluster.stop()
        fake.stop()
        drop_postgres_schema(base, schema)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def sign_in(browser: httpx.Client, root: str, username: str, password: str) -> httpx.Response:
    form = csrf_of(browser.get(f"{root}/login"))
    return browser.post(
        f"{root}/login",
        data={"username": username, "password": password, "csrf_token": form},
    )


def test_three_processes_share_sessions_throttle_messages_and_stop_gracefully(
    cluster: tuple[Cluster, FakeUltraMsg, str], figures: Recorder
) -> None:
    processes, fake, token = cluster
    for _ in range(3):
        processes.start()
    bearer = {"Authorization": f"Bearer {token}"}
    synced = httpx.get(f"{processes.next()}/api/whatsapp-contacts", headers=bearer)
    assert synced.status_code == 200

    # Signed in on A, the session works on B and C, CSRF included.
    clients = contextlib.ExitStack()
    with clients:
        run_the_tour(processes, fake, bearer, clients)
    figures.note(
        SEVERAL_PROCESSES,
        "3 processes: sessions, CSRF, sign-out, throttle, messages shared; SIGTERM mid-request: "
        "the answer arrives, exit 0",
    )


def run_the_tour(
    processes: Cluster, fake: FakeUltraMsg, bearer: dict[str, str], clients: contextlib.ExitStack
) -> None:
    a, b, c = processes.roots
    browser = clients.enter_context(httpx.Client(timeout=30))
    assert sign_in(browser, a, "admin", ADMIN_PASSWORD).status_code == 303
    for root in (b, c):
        assert browser.get(f"{root}/api/me").json()["username"] == "admin"
    csrf = csrf_of(browser.get(f"{b}/logout"))
    conversation = browser.get(f"{c}/api/conversations?limit=1").json()["items"][0]
    linked = browser.put(
        f"{a}/api/contacts/{conversation['contact']['id']}/users",
        json={"user_ids": []},
        headers={"X-CSRF-Token": csrf},
    )
    assert linked.status_code == 200, linked.text  # B's CSRF token, accepted by A

    # A message arriving at A (UltraMsg's webhook) is in the thread on C.
    arrived = httpx.post(
        f"{a}/webhooks/ultramsg/{WEBHOOK_SECRET}",
        json={
            "event_type": "message_received",
            "data": {
                "id": "false_cluster_1",
                "from": conversation["contact"]["wa_id"],
                "to": "4915000000000@c.us",
                "type": "chat",
                "body": "through A",
                "time": 1_733_000_000,
            },
        },
    )
    assert arrived.status_code == 200, arrived.text
    thread = browser.get(f"{c}/api/conversations/{conversation['id']}/messages").json()
    assert [m["body"] for m in thread["items"]] == ["through A"]

    # Signing out on A ends the session everywhere: the same cookie replayed on B is refused.
    cookie = dict(browser.cookies)
    assert browser.post(f"{a}/logout", data={"csrf_token": csrf}).status_code == 303
    replay = clients.enter_context(httpx.Client(cookies=cookie, timeout=30))
    assert replay.get(f"{b}/api/me").status_code == 401
    assert replay.get(f"{c}/api/me").status_code == 401

    # Five wrong passwords on A, and maria is throttled on B and C too.
    attacker = clients.enter_context(httpx.Client(timeout=30))
    for _ in range(5):
        assert sign_in(attacker, a, "maria", "wrong password").status_code == 401
    assert sign_in(attacker, b, "maria", MARIA_PASSWORD).status_code == 429
    assert sign_in(attacker, c, "maria", MARIA_PASSWORD).status_code == 429

    # SIGTERM to A while it serves a slow sync: the sync answers, A exits 0.
    fake.delay(3.0, times=1)
    before = fake.requests
    answers: list[httpx.Response] = []
    request = threading.Thread(
        target=lambda: answers.append(
            httpx.get(f"{a}/api/whatsapp-contacts", headers=bearer, timeout=60)
        )
    )
    request.start()
    while fake.requests == before:
        time.sleep(0.05)
    processes.processes[0].send_signal(signal.SIGTERM)
    request.join(timeout=60)
    assert [answer.status_code for answer in answers] == [200]
    assert processes.processes[0].wait(timeout=60) == 0
    assert httpx.get(f"{b}/api/me", headers=bearer).status_code == 200


SYNC_EVERY = 30
OBSERVED = 125  # seconds: turns begin at most at 0, 30, 60, 90 and 120


def test_three_schedulers_make_one_sync_per_interval_in_all(
    cluster: tuple[Cluster, FakeUltraMsg, str], figures: Recorder
) -> None:
    processes, _fake, token = cluster
    for _ in range(3):
        processes.start("--sync-every", f"{SYNC_EVERY}s")
    started = time.monotonic()
    time.sleep(max(0.0, OBSERVED - (time.monotonic() - started)))
    bearer = {"Authorization": f"Bearer {token}"}
    runs = httpx.get(f"{processes.next()}/api/sync-runs?limit=50", headers=bearer).json()["items"]
    assert 1 <= len(runs) <= 5, runs
    assert {(run["trigger"], run["error"]) for run in runs} == {("schedule", None)}, runs
    figures.add(SEVERAL_PROCESSES, requests=len(runs))
    figures.note(
        SEVERAL_PROCESSES,
        f"3 processes, --sync-every {SYNC_EVERY}s, {OBSERVED} s: {len(runs)} scheduled syncs",
    )
    for root in processes.roots:
        schedule = httpx.get(f"{root}/api/sync-schedule", headers=bearer).json()
        assert (schedule["last_error"], schedule["consecutive_failures"]) == (None, 0)
