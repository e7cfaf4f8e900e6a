"""Helpers for the end-to-end tests: a running site, signing in, screenshots.

A ``Site`` is a fake UltraMsg on a free loopback port, a fresh SQLite file, users
made with the real CLI (``wa-manager users add ... --password-stdin``), and a
``wa-manager serve`` subprocess on another free port, up once ``/healthz`` answers.
``take_screenshots(folder, page, name)`` writes ``NAME-desktop.png`` and
``NAME-phone.png`` there (the ``shoot`` fixture picks the folder: a temporary one,
or ``docs/screenshots/`` under ``make screenshots`` so a reviewer can look without
running anything).

Not a test module itself; ``conftest.py`` and ``test_web_ui.py`` import it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect
from tests.serving import free_loopback_port

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_VARIABLE = "WA_MANAGER_SCREENSHOTS"  # the folder `make screenshots` writes into
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
INSTANCE = "instance31337"
ULTRAMSG_TOKEN = "e2e-ultramsg-SECRET-token"
PASSWORDS = {"admin": "admin-password-1", "maria": "maria-password-1", "bob": "bob-password-12"}
ROLES = {"admin": "admin", "maria": "user", "bob": "user"}
STARTUP_SECONDS = 30.0
WA_MANAGER = Path(sys.executable).with_name("wa-manager")


class Command:
    """A ``wa-manager`` command running in the background."""

    def __init__(self, process: subprocess.Popen[bytes], label: str, stdin: str | None) -> None:
        self.process = process
        self.label = label
        self.stdin = stdin

    def finish(self) -> str:
        """Wait for it; its stdout, or an assertion error with its stderr."""
        data = self.stdin.encode() if self.stdin is not None else None
        out, err = self.process.communicate(data, timeout=60)
        assert self.process.returncode == 0, f"wa-manager {self.label}: {err.decode()}"
        return out.decode()


class Site:
    """One running wa-manager (``url``) with its own fake UltraMsg (``ultramsg``) and database."""

    def __init__(self, folder: Path, ultramsg: FakeUltraMsg) -> None:
        self.folder = folder
        self.ultramsg = ultramsg
        self.port = free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "WA_MANAGER_DATABASE_URL": f"sqlite:///{folder / 'wa_manager.db'}",
            "WA_MANAGER_SECRET_KEY": "e2e-session-secret",
            "ULTRAMSG_INSTANCE_ID": INSTANCE,
            "ULTRAMSG_TOKEN": ULTRAMSG_TOKEN,
            "ULTRAMSG_BASE_URL": ultramsg.base_url,
            "ULTRAMSG_TIMEOUT": "5",
        }
        self.log = folder / "serve.log"
        self._server: subprocess.Popen[bytes] | None = None

    def _run(self, *args: str, stdin: str | None = None) -> Command:
        process = subprocess.Popen(
            [str(WA_MANAGER), *args],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        return Command(process, " ".join(args), stdin)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run ``wa-manager ARGS`` against this site's database; its stdout."""
        return self._run(*args, stdin=stdin).finish()

    def add_user(self, username: str) -> Command:
        """``wa-manager users add USERNAME --role ... --password-stdin``, in the background."""
        role = ROLES[username]
        password = PASSWORDS[username] + "\n"
        return self._run(
            "users", "add", username, "--role", role, "--password-stdin", stdin=password
        )

    def serve(self) -> None:
        """Start ``wa-manager serve`` in the background (see ``wait_ready``)."""
        with self.log.open("wb") as log:
            self._server = subprocess.Popen(
                [str(WA_MANAGER), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self) -> None:
        """Wait until the server answers /healthz (or fail with its log)."""
        assert self._server is not None, "call serve() first"
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"wa-manager serve exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"wa-manager serve did not answer /healthz: {self.log.read_text()}")

    def stop(self) -> None:
        """Stop the server (politely, then firmly)."""
        if self._server is None or self._server.poll() is not None:
            return
        self._server.terminate()
        try:
            self._server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait(timeout=10)


def start_sites(sites: list[Site], usernames: tuple[str, ...] = tuple(ROLES)) -> None:
    """Add the users with the CLI and start the servers of several sites at once.

    Each site's first user is added alone (that command also sets up its SQLite
    database); the servers boot while the other users are added.
    """
    for first in [site.add_user(usernames[0]) for site in sites]:
        first.finish()
    for site in sites:
        site.serve()
    for adding in [site.add_user(name) for site in sites for name in usernames[1:]]:
        adding.finish()
    for site in sites:
        site.wait_ready()


def sign_in(page: Page, site: Site, username: str, path: str = "") -> None:
    """Log in through the form like a person would; land on ``path`` (else one's home)."""
    page.goto(f"{site.url}/login?next={quote(path, safe='')}" if path else f"{site.url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


Shoot = Callable[[Page, str], None]
"""``shoot(page, name)``: screenshots of the page into the session's folder."""


def take_screenshots(folder: Path, page: Page, name: str) -> None:
    """Screenshots of the top of the page as it is now, at desktop and phone width."""
    folder.mkdir(parents=True, exist_ok=True)
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(folder / f"{name}-{label}.png"), animations="disabled")
    page.set_viewport_size(VIEWPORTS["desktop"])
