"""Domain objects: contacts, conversations, users, links, sync reports.

Value objects are frozen attrs classes with validators; change one with
``attrs.evolve``. The sync's hot path does not build these per chat: it works on
``ChatList`` columns and ``NewContact`` tuples (cheap to hold a million of) and only
the read side turns rows into ``Contact`` and ``Conversation``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import compress
from operator import itemgetter
from typing import Any, Generic, NamedTuple, TypeVar, overload

import attrs
from attrs import field, frozen, validators


class Role(enum.StrEnum):
    """What a user may do: admins see and manage everything, users see their links."""

    ADMIN = "admin"
    USER = "user"


class ChatKind(enum.StrEnum):
    """What a WhatsApp chat id stands for (``docs/ultramsg.md#chat-ids``)."""

    PERSON = "person"  # <digits>@c.us
    LID = "lid"  # <digits>@lid: a person whose number is hidden
    GROUP = "group"  # <digits>-<digits>@g.us, 120363<digits>@g.us
    BROADCAST = "broadcast"  # status@broadcast, <digits>@broadcast
    NEWSLETTER = "newsletter"  # <digits>@newsletter
    SYSTEM = "system"  # 0@c.us, WhatsApp's own chat
    INVALID = "invalid"  # anything without a usable id

    @property
    def is_conversation(self) -> bool:
        """Whether a chat of this kind becomes a contact with a conversation."""
        return self in (ChatKind.PERSON, ChatKind.LID, ChatKind.GROUP)

    @property
    def contact_kind(self) -> str:
        """The contract's ``kind`` of a contact: ``person`` or ``group``."""
        return "group" if self is ChatKind.GROUP else "person"


CONVERSATION_SOURCE = "whatsapp"
CONVERSATION_STATUS_ACTIVE = "active"
CONTACT_KINDS = ("person", "group")


class RawChat(NamedTuple):
    """One item of UltraMsg's chat list, as the adapter read it.

    ``wa_id`` is None when the item had no usable string id; ``name`` is None when
    it was missing, null or not a string. Everything else UltraMsg sends is dropped.
    """

    wa_id: str | None
    name: str | None


class ChatList(Sequence[RawChat]):
    """UltraMsg's chat list as two columns: ``wa_ids[i]`` and ``names[i]`` are the
    ``RawChat`` fields of chat ``i``. A million chats cost two lists and their
    strings, not a million tuples (~64 MB less at the peak of a sync); read as a
    sequence it gives ``RawChat`` tuples, made as they are read.

    What a ``ChatSource`` returns (``ChatList.of`` turns any pairs into one).
    """

    __slots__ = ("names", "wa_ids")

    def __init__(
        self, wa_ids: list[str | None] | None = None, names: list[str | None] | None = None
    ) -> None:
        self.wa_ids: list[str | None] = [] if wa_ids is None else wa_ids
        self.names: list[str | None] = [] if names is None else names
        if len(self.wa_ids) != len(self.names):
            raise ValueError("a chat list needs as many names as ids")

    @classmethod
    def of(cls, chats: Iterable[tuple[str | None, str | None]]) -> ChatList:
        """The chat list of these (wa_id, name) pairs (``RawChat`` or plain tuples)."""
        if isinstance(chats, ChatList):
            return chats
        pairs = chats if isinstance(chats, Sequence) else list(chats)
        return cls(list(map(itemgetter(0), pairs)), list(map(itemgetter(1), pairs)))

    def __len__(self) -> int:
        return len(self.wa_ids)

    def __iter__(self) -> Iterator[RawChat]:
        return map(RawChat._make, zip(self.wa_ids, self.names, strict=True))

    @overload
    def __getitem__(self, index: int) -> RawChat: ...
    @overload
    def __getitem__(self, index: slice) -> ChatList: ...
    def __getitem__(self, index: int | slice) -> RawChat | ChatList:
        if isinstance(index, slice):
            return ChatList(self.wa_ids[index], self.names[index])
        return RawChat(self.wa_ids[index], self.names[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChatList):
            return self.wa_ids == other.wa_ids and self.names == other.names
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChatList({list(self)!r})"


class NewContact(NamedTuple):
    """A contact the sync is about to create (a row, not yet an entity)."""

    wa_id: str
    name: str | None
    phone: str | None
    kind: str


class StoredContactState(NamedTuple):
    """What a sync needs to know of a stored contact: its name and whether it vanished."""

    name: str | None
    vanished: bool


class StoredContacts(NamedTuple):
    """What a sync needs to know of every stored contact of one source, as the store
    reads it in one query: ``wa_ids`` (distinct) and their ``names`` as two parallel
    columns, and the wa_ids marked ``vanished``. A re-sync compares the columns with
    the payload whole, without hashing a million stored ids into a dict of its own
    (a store may hand over lazy sequences that compare equal to lists, as the SQL
    store's JSON columns do). ``of`` builds it from a wa_id -> ``StoredContactState`` map.
    """

    wa_ids: Sequence[str]
    names: Sequence[str | None]
    vanished: set[str]

    @classmethod
    def of(cls, states: Mapping[str, StoredContactState]) -> StoredContacts:
        """The same contacts from a wa_id -> (name, vanished) mapping."""
        return cls(
            list(states.keys()),
            list(map(itemgetter(0), states.values())),
            set(compress(states.keys(), map(itemgetter(1), states.values()))),
        )


def _non_empty(_: object, attribute: Any, value: str) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


@frozen
class Contact:
    """A WhatsApp chat partner (person or group) as stored: unique by (source, wa_id)."""

    id: int
    source: str = field(validator=_non_empty)
    wa_id: str = field(validator=_non_empty)
    name: str | None
    phone: str | None
    kind: str = field(validator=validators.in_(CONTACT_KINDS))
    created_at: datetime
    last_seen_at: datetime | None = None
    vanished_at: datetime | None = None
    user_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()


@frozen
class ContactSummary:
    """The part of a contact that a conversation shows; ``source`` is its WhatsApp
    number (instance id)."""

    id: int
    wa_id: str
    name: str | None
    phone: str | None
    source: str | None = None


@frozen
class Conversation:
    """The one WhatsApp conversation of a contact."""

    id: int
    contact: ContactSummary
    status: str = CONVERSATION_STATUS_ACTIVE
    source: str = CONVERSATION_SOURCE
    assigned_user_id: int | None = None
    created_at: datetime | None = None
    last_message_at: datetime | None = None
    last_message: MessagePreview | None = None

    @property
    def activity_at(self) -> datetime:
        """When something last happened here: the newest message's time, else creation."""
        moment = self.last_message_at or self.created_at
        assert moment is not None, "a stored conversation has a creation time"
        return moment

    @property
    def activity_key(self) -> ActivityKey:
        """Where this conversation stands in the activity order (newest first)."""
        return ActivityKey(self.activity_at, self.id)


@frozen
class User:
    """A member of the team who signs in; ``active`` false means locked out."""

    id: int
    username: str = field(validator=_non_empty)
    role: Role = field(converter=Role)
    active: bool = True
    created_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        """Admins see every conversation and manage links, users and syncs."""
        return self.role is Role.ADMIN

    @property
    def disabled(self) -> bool:
        """The wire name of a locked-out user (``not active``)."""
        return not self.active


@frozen
class SystemActor:
    """wa-manager acting for whoever runs it with the database in hand: the command
    line, the scheduler, webhooks, a program importing the library.

    Trusted like an admin, and recorded as nobody (``id`` None) in audit trails;
    ``name`` says which part of the system acted (``cli``, ``schedule``, ...).
    """

    name: str = field(validator=_non_empty)

    @property
    def id(self) -> None:
        """System actions are recorded without a user."""
        return None

    @property
    def is_admin(self) -> bool:
        """The system may do everything an admin may."""
        return True

    @property
    def active(self) -> bool:
        """The system is never locked out."""
        return True


CLI = SystemActor("cli")
SCHEDULER = SystemActor("schedule")
LIBRARY = SystemActor("library")
WEBHOOK = SystemActor("webhook")

Actor = User | SystemActor
"""Who a use case acts for: a signed-in user, or the system itself. Always required."""


@frozen
class ContactLink:
    """A grant: ``user_id`` may see the conversations of ``contact_id``."""

    contact_id: int
    user_id: int
    created_by: int | None = None
    created_at: datetime | None = None


@frozen
class LinkEvent:
    """One line of the link audit trail: who linked or unlinked whom, and when.

    A link of a user has ``user_id`` set; a link of a team has ``team_id`` set instead;
    a ``merge`` has neither, and ``merged_contact_id`` names the contact merged into
    this one (its links now this one's).
    """

    contact_id: int
    user_id: int | None
    action: str = field(validator=validators.in_(("link", "unlink", "merge")))
    actor_id: int | None
    at: datetime
    team_id: int | None = None
    merged_contact_id: int | None = None


class DuplicateReason(enum.StrEnum):
    """Why two contacts of one source are likely one person."""

    SAME_PHONE = "same_phone"  # two chat ids with the same E.164 phone
    BRAZIL_NINTH_DIGIT = "brazil_ninth_digit"  # a Brazilian mobile with and without its 9
    SAME_NAME_LID = "same_name_lid"  # a ``@lid`` named exactly like a ``@c.us``


class ConversationState(NamedTuple):
    """What a merge settles of a conversation: its id, status and assignee."""

    id: int
    status: str
    assigned_user_id: int | None


class MergedConversations(NamedTuple):
    """The survivor's conversation (``kept``, the one left) and the merged one's state."""

    kept: ConversationState
    merged: ConversationState


@frozen(order=True)
class DuplicatePair:
    """A suggestion: two contacts of one source (``first_id`` < ``second_id``) and why."""

    first_id: int
    second_id: int
    reason: DuplicateReason = field(converter=DuplicateReason)


@frozen
class Duplicate:
    """A suggestion with both contacts as a list shows them."""

    pair: DuplicatePair
    first: Contact
    second: Contact


@frozen
class Team:
    """A named group of users: linking a contact to a team lets every member see it."""

    id: int
    name: str = field(validator=_non_empty)
    user_ids: tuple[int, ...] = ()
    created_at: datetime | None = None


@frozen
class TeamEvent:
    """One line of a team's audit trail: who added or removed a member, and when."""

    team_id: int
    user_id: int
    action: str = field(validator=validators.in_(("join", "leave")))
    actor_id: int | None
    at: datetime


@frozen
class InstanceMembers:
    """Who is a member of a WhatsApp number (UltraMsg instance): every member, directly
    or through one of its teams, sees every conversation of that instance."""

    instance_id: str = field(validator=_non_empty)
    user_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()


class BulkLinkChange(NamedTuple):
    """What a bulk link changes on every chosen contact (ids of users and teams)."""

    add_user_ids: tuple[int, ...] = ()
    remove_user_ids: tuple[int, ...] = ()
    add_team_ids: tuple[int, ...] = ()
    remove_team_ids: tuple[int, ...] = ()


class ContactSelection(NamedTuple):
    """Which contacts a bulk operation touches: these ids, or every match of a filter."""

    contact_ids: tuple[int, ...] | None = None
    search: str | None = None
    vanished: bool | None = None
    source: str | None = None


@frozen
class ApiToken:
    """A stored API token: only its hash is kept; the secret is shown once."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@frozen
class SyncReport:
    """What one sync did; the contract's report keys are its attributes."""

    instance_id: str
    fetched: int = field(validator=validators.ge(0))
    created_contacts: int = field(validator=validators.ge(0))
    created_conversations: int = field(validator=validators.ge(0))
    updated_contacts: int = field(validator=validators.ge(0))
    skipped: int = field(validator=validators.ge(0))
    duration_ms: int = field(validator=validators.ge(0))
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The report as the contract's JSON object: its fields, in order."""
        return attrs.asdict(self)


@frozen
class SyncRun:
    """A recorded sync: when, why, by whom, and what came of it."""

    id: int
    instance_id: str
    trigger: str  # cli | api | ui | schedule | library
    actor_id: int | None
    started_at: datetime
    finished_at: datetime | None = None
    report: SyncReport | None = None
    error: str | None = None
    interrupted_at: datetime | None = None  # when it was found (or made) interrupted

    @property
    def state(self) -> str:
        """``running``, ``succeeded``, ``failed``, or ``interrupted``: its process stopped
        (killed, or Ctrl-C) before the sync finished, so nothing of it was committed."""
        if self.interrupted_at is not None:
            return "interrupted"
        if self.finished_at is None:
            return "running"
        return "failed" if self.error is not None else "succeeded"


Item = TypeVar("Item")


@frozen
class Page(Generic[Item]):
    """One page of a keyset-paginated list, newest first: ``Page[Contact]`` and so on.

    ``next_before_id`` is the id to pass as ``before_id`` for the next page, or
    None on the last page. Entrypoints wrap it in an opaque cursor.
    """

    items: tuple[Item, ...]
    next_before_id: int | None


class RawMessage(NamedTuple):
    """One message of a chat as the UltraMsg adapter read it (history or webhook).

    Every field UltraMsg left out, or sent with an unusable type, is None (``type``:
    ``"unknown"``; ``from_me``: guessed from the id's ``true_``/``false_`` prefix,
    else False). Empty ``id``, ``media``, ``author`` and ``pushname`` are None too;
    ``body`` is kept as sent, an empty string included. ``sent_at`` is the message's
    own time in UTC (UltraMsg's ``timestamp`` or ``time``, unix seconds). Text never
    holds a lone UTF-16 surrogate: the adapter replaces one with U+FFFD. ``delivery``
    is how far an outbound message had come when it was read (its ``ack``), if said.
    """

    wa_message_id: str | None
    chat_id: str
    from_me: bool
    type: str
    body: str | None
    media_url: str | None
    author: str | None
    sender_name: str | None
    sent_at: datetime | None
    delivery: MessageStatus | None = None


@frozen
class SendReceipt:
    """UltraMsg accepted a message for sending: ``upstream_id`` is its queue id.

    It is not the WhatsApp message id, which arrives later in the
    ``message_create`` webhook with the ``referenceId`` we sent (docs/ultramsg.md).
    """

    upstream_id: str | None


class MessageStatus(enum.StrEnum):
    """Where a message stands: inbound ones are ``received``; ours go
    ``queued`` → ``sent`` → ``delivered`` → ``read``, or ``failed``."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class Direction(enum.StrEnum):
    """Whether a message came to us or went out from us."""

    IN = "in"
    OUT = "out"


@frozen
class Message:
    """One WhatsApp message of a conversation, inbound or outbound.

    Unique by (``source``, ``wa_message_id``) once WhatsApp has named it;
    ``created_at`` is the message's own time (UltraMsg's), not when we stored it.
    ``reference_id`` ties an outbound message we sent to UltraMsg's ``message_create``
    webhook for it; ``sent_by_user_id`` is who sent it from wa-manager (None: typed
    on the phone, or inbound).
    """

    id: int
    conversation_id: int
    source: str
    wa_message_id: str | None
    direction: Direction = field(converter=Direction)
    type: str
    body: str | None
    media_url: str | None
    author: str | None
    sender_name: str | None
    status: MessageStatus = field(converter=MessageStatus)
    error: str | None
    sent_by_user_id: int | None
    created_at: datetime
    reference_id: str | None = None


class NewMessage(NamedTuple):
    """A message about to be stored (from a webhook or a history fetch)."""

    conversation_id: int
    wa_message_id: str
    direction: Direction
    type: str
    body: str | None
    media_url: str | None
    author: str | None
    sender_name: str | None
    status: MessageStatus
    created_at: datetime


@frozen
class SignedInSession:
    """A live browser session as the store holds it: whose, and since when.

    The session's secret is never stored, only its hash (``services.sessions``).
    """

    id: int
    user: User
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@frozen
class TokenUse:
    """A live API token found by its hash: its id, its user, and when it was last used."""

    token_id: int
    user: User
    last_used_at: datetime | None


class ConversationStatus(enum.StrEnum):
    """Where a conversation stands in the inbox: a new inbound message makes a
    ``pending`` or ``resolved`` one ``active`` again."""

    ACTIVE = "active"
    PENDING = "pending"
    RESOLVED = "resolved"


REOPENED_BY_INBOUND = (ConversationStatus.PENDING, ConversationStatus.RESOLVED)


@frozen
class MessagePreview:
    """The newest message of a conversation, as its list row shows it."""

    body: str | None
    type: str
    direction: Direction = field(converter=Direction)
    created_at: datetime


@frozen(order=True)
class ActivityKey:
    """A position in the activity order: (last activity, id), compared as a pair.

    Lists run newest first; the page after ``key`` holds what is strictly below it.
    """

    at: datetime
    id: int


class ConversationEventType(enum.StrEnum):
    """What changed in a conversation's workflow."""

    ASSIGNED = "assigned"  # to someone (from nobody or from someone else)
    UNASSIGNED = "unassigned"
    STATUS = "status"


@frozen
class ConversationEvent:
    """One line of a conversation's workflow trail, and the change it makes.

    ``from_value``/``to_value`` are status names for ``status`` events and user ids
    (as text, None for nobody) for assignment events; ``actor_id`` None is the
    system (an inbound message reopening it, an access change done from the CLI).
    """

    conversation_id: int
    type: ConversationEventType = field(converter=ConversationEventType)
    from_value: str | None
    to_value: str | None
    actor_id: int | None
    at: datetime

    @classmethod
    def status_change(
        cls, conversation_id: int, old: str, new: str, actor_id: int | None, at: datetime
    ) -> ConversationEvent:
        """A move from status ``old`` to ``new``."""
        return cls(conversation_id, ConversationEventType.STATUS, old, new, actor_id, at)

    @classmethod
    def assignment(
        cls,
        conversation_id: int,
        old: int | None,
        new: int | None,
        actor_id: int | None,
        at: datetime,
    ) -> ConversationEvent:
        """A move of the assignment from user ``old`` to ``new`` (None: nobody)."""
        kind = ConversationEventType.UNASSIGNED if new is None else ConversationEventType.ASSIGNED
        return cls(conversation_id, kind, _id_text(old), _id_text(new), actor_id, at)

    @property
    def from_user_id(self) -> int | None:
        """The previous assignee of an assignment event."""
        return _text_id(self.from_value) if self.type is not ConversationEventType.STATUS else None

    @property
    def to_user_id(self) -> int | None:
        """The new assignee of an assignment event (None: unassigned)."""
        return _text_id(self.to_value) if self.type is not ConversationEventType.STATUS else None


def _id_text(user_id: int | None) -> str | None:
    return None if user_id is None else str(user_id)


def _text_id(text: str | None) -> int | None:
    return None if text is None else int(text)


@frozen
class ConversationFilter:
    """Which conversations a list shows: by status, by assignee, by contact text.

    ``assigned_user_id`` keeps those assigned to that user; ``unassigned`` those
    assigned to nobody; ``search`` is a case-insensitive substring of the
    contact's name, phone or wa_id; ``source`` keeps those of that WhatsApp number
    (instance id).
    """

    status: str | None = None
    assigned_user_id: int | None = None
    unassigned: bool = False
    search: str | None = None
    source: str | None = None


EVERY_CONVERSATION = ConversationFilter()
"""The filter that keeps everything."""
