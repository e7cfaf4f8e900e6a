"""Server-rendered pages of the web UI (placeholder until the UI lands)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def page_routes() -> list[BaseRoute]:
    """The routes of the web UI: login, Settings › Contact Links, Conversations."""
    return []
