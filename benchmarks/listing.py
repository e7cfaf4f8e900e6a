"""Listing latency: a page of conversations for an admin, a linked user and a member.

``prepare_listing`` adds an admin, a user linked to 1,000 contacts spread evenly
over all of them (through ``App.link``, as an admin would), a user who is a
member of the benchmark's WhatsApp number (so sees every conversation, as an
admin does, but through the visibility query), and an admin API token for the
HTTP load. ``listing_latency`` then times ``App.list_conversations``
(the use case every entrypoint calls: one unit of work, one query, rows to
objects) for the first page and for a page deep into the list (keyset:
the position 90% of the way to the oldest, by activity), and gives median and p99.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.databases import dbapi_connect
from benchmarks.ours import settings
from wa_manager import App, User, bootstrap
from wa_manager.domain.model import LIBRARY, ActivityKey

ADMIN = "bench-admin"
LINKED_USER = "bench-user"
MEMBER_USER = "bench-member"
LINKS = 1000
PAGE_SIZE = 50
DEPTH = 0.9  # how far towards the oldest the deep page starts


def _ids(url: str, query: str) -> list[int]:
    connection = dbapi_connect(url)
    try:
        return [row[0] for row in connection.execute(query).fetchall()]
    finally:
        connection.close()


def prepare_listing(url: str, base_url: str, links: int = LINKS) -> dict[str, Any]:
    """Add the admin, the user and their links; the admin's API token."""
    contact_ids = _ids(url, "SELECT id FROM contacts ORDER BY id")
    step = max(1, len(contact_ids) // links)
    linked = contact_ids[::step][:links]
    with bootstrap(settings(url, base_url)) as app:
        app.add_user(ADMIN, "admin")
        app.add_user(LINKED_USER, "user")
        app.add_user(MEMBER_USER, "user")
        app.instance_members.add_user(LIBRARY, app.settings.instance_id or "", MEMBER_USER)
        started = time.perf_counter()
        for contact_id in linked:
            app.link(str(contact_id), LINKED_USER)
        seconds = time.perf_counter() - started
        token = app.accounts.create_token(LIBRARY, ADMIN, "bench")
        user_token = app.accounts.create_token(LIBRARY, LINKED_USER, "bench")
    return {"links": len(linked), "link_seconds": seconds, "token": token, "user_token": user_token}


def _deep_before(app: App, viewer: User, count: int) -> ActivityKey | None:
    """The position of a page ``DEPTH`` of the way down the viewer's list (by activity)."""
    if count <= PAGE_SIZE:
        return None
    target = min(count - PAGE_SIZE, int(count * DEPTH))
    before: ActivityKey | None = None
    seen = 0
    while seen < target:
        page = app.conversations.page(viewer, limit=min(200, target - seen), before=before)
        seen += len(page.items)
        before = page.items[-1].activity_key
    return before


def _sample(call: Callable[[], object], budget_seconds: float, most: int) -> list[float]:
    for _ in range(3):  # warm caches and the connection pool
        call()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_seconds
    while len(samples) < most and (len(samples) < 20 or time.perf_counter() < deadline):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p99_ms": p99 * 1000, "n": len(ordered)}


def _page_timer(app: App, viewer: User, before: ActivityKey | None) -> Callable[[], object]:
    def one_page() -> object:
        return app.conversations.page(viewer, limit=PAGE_SIZE, before=before)

    return one_page


def listing_latency(
    url: str, base_url: str, budget_seconds: float = 2.0, most: int = 2000
) -> dict[str, Any]:
    """Median and p99 of the six pages (admin/user/member x first/deep), in ms."""
    every = _ids(url, "SELECT id FROM conversations")
    linked = _ids(
        url,
        "SELECT c.id FROM conversations c JOIN contact_links l ON l.contact_id = c.contact_id "
        f"JOIN users u ON u.id = l.user_id WHERE u.username = '{LINKED_USER}'",
    )
    results: dict[str, Any] = {"conversations": len(every), "linked": len(linked)}
    with bootstrap(settings(url, base_url)) as app:
        admin, user = app.accounts.user(LIBRARY, ADMIN), app.accounts.user(LIBRARY, LINKED_USER)
        member = app.accounts.user(LIBRARY, MEMBER_USER)
        cases = {
            "admin_first": _page_timer(app, admin, None),
            "admin_deep": _page_timer(app, admin, _deep_before(app, admin, len(every))),
            "user_first": _page_timer(app, user, None),
            "user_deep": _page_timer(app, user, _deep_before(app, user, len(linked))),
            "member_first": _page_timer(app, member, None),
            "member_deep": _page_timer(app, member, _deep_before(app, member, len(every))),
        }
        for name, call in cases.items():
            results[name] = _summary(_sample(call, budget_seconds, most))
    return results
