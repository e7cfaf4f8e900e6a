"""The UltraMsg token never shows: CLI runs, a served process's log and answers, failure paths.

A recognisable token is configured; every CLI command's stdout and stderr (with
and without ``--debug``), the server's whole log, and every HTTP answer's body
and headers are scanned for it, while UltraMsg succeeds, rejects, fails, echoes
the token back in an error, and is unreachable.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.reliability.figures import SECRETS, Recorder
from tests.reliability.support import (
    INSTANCE,
    TOKEN,
    WA_MANAGER,
    cli_environment,
    free_port,
    fresh_sqlite_url,
    served_process,
)
from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]  # about 20 processes

ECHO = f'{{"error": "token {TOKEN} is not valid"}}'.encode()


class Scanner:
    """Collects every text that left wa-manager and checks none holds the token."""

    def __init__(self) -> None:
        self.scanned = 0

    def check(self, *texts: str) -> None:
        for text in texts:
            assert TOKEN not in text
            self.scanned += 1

    def run(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [WA_MANAGER, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        self.check(result.stdout, result.stderr)
        return result

    def answer(self, response: httpx.Response) -> httpx.Response:
        self.check(response.text, *response.headers.values())
        return response


def test_the_token_appears_in_no_output_log_or_answer(tmp_path: Path, figures: Recorder) -> None:
    scanner = Scanner()
    url = fresh_sqlite_url(tmp_path)
    with FakeUltraMsg(instance_id=INSTANCE, token=TOKEN, chats=sample_chats()) as fake:
        env = cli_environment(fake.base_url, url) | {"ULTRAMSG_TIMEOUT": "2"}
        assert scanner.run(env, "db", "upgrade").returncode == 0
        assert scanner.run(env, "sync", "--json").returncode == 0
        scanner.run(env, "users", "add", "admin", "--role", "admin")
        admin_token = scanner.run(env, "tokens", "create", "admin").stdout.strip()
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
            gone = env | {"ULTRAMSG_BASE_URL": f"http://127.0.0.1:{free_port()}"}
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
                scanner.answer(client.get("/openapi.json"))
                scanner.answer(client.get(f"/webhooks/ultramsg/{TOKEN}"))
                scanner.answer(client.post(f"/webhooks/ultramsg/{TOKEN}", json={}))
        scanner.check(log.read_text())
    figures.add(SECRETS, cases=scanner.scanned)
