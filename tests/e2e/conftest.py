"""End-to-end fixtures: running sites (``e2e_support.Site``) and Debian's Chromium.

Both sites start together at the beginning and stop at the end of the session.
``shoot(page, name)`` writes screenshots into a temporary folder, so a test run leaves
the tracked ones alone; ``make screenshots`` sets ``WA_MANAGER_SCREENSHOTS`` to
``docs/screenshots`` to renew those.
The browser is ``/usr/bin/chromium`` from Debian (``make browser`` installs it);
no browser is ever downloaded. Without it every e2e test is skipped, saying so.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from e2e_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTANCE,
    SCREENSHOTS_VARIABLE,
    ULTRAMSG_TOKEN,
    VIEWPORTS,
    Shoot,
    Site,
    start_sites,
    take_screenshots,
)
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Site]]:
    """Two sites on the sample chats, started together: ``synced`` (synced once by the
    CLI, shared by most tests) and ``fresh`` (never synced); stopped at the end."""
    with ExitStack() as stack:
        made: dict[str, Site] = {}
        for name in ("synced", "fresh"):
            fake = stack.enter_context(
                FakeUltraMsg(
                    instance_id=INSTANCE,
                    token=ULTRAMSG_TOKEN,
                    chats=sample_chats(),
                    host="127.0.0.1",
                    port=0,
                )
            )
            made[name] = Site(tmp_path_factory.mktemp(name), fake)
            stack.callback(made[name].stop)
        start_sites(list(made.values()))
        made["synced"].cli("sync")
        yield made


@pytest.fixture(scope="session")
def synced_site(sites: dict[str, Site]) -> Site:
    """A site whose sample chats were synced once (by the CLI), shared by the tests."""
    return sites["synced"]


@pytest.fixture(scope="session")
def fresh_site(sites: dict[str, Site]) -> Site:
    """A site that was never synced (one test may sync it)."""
    return sites["fresh"]


@pytest.fixture(scope="session")
def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: ``$WA_MANAGER_SCREENSHOTS`` if set, else a temporary folder."""
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def shoot(screenshot_folder: Path) -> Shoot:
    """``shoot(page, name)``: the page at desktop and phone width, into the session's folder."""
    return functools.partial(take_screenshots, screenshot_folder)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; the e2e tests are skipped without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop size."""
    fresh = browser.new_context(viewport=VIEWPORTS["desktop"], locale="en-GB")
    yield fresh
    fresh.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab in a fresh profile; an uncaught JavaScript error or anything the
    Content-Security-Policy blocked (an inline script, style or handler) fails the test."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield tab
    assert errors == [], f"errors on the page: {errors}"
