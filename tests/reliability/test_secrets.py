"""The UltraMsg token and the webhook secret never show: CLI runs, a served process's log
and answers, failure paths.

A recognisable token and webhook secret are configured; every CLI command's
stdout and stderr (with and without ``--debug``), the server's whole log, and
every HTTP answer's body and headers are scanned for them, while UltraMsg
succeeds, rejects, fails, echoes the token back in an error, is unreachable or
sends a name that cannot be stored; and while the webhook gets bodies that used
to be a 500 (JSON nested too deeply, a lone surrogate, 2 KB of brackets), a
client hangs up mid-body, a request has a trailing slash and a hostile Host,
and a body is over the limit. The in-process test does the error paths in a
second, with every log record of the process scanned.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import fresh_sqlite_url
from tests.reliability.figures import SECRETS, Recorder
from tests.reliability.support import (
    HIDDEN,
    INSTANCE,
    TOKEN,
    WA_MANAGER,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    FakeTime,
    chats_with_a_lone_surrogate,
    cli_environment,
    hang_up_mid_body,
    hostile_webhook_bodies,
    served_process,
    sql_app,
    ultramsg_client,
)
from tests.serving import free_loopback_port
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats
from wa_manager.domain.model import LIBRARY
from wa_manager.entrypoints.http.app import create_app
from wa_manager.entrypoints.http.inputs import MAX_BODY_BYTES

pytestmark = pytest.mark.timeout(300)
TOO_BIG = b"x" * (MAX_BODY_BYTES + 1)
TEST_CLIENT_LOGGER = "httpx2"  # the test client's own request log, not the server's

ECHO = f'{{"error": "token {TOKEN} is not valid"}}'.encode()


class Scanner:
    """Collects every text that left wa-manager and checks none holds the token or the
    webhook secret."""

    def __init__(self) -> None:
        self.scanned = 0

    def check(self, *texts: str) -> None:
        for text in texts:
            for hidden in HIDDEN:
                assert hidden not in text
            self.scanned += 1

    def run(
        self, env: dict[str, str], *args: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [WA_MANAGER, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            input=stdin,
        )
        self.check(result.stdout, result.stderr)
        return result

    def answer(self, response: httpx.Response) -> httpx.Response:
        self.check(response.text, *response.headers.values())
        return response


def error_paths(
    client: httpx.Client | TestClient, bearer: dict[str, str], scanner: Scanner
) -> None:
    """The error paths that once leaked or were a bare answer; each answer scanned."""
    for body, content_type in hostile_webhook_bodies():
        answer = client.post(WEBHOOK_PATH, content=body, headers={"Content-Type": content_type})
        assert scanner.answer(answer).status_code == 200, answer.text
    for path in (WEBHOOK_PATH, "/api/users"):
        answer = client.post(path, content=TOO_BIG, headers={"Content-Type": "application/json"})
        assert scanner.answer(answer).status_code == 413
    trailing = {"Host": "evil.example", **bearer}
    answer = client.get("/api/conversations/4/", headers=trailing, follow_redirects=False)
    assert scanner.answer(answer).headers["location"] == "/api/conversations/4"
    answer = client.post(WEBHOOK_PATH + "/", json={}, follow_redirects=False)
    assert scanner.answer(answer).status_code in (307, 404)


@pytest.fixture
def fake_ultramsg() -> Iterator[FakeUltraMsg]:
    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=sample_chats()) as fake:
        yield fake


def test_error_paths_show_neither_secret_in_any_log_record_answer_or_header(
    tmp_path: Path,
    fake_ultramsg: FakeUltraMsg,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    figures: Recorder,
) -> None:
    scanner = Scanner()
    client_of_ultramsg = ultramsg_client(fake_ultramsg.base_url, FakeTime())
    app = sql_app(fresh_sqlite_url(tmp_path), client_of_ultramsg, webhook_secret=WEBHOOK_SECRET)
    app.add_user("admin", "admin")
    bearer = {"Authorization": f"Bearer {app.accounts.create_token(LIBRARY, 'admin')}"}
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(app, secret_key="k"), raise_server_exceptions=False) as client:
        error_paths(client, bearer, scanner)
        fake_ultramsg.set_body(chats_with_a_lone_surrogate())
        assert scanner.answer(client.post("/api/whatsapp-contacts", headers=bearer)).is_success

        def broken(actor: object, payload: object) -> None:
            raise RuntimeError(f"boom: {TOKEN} at {WEBHOOK_PATH}")

        monkeypatch.setattr(app, "webhooks", SimpleNamespace(handle=broken))
        assert scanner.answer(client.post(WEBHOOK_PATH, json={})).status_code == 500
    app.close()
    records = [record for record in caplog.records if record.name != TEST_CLIENT_LOGGER]
    assert any("unexpected error in POST /webhooks/ultramsg/***" in r.message for r in records)
    scanner.check(*(logging.Formatter().format(record) for record in records))
    figures.add(SECRETS, cases=scanner.scanned)
    figures.fixed(SECRETS, "a webhook that failed logged its path, and so the webhook secret")


@pytest.mark.slow  # about 20 processes
def test_the_token_appears_in_no_output_log_or_answer(tmp_path: Path, figures: Recorder) -> None:
    scanner = Scanner()
    url = fresh_sqlite_url(tmp_path)
    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=sample_chats()) as fake:
        env = cli_environment(fake.base_url, url) | {"ULTRAMSG_TIMEOUT": "2"}
        assert scanner.run(env, "db", "upgrade").returncode == 0
        assert scanner.run(env, "sync", "--json").returncode == 0
        scanner.run(env, "users", "add", "admin", "--role", "admin")
        admin_token = scanner.run(env, "tokens", "create", "admin").stdout.strip()
        # refused accounts: a name taken in another case, weak or oversized passwords
        assert scanner.run(env, "users", "add", "ADMIN", "--role", "user").returncode == 1
        for weak in ("password1", "12341234", "WeakLing", "x" * 1025):
            refused = scanner.run(
                env, "users", "add", "weakling", "--role", "user", "--password-stdin", stdin=weak
            )
            assert refused.returncode == 2, refused.stderr
        bad_proxy = scanner.run(env, "serve", "--port", "0", "--forwarded-allow-ips", TOKEN)
        assert bad_proxy.returncode == 2
        for debug in ((), ("--debug",)):
            fake.fail(500, times=8)
            assert scanner.run(env, *debug, "sync").returncode == 1
            fake.set_body(ECHO)
            assert scanner.run(env, *debug, "sync", "--json").returncode == 1
            fake.set_body(b"<html>oops</html>")
            assert scanner.run(env, *debug, "sync").returncode == 1
            fake.set_body(None)
            wrong = env | {"ULTRAMSG_TOKEN": TOKEN + "-wrong"}
            assert scanner.run(wrong, *debug, "sync").returncode == 1
            gone = env | {"ULTRAMSG_BASE_URL": f"http://127.0.0.1:{free_loopback_port()}"}
            assert scanner.run(gone, *debug, "sync").returncode == 1
        scanner.run(env, "contacts", "list", "--json")

        log = tmp_path / "serve.log"
        with served_process(env, log) as root:
            bearer = {"Authorization": f"Bearer {admin_token}"}
            with httpx.Client(base_url=root, timeout=60) as client:
                scanner.answer(client.post("/api/whatsapp-contacts", headers=bearer))
                fake.fail(503, times=4)
                scanner.answer(client.post("/api/whatsapp-contacts", headers=bearer))
                fake.set_body(ECHO)
                failed = scanner.answer(client.get("/api/whatsapp-contacts", headers=bearer))
                assert failed.status_code == 502
                assert "***" in failed.text
                fake.set_body(None)
                scanner.answer(client.get("/api/instance/status", headers=bearer))
                scanner.answer(client.get("/api/sync-runs", headers=bearer))
                for name, password in (("ADMIN", "a fine long passphrase"), ("eve", "qwerty123")):
                    body = {"username": name, "role": "user", "password": password}
                    refused = client.post("/api/users", json=body, headers=bearer)
                    assert scanner.answer(refused).status_code in (409, 422), refused.text
                scanner.answer(client.get("/openapi.json"))
                scanner.answer(client.get(f"/webhooks/ultramsg/{TOKEN}"))
                scanner.answer(client.post(f"/webhooks/ultramsg/{TOKEN}", json={}))
                error_paths(client, bearer, scanner)
                hang_up_mid_body(root, WEBHOOK_PATH)
                fake.set_body(chats_with_a_lone_surrogate())
                synced = scanner.answer(client.post("/api/whatsapp-contacts", headers=bearer))
                assert synced.status_code == 200, synced.text
                fake.set_body(None)
                scanner.answer(client.get("/healthz"))  # the hang-up has been handled by now
        served_log = log.read_text()
        assert "unexpected error" not in served_log
        assert "/webhooks/ultramsg/***" in served_log
        scanner.check(served_log)
    figures.add(SECRETS, cases=scanner.scanned)
