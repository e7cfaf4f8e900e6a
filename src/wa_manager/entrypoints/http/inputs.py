"""Reading what a request says, strictly: ids, limits, cursors, flags and JSON bodies.

Anything malformed is an ``InvalidInput`` (HTTP 422) with a one-line message,
never a 500. Cursors are opaque to clients: urlsafe base64 of
``v1:<list>:<before_id>``; one that does not decode to exactly that form, or that
belongs to another list, is an ``InvalidCursor``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal, TypeVar

import msgspec
from starlette.requests import Request

from wa_manager.domain.errors import InvalidCursor, InvalidInput, NotFound
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MAX_ID = 2**63 - 1
MAX_SEARCH_LENGTH = 200
MAX_BODY_BYTES = 1024 * 1024
CURSOR_VERSION = "v1"

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Body = TypeVar("Body", bound=msgspec.Struct)


# -- request bodies -------------------------------------------------------------------


class ContactUsersBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/contacts/{id}/users``: exactly the users to link."""

    user_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)]


class NewUserBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/users``: a new user; without a password they cannot log in yet."""

    username: Annotated[str, msgspec.Meta(max_length=64)]
    role: Literal["admin", "user"]
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


REQUEST_BODIES: tuple[type[msgspec.Struct], ...] = (ContactUsersBody, NewUserBody)


async def json_body(request: Request, body_type: type[Body]) -> Body:
    """The request's JSON body as ``body_type``; ``InvalidInput`` saying what is wrong."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("the request needs a JSON body; see /openapi.json")
    try:
        return msgspec.json.decode(raw, type=body_type)
    except msgspec.ValidationError as error:
        raise InvalidInput(f"invalid request body: {error}") from None
    except msgspec.DecodeError:
        raise InvalidInput("the request body is not valid JSON") from None


# -- path and query -------------------------------------------------------------------


def _decimal(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        return None
    return int(text)


def path_id(request: Request, what: str) -> int:
    """The ``{id}`` of the path: ``InvalidInput`` if it is no number, ``NotFound`` if it
    cannot exist (the same answer as for an absent one)."""
    raw = str(request.path_params["id"])
    number = _decimal(raw)
    if number is None:
        raise InvalidInput(f"a {what} id is a positive whole number, got {raw[:40]!r}")
    if not 1 <= number <= MAX_ID:
        raise NotFound(f"no {what} with id {number}")
    return number


def limit_param(request: Request) -> int:
    """``limit``: 1 to 200, default 50."""
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    number = _decimal(raw.strip())
    if number is None or not 1 <= number <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}, got {raw[:40]!r}"
        )
    return number


def search_param(request: Request) -> str | None:
    """``search``: a substring of name, phone or wa_id; empty means none."""
    raw = request.query_params.get("search", "").strip()
    if len(raw) > MAX_SEARCH_LENGTH:
        raise InvalidInput(f"search is at most {MAX_SEARCH_LENGTH} characters")
    if "\x00" in raw:
        raise InvalidInput("search must not contain NUL characters")
    return raw or None


def flag_param(request: Request, name: str) -> bool:
    """A boolean query parameter: true/false/1/0, absent is false."""
    raw = request.query_params.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise InvalidInput(f"{name} must be true or false, got {raw[:40]!r}")


# -- cursors --------------------------------------------------------------------------


def encode_cursor(listing: str, before_id: int | None) -> str | None:
    """The opaque cursor of the next page of ``listing``, or None after the last page."""
    if before_id is None:
        return None
    payload = f"{CURSOR_VERSION}:{listing}:{before_id}".encode("ascii")
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode_cursor(listing: str, cursor: str) -> int:
    """The ``before_id`` in a cursor of ``listing``; ``InvalidCursor`` for anything else."""
    invalid = InvalidCursor(
        "the cursor is not one this server handed out; start again without a cursor"
    )
    if not cursor or len(cursor) > 64 or not cursor.isascii():
        raise invalid
    try:
        payload = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise invalid from None
    version, _, rest = payload.partition(":")
    kind, _, number_text = rest.partition(":")
    number = _decimal(number_text)
    if version != CURSOR_VERSION or kind != listing or number is None or not 1 <= number <= MAX_ID:
        raise invalid
    if encode_cursor(listing, number) != cursor:  # only the canonical spelling is ours
        raise invalid
    return number


def cursor_param(request: Request, listing: str) -> int | None:
    """``cursor`` of the query as a ``before_id`` (None: the first page)."""
    raw = request.query_params.get("cursor")
    if raw is None or raw == "":
        return None
    return decode_cursor(listing, raw)
