"""Reading what a request says, strictly: path ids, query strings, cursors and JSON bodies.

Each request body and each query string is one msgspec Struct: ``json_body`` and
``query_of`` parse them, and ``/openapi.json`` describes them from the same types.

Anything malformed is an ``InvalidInput`` (HTTP 422) with a one-line message,
never a 500. Cursors are opaque to clients: urlsafe base64 of
``v1:<list>:<before_id>``; one that does not decode to exactly that form, or that
belongs to another list, is an ``InvalidCursor``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request

from wa_manager.domain.errors import InvalidCursor, InvalidInput, NotFound
from wa_manager.domain.messages import MAX_BODY_LENGTH, MAX_HISTORY_LIMIT
from wa_manager.domain.model import ActivityKey, Conversation, Page
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from wa_manager.services.messages import DEFAULT_HISTORY_LIMIT

MAX_ID = 2**63 - 1
MAX_SEARCH_LENGTH = 200
MAX_BODY_BYTES = 1024 * 1024
MAX_CURSOR_LENGTH = 64
CURSOR_VERSION = "v1"

Id = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Body = TypeVar("Body", bound=msgspec.Struct)


# -- request bodies -------------------------------------------------------------------


class ContactUsersBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/contacts/{id}/users``: exactly the users to link."""

    user_ids: Annotated[list[Id], msgspec.Meta(max_length=10_000)]


class MergeBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/contacts/{id}/merge``: the contact that survives (the path's goes)."""

    into: Id


class NewUserBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/users``: a new user; without a password they cannot log in yet."""

    username: Annotated[str, msgspec.Meta(max_length=64)]
    role: Literal["admin", "user"]
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class NewMessageBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/conversations/{id}/messages``: a reply, kept byte for byte."""

    body: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_BODY_LENGTH)]


Password = Annotated[str, msgspec.Meta(max_length=1024)]
IdList = Annotated[list[Id], msgspec.Meta(max_length=10_000)]


class UserChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /api/users/{id}``: what to change (absent: keep)."""

    role: Literal["admin", "user"] | None = None
    disabled: bool | None = None
    password: Password | None = None


class PasswordChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/me/password``: the current password, and the new one."""

    current_password: Password
    new_password: Password


class NewTokenBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/tokens``: a label for the new token."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class NewTeamBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/teams``: a new team's name."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class NewInstanceBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/instances``: an UltraMsg instance and its token (write-only)."""

    instance_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    label: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class TeamMembersBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/teams/{id}/members``: exactly the members."""

    user_ids: IdList


class ContactTeamsBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/contacts/{id}/teams``: exactly the teams to link."""

    team_ids: IdList


Source = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=128,
        pattern="^[^\\x00-\\x1f\\x7f]*$",
        description="only those of this WhatsApp number (instance id, the contacts' source)",
    ),
]


class InstanceMembersBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PUT /api/instances/{id}/members``: exactly the member users and teams."""

    user_ids: IdList
    team_ids: IdList


class BulkLinkBody(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/links/bulk``: ``contact_ids``, or every contact matching ``search``
    (and ``vanished``, ``source``), and the users and teams to link to or unlink from them all."""

    contact_ids: IdList | None = None
    search: (
        Annotated[str, msgspec.Meta(max_length=MAX_SEARCH_LENGTH, pattern="^[^\\x00]*$")] | None
    ) = None
    vanished: bool | None = None
    source: Source | None = None
    add_user_ids: IdList = msgspec.field(default_factory=list)
    remove_user_ids: IdList = msgspec.field(default_factory=list)
    add_team_ids: IdList = msgspec.field(default_factory=list)
    remove_team_ids: IdList = msgspec.field(default_factory=list)


class ConversationChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    """``PATCH /api/conversations/{id}``: a new status and/or assignee (null: nobody);
    what is left out stays as it is."""

    status: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=40,
                description="active, pending or resolved",
                extra_json_schema={"enum": ["active", "pending", "resolved"]},
            ),
        ]
        | UnsetType
    ) = UNSET
    assigned_user_id: Id | UnsetType | None = UNSET


REQUEST_BODIES: tuple[type[msgspec.Struct], ...] = (
    ContactUsersBody,
    NewUserBody,
    NewMessageBody,
    UserChangeBody,
    PasswordChangeBody,
    NewTokenBody,
    NewTeamBody,
    TeamMembersBody,
    ContactTeamsBody,
    BulkLinkBody,
    ConversationChangeBody,
    NewInstanceBody,
)


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


Limit = Annotated[
    int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE, description=f"page size, 1 to {MAX_PAGE_SIZE}")
]
Cursor = Annotated[str, msgspec.Meta(description="next_cursor of the previous page")]
Search = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_SEARCH_LENGTH,
        pattern="^[^\\x00]*$",
        description="a substring of name, phone or wa_id (case-insensitive)",
    ),
]
Vanished = Annotated[
    bool,
    msgspec.Meta(
        description="true: only contacts gone from the chat list; false: only present ones; "
        "absent: all"
    ),
]


class Query(msgspec.Struct, kw_only=True):
    """Base of the query strings: each route's query is one Struct, parsed by ``query_of``
    and described in ``/openapi.json`` from the same type."""


class PageQuery(Query, kw_only=True):
    """``?limit=&cursor=`` of a keyset-paginated list."""

    limit: Limit = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = None

    def before_id(self, listing: str) -> int | None:
        """The cursor as the ``before_id`` of ``listing`` (None: the first page)."""
        return decode_cursor(listing, self.cursor) if self.cursor is not None else None


class ContactQuery(PageQuery, kw_only=True):
    """``GET /api/contacts``: a page of contacts, optionally filtered."""

    search: Search | None = None
    vanished: Vanished | None = None
    source: Source | None = None


Assigned = Annotated[
    str,
    msgspec.Meta(
        pattern="^(me|none|[1-9][0-9]{0,18})$",
        description="me: assigned to the caller; none: to nobody; a user id: to that user",
    ),
]
StatusName = Annotated[
    str,
    msgspec.Meta(
        max_length=40,
        description="only conversations with this status",
        extra_json_schema={"enum": ["active", "pending", "resolved"]},
    ),
]


class ConversationQuery(Query, kw_only=True):
    """``GET /api/conversations``: a page by last activity, optionally filtered."""

    limit: Limit = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = None
    status: StatusName | None = None
    assigned: Assigned | None = None
    search: Search | None = None
    source: Source | None = None

    def before(self) -> ActivityKey | None:
        """The cursor as a position in the activity order (None: the first page)."""
        return decode_activity_cursor(self.cursor) if self.cursor is not None else None

    def assignee(self) -> int | Literal["me", "none"] | None:
        """The ``assigned`` filter as the use case takes it."""
        if self.assigned is None or self.assigned in ("me", "none"):
            return self.assigned  # type: ignore[return-value]
        number = int(self.assigned)
        if number > MAX_ID:
            raise InvalidInput(f"assigned: {number} is no user id; see /api/users")
        return number


class ExportQuery(Query, kw_only=True):
    """``GET /api/contacts.csv``: which contacts, and whether to start with a BOM."""

    search: Search | None = None
    vanished: Vanished | None = None
    source: Source | None = None
    bom: Annotated[bool, msgspec.Meta(description="start with a UTF-8 byte order mark")] = False


class HistoryQuery(Query, kw_only=True):
    """``POST /api/conversations/{id}/history``: how many of the latest messages to fetch."""

    limit: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=MAX_HISTORY_LIMIT,
            description=f"how many of the chat's latest messages, 1 to {MAX_HISTORY_LIMIT}",
        ),
    ] = DEFAULT_HISTORY_LIMIT


class SyncQuery(Query, kw_only=True):
    """``/api/whatsapp-contacts``: a real sync or a dry run."""

    dry_run: Annotated[bool, msgspec.Meta(description="fetch and count, write nothing")] = False
    instance: (
        Annotated[str, msgspec.Meta(description="sync this instance only (default: every one)")]
        | None
    ) = None


QueryType = TypeVar("QueryType", bound=Query)
_TRUE_WORDS = {"true": "true", "1": "true", "yes": "true"}
_FALSE_WORDS = {"false": "false", "0": "false", "no": "false"}


def _flag_word(value: str) -> str:
    lowered = value.lower()
    return _TRUE_WORDS.get(lowered) or _FALSE_WORDS.get(lowered) or value


def query_of(request: Request, query_type: type[QueryType]) -> QueryType:
    """The request's query string as ``query_type``; ``InvalidInput`` saying which parameter
    is wrong. Blank values count as absent; unknown parameters are ignored."""
    flags = {
        field.name for field in msgspec.structs.fields(query_type) if "bool" in str(field.type)
    }
    raw = {}
    for name, value in request.query_params.items():
        value = value.strip()
        if value:
            raw[name] = _flag_word(value) if name in flags else value
    try:
        return msgspec.convert(raw, query_type, strict=False)
    except msgspec.ValidationError as error:
        detail = str(error).replace("`$.", "`")
        raise InvalidInput(f"bad query parameter: {detail}; see /openapi.json") from None


# -- cursors --------------------------------------------------------------------------


def encode_cursor(listing: str, before_id: int | None) -> str | None:
    """The opaque cursor of the next page of ``listing``, or None after the last page."""
    if before_id is None:
        return None
    return _as_cursor(f"{CURSOR_VERSION}:{listing}:{before_id}")


def _invalid_cursor() -> InvalidCursor:
    return InvalidCursor(
        "the cursor is not one this server handed out; start again without a cursor"
    )


def _cursor_text(cursor: str) -> str:
    """What a cursor spells (``v1:...``), or ``InvalidCursor`` when it is no cursor at all."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise _invalid_cursor()
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise _invalid_cursor() from None


def _as_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("ascii")).rstrip(b"=").decode("ascii")


def decode_cursor(listing: str, cursor: str) -> int:
    """The ``before_id`` in a cursor of ``listing``; ``InvalidCursor`` for anything else."""
    payload = _cursor_text(cursor)
    version, _, rest = payload.partition(":")
    kind, _, number_text = rest.partition(":")
    number = _decimal(number_text)
    if version != CURSOR_VERSION or kind != listing or number is None or not 1 <= number <= MAX_ID:
        raise _invalid_cursor()
    if encode_cursor(listing, number) != cursor:  # only the canonical spelling is ours
        raise _invalid_cursor()
    return number


# Conversations run by activity: their cursor is the (time, id) pair of the last row.
ACTIVITY_LISTING = "activity"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def activity_cursor(page: Page[Conversation]) -> str | None:
    """The cursor of the page after ``page`` of conversations, or None after the last."""
    if page.next_before_id is None or not page.items:
        return None
    key = page.items[-1].activity_key
    micros = (key.at - _EPOCH) // timedelta(microseconds=1)
    return _as_cursor(f"{CURSOR_VERSION}:{ACTIVITY_LISTING}:{micros}:{key.id}")


def decode_activity_cursor(cursor: str) -> ActivityKey:
    """The position in a conversations cursor; ``InvalidCursor`` for anything else."""
    payload = _cursor_text(cursor)
    parts = payload.split(":")
    if len(parts) != 4 or parts[:2] != [CURSOR_VERSION, ACTIVITY_LISTING]:
        raise _invalid_cursor()
    micros, number = _decimal(parts[2]), _decimal(parts[3])
    if micros is None or number is None or not 1 <= number <= MAX_ID:
        raise _invalid_cursor()
    try:
        at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise _invalid_cursor() from None
    if str(micros) != parts[2] or str(number) != parts[3] or _as_cursor(payload) != cursor:
        raise _invalid_cursor()  # only our own spelling
    return ActivityKey(at, number)
