"""Answers as JSON: a ``shapes`` Struct (or anything msgspec encodes) into a response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.responses import Response

from wa_manager.domain.model import Page
from wa_manager.entrypoints import shapes
from wa_manager.entrypoints.http.inputs import encode_cursor

Item = TypeVar("Item")

JSON_MEDIA_TYPE = "application/json"


def answer(shape: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``shape`` encoded by msgspec (UTF-8, compact) with this status."""
    return Response(
        msgspec.json.encode(shape), status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE
    )


def paged(page: Page[Item], listing: str, shape: Callable[[Item], Any]) -> Response:
    """A page of ``listing`` as ``{"items": [shape(item)...], "next_cursor"}``."""
    next_cursor = encode_cursor(listing, page.next_before_id)
    return answer(shapes.Page(items=[shape(item) for item in page.items], next_cursor=next_cursor))
