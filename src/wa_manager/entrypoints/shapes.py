"""Every answer's wire shape, described once: msgspec Structs shared by the CLI and HTTP.

Each Struct is the JSON a client sees (``docs/interface.md``, "Shapes"); its
``of(...)`` builds it from domain objects. The same Structs give
``/openapi.json`` its component schemas (``msgspec.json.schema_components``) and
the CLI its ``--json`` output (``as_json``), so the document, the API and the
CLI cannot drift apart. Times are strings in ISO 8601 with a timezone
(``iso_time``: a naive time from SQLite is UTC), described as ``date-time``.
The sync report is the domain's own ``SyncReport`` (msgspec encodes attrs
classes), so its keys are written down in one place too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from wa_manager.domain import model
from wa_manager.domain.instances import InstanceSummary
from wa_manager.domain.model import SyncReport
from wa_manager.domain.times import iso_time
from wa_manager.services.scheduler import SchedulerState
from wa_manager.services.status import InstanceStatus as InstanceStatus_
from wa_manager.services.sync import SyncOutcome
from wa_manager.services.webhooks import WebhookResult

Item = TypeVar("Item")
Id = Annotated[int, msgspec.Meta(ge=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]


def one_of(*values: str) -> msgspec.Meta:
    """Says in the schema that a string is one of ``values`` (an ``enum``)."""
    return msgspec.Meta(extra_json_schema={"enum": list(values)})


ContactKind = Annotated[str, one_of("person", "group")]
RoleName = Annotated[str, one_of("admin", "user")]
Trigger = Annotated[str, one_of("cli", "api", "ui", "schedule", "library")]
SyncRunState = Annotated[str, one_of("running", "succeeded", "failed", "interrupted")]
LinkAction = Annotated[str, one_of("link", "unlink", "merge")]
DuplicateReasonName = Annotated[str, one_of("same_phone", "brazil_ninth_digit", "same_name_lid")]
WebhookStatus = Annotated[str, one_of("created", "touched", "acknowledged", "ignored")]
Direction = Annotated[str, one_of("in", "out")]
ConversationStatusName = Annotated[str, one_of("active", "pending", "resolved")]
ConversationEventTypeName = Annotated[str, one_of("assigned", "unassigned", "status")]
MessageStatusName = Annotated[
    str, one_of("received", "queued", "sent", "delivered", "read", "failed")
]


def _time(value: Any) -> str:
    text = iso_time(value)
    assert text is not None, "a required time is missing"
    return text


def _name_of(user_id: int | None, usernames: Mapping[int, str]) -> str | None:
    return usernames.get(user_id) if user_id is not None else None


class Shape(msgspec.Struct):
    """Base of the answers: ``as_json()`` gives the plain JSON value (for the CLI)."""

    def as_json(self) -> Any:
        """This answer as dicts, lists and scalars."""
        return msgspec.to_builtins(self)


class ErrorDetail(Shape):
    """What went wrong: a stable ``code`` and a one-line ``message`` that says what to do."""

    code: str
    message: str


class Error(Shape):
    """Every error answer: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class Contact(Shape):
    """A synced WhatsApp chat partner (person or group)."""

    id: Id
    wa_id: str
    name: str | None
    phone: str | None
    kind: ContactKind
    source: str
    user_ids: list[Id]
    created_at: Time
    last_seen_at: Time | None
    vanished_at: Time | None
    team_ids: list[Id]

    @classmethod
    def of(cls, contact: model.Contact) -> Contact:
        """The shape of a stored contact."""
        return cls(
            id=contact.id,
            wa_id=contact.wa_id,
            name=contact.name,
            phone=contact.phone,
            kind=contact.kind,
            source=contact.source,
            user_ids=list(contact.user_ids),
            created_at=_time(contact.created_at),
            last_seen_at=iso_time(contact.last_seen_at),
            vanished_at=iso_time(contact.vanished_at),
            team_ids=list(contact.team_ids),
        )


class ContactSummary(Shape):
    """The part of a contact a conversation shows; ``source``: its WhatsApp number."""

    id: Id
    wa_id: str
    name: str | None
    phone: str | None
    source: str | None

    @classmethod
    def of(cls, contact: model.ContactSummary) -> ContactSummary:
        """The shape of a conversation's contact."""
        return cls(
            id=contact.id,
            wa_id=contact.wa_id,
            name=contact.name,
            phone=contact.phone,
            source=contact.source,
        )


class Duplicate(Shape):
    """Two contacts of one source that are likely one person (``contact_ids`` ascending),
    why, and both contacts (in the same order)."""

    contact_ids: list[Id]
    reason: DuplicateReasonName
    contacts: list[Contact]

    @classmethod
    def of(cls, duplicate: model.Duplicate) -> Duplicate:
        """The shape of a suggestion."""
        pair = duplicate.pair
        return cls(
            contact_ids=[pair.first_id, pair.second_id],
            reason=str(pair.reason),
            contacts=[Contact.of(duplicate.first), Contact.of(duplicate.second)],
        )


class MessagePreview(Shape):
    """A conversation's newest message, as its list row shows it."""

    body: str | None
    type: str
    direction: Direction
    created_at: Time

    @classmethod
    def of(cls, preview: model.MessagePreview | None) -> MessagePreview | None:
        """The shape of a preview (None: no message yet)."""
        if preview is None:
            return None
        return cls(
            body=preview.body,
            type=preview.type,
            direction=str(preview.direction),
            created_at=_time(preview.created_at),
        )


class Conversation(Shape):
    """The one WhatsApp conversation of a contact, with its newest message."""

    id: Id
    contact: ContactSummary
    status: ConversationStatusName
    source: str
    assigned_user_id: int | None
    created_at: Time | None
    last_message_at: Time | None
    last_message: MessagePreview | None

    @classmethod
    def of(cls, conversation: model.Conversation) -> Conversation:
        """The shape of a conversation."""
        return cls(
            id=conversation.id,
            contact=ContactSummary.of(conversation.contact),
            status=conversation.status,
            source=conversation.source,
            assigned_user_id=conversation.assigned_user_id,
            created_at=iso_time(conversation.created_at),
            last_message_at=iso_time(conversation.last_message_at),
            last_message=MessagePreview.of(conversation.last_message),
        )


class ConversationEvent(Shape):
    """One change of a conversation's workflow: ``from``/``to`` are statuses for
    ``status`` events and user ids (null: nobody) for assignment events, whose
    ``from_user``/``to_user`` name them; ``actor`` null is the system."""

    type: ConversationEventTypeName
    from_: str | int | None = msgspec.field(name="from")
    to: str | int | None
    actor_id: int | None
    actor: str | None
    at: Time
    from_user: str | None = None
    to_user: str | None = None

    @classmethod
    def of(cls, event: model.ConversationEvent, usernames: Mapping[int, str]) -> ConversationEvent:
        """The shape of a workflow event, with the names of the people it mentions."""
        if event.type is model.ConversationEventType.STATUS:
            old: str | int | None = event.from_value
            new: str | int | None = event.to_value
        else:
            old, new = event.from_user_id, event.to_user_id
        return cls(
            type=str(event.type),
            from_=old,
            to=new,
            actor_id=event.actor_id,
            actor=_name_of(event.actor_id, usernames),
            at=_time(event.at),
            from_user=_name_of(event.from_user_id, usernames),
            to_user=_name_of(event.to_user_id, usernames),
        )


class User(Shape):
    """A member of the team (never a password hash); a disabled user cannot sign in."""

    id: Id
    username: str
    role: RoleName
    disabled: bool
    created_at: Time | None

    @classmethod
    def of(cls, user: model.User) -> User:
        """The shape of a user."""
        return cls(
            id=user.id,
            username=user.username,
            role=str(user.role),
            disabled=user.disabled,
            created_at=iso_time(user.created_at),
        )


class InstanceMembers(Shape):
    """Who is a member of a WhatsApp number (instance): each member user, and each
    member of each member team, sees every conversation of that instance."""

    instance_id: str
    user_ids: list[Id]
    team_ids: list[Id]

    @classmethod
    def of(cls, members: model.InstanceMembers) -> InstanceMembers:
        """The shape of an instance's members."""
        return cls(
            instance_id=members.instance_id,
            user_ids=list(members.user_ids),
            team_ids=list(members.team_ids),
        )


class Team(Shape):
    """A named group of users: a contact linked to it is seen by every member."""

    id: Id
    name: str
    user_ids: list[Id]
    created_at: Time | None

    @classmethod
    def of(cls, team: model.Team) -> Team:
        """The shape of a team with its members."""
        return cls(
            id=team.id,
            name=team.name,
            user_ids=list(team.user_ids),
            created_at=iso_time(team.created_at),
        )


class TeamEvent(Shape):
    """One line of a team's audit trail: a member joined or left."""

    team_id: Id
    user_id: Id
    username: str | None
    action: Annotated[str, one_of("join", "leave")]
    actor_id: int | None
    actor: str | None
    at: Time

    @classmethod
    def of(cls, event: model.TeamEvent, usernames: Mapping[int, str]) -> TeamEvent:
        """The shape of a membership event, with the names of the user and the actor."""
        return cls(
            team_id=event.team_id,
            user_id=event.user_id,
            username=usernames.get(event.user_id),
            action=event.action,
            actor_id=event.actor_id,
            actor=_name_of(event.actor_id, usernames),
            at=_time(event.at),
        )


class Token(Shape):
    """An API token as listed: who owns it, its label and its use; never the secret."""

    id: Id
    username: str
    name: str
    created_at: Time
    last_used_at: Time | None
    revoked_at: Time | None

    @classmethod
    def of(cls, token: model.ApiToken, username: str) -> Token:
        """The shape of a stored token and its owner's name."""
        return cls(
            id=token.id,
            username=username,
            name=token.name,
            created_at=_time(token.created_at),
            last_used_at=iso_time(token.last_used_at),
            revoked_at=iso_time(token.revoked_at),
        )


class NewToken(Shape):
    """A token just made: ``token`` is the secret, shown this once and never again."""

    id: Id
    name: str
    token: str
    created_at: Time

    @classmethod
    def of(cls, token: model.ApiToken, secret: str) -> NewToken:
        """The shape of a new token with its secret."""
        return cls(id=token.id, name=token.name, token=secret, created_at=_time(token.created_at))


class BulkLinked(Shape):
    """What a bulk link did: how many contacts it chose, how many links changed."""

    contacts: Count
    changed: Count


class TeamIds(Shape):
    """The teams linked to a contact."""

    team_ids: list[Id]


class Link(Shape):
    """One link of ``wa-manager links list``: who may see which contact."""

    contact_id: Id
    wa_id: str
    username: str
    user_id: Id

    @classmethod
    def of(cls, link: model.ContactLink, contact: model.Contact, user: model.User) -> Link:
        """The shape of a link with its contact and user."""
        return cls(
            contact_id=link.contact_id, wa_id=contact.wa_id, username=user.username, user_id=user.id
        )


class SyncRun(Shape):
    """A recorded sync: when, why, by whom, and its report or error."""

    id: Id
    instance_id: str
    trigger: Trigger
    actor_id: int | None
    actor: str | None
    started_at: Time
    finished_at: Time | None
    report: SyncReport | None
    error: str | None
    # interrupted: its process stopped (killed, Ctrl-C) before the sync finished;
    # nothing of it was written. Found at the next sync or server start.
    state: SyncRunState

    @classmethod
    def of(cls, run: model.SyncRun, usernames: Mapping[int, str]) -> SyncRun:
        """The shape of a recorded sync, with the name of who started it."""
        return cls(
            id=run.id,
            instance_id=run.instance_id,
            trigger=run.trigger,
            actor_id=run.actor_id,
            actor=_name_of(run.actor_id, usernames),
            started_at=_time(run.started_at),
            finished_at=iso_time(run.finished_at),
            report=run.report,
            error=run.error,
            state=run.state,
        )


class LinkEvent(Shape):
    """One line of a contact's link audit trail: a user's link (``user_id``) or a
    team's (``team_id``; ``user_id`` null), or a ``merge`` of the contact
    ``merged_contact_id`` into this one (both null)."""

    contact_id: Id
    user_id: Id | None
    username: str | None
    action: LinkAction
    actor_id: int | None
    actor: str | None
    at: Time
    team_id: Id | None = None
    team: str | None = None
    merged_contact_id: Id | None = None

    @classmethod
    def of(
        cls,
        event: model.LinkEvent,
        usernames: Mapping[int, str],
        team_names: Mapping[int, str] | None = None,
    ) -> LinkEvent:
        """The shape of an audit event, with the names of the user or team and the actor."""
        return cls(
            contact_id=event.contact_id,
            user_id=event.user_id,
            username=_name_of(event.user_id, usernames),
            action=event.action,
            actor_id=event.actor_id,
            actor=_name_of(event.actor_id, usernames),
            at=_time(event.at),
            team_id=event.team_id,
            team=_name_of(event.team_id, team_names or {}),
            merged_contact_id=event.merged_contact_id,
        )


class SyncSchedule(Shape):
    """The scheduled sync's state (``serve --sync-every``); only ``enabled`` without one."""

    enabled: bool
    interval_seconds: float | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    running: bool | UnsetType = UNSET
    next_run_at: Time | UnsetType | None = UNSET
    last_started_at: Time | UnsetType | None = UNSET
    last_finished_at: Time | UnsetType | None = UNSET
    last_error: str | UnsetType | None = UNSET
    consecutive_failures: Count | UnsetType = UNSET
    last_report: SyncReport | UnsetType | None = UNSET

    @classmethod
    def of(cls, state: SchedulerState | None) -> SyncSchedule:
        """The shape of the scheduler's state, or of no scheduler."""
        if state is None:
            return cls(enabled=False)
        return cls(
            enabled=True,
            interval_seconds=state.interval_seconds,
            active=state.active,
            running=state.running,
            next_run_at=iso_time(state.next_run_at),
            last_started_at=iso_time(state.last_started_at),
            last_finished_at=iso_time(state.last_finished_at),
            last_error=state.last_error,
            consecutive_failures=state.consecutive_failures,
            last_report=state.last_report,
        )


class InstanceStatus(Shape):
    """Whether the UltraMsg instance is connected, and what its state means; with several
    instances configured, these keys are the first (default) one's and ``instances`` has
    every one's."""

    instance_id: str
    status: str | None
    connected: bool
    explanation: str
    instances: list[InstanceStatusEntry] | UnsetType = UNSET

    @classmethod
    def of(cls, state: InstanceStatus_) -> InstanceStatus:
        """The shape of an instance's status."""
        return cls(
            instance_id=state.instance_id,
            status=state.status,
            connected=state.connected,
            explanation=state.explanation,
        )


class StatusReport(InstanceStatus):
    """``wa-manager status --json``: the instance's status and the last sync."""

    last_sync: SyncRun | None = None

    @classmethod
    def with_last_sync(
        cls, state: InstanceStatus_, last: model.SyncRun | None, usernames: Mapping[int, str]
    ) -> StatusReport:
        """The instance's status and the last recorded sync."""
        status = InstanceStatus.of(state)
        return cls(
            instance_id=status.instance_id,
            status=status.status,
            connected=status.connected,
            explanation=status.explanation,
            last_sync=SyncRun.of(last, usernames) if last is not None else None,
        )


class Instance(Shape):
    """One WhatsApp number (``instances list``): never its token. ``default`` is true for
    the environment's instance (``ULTRAMSG_INSTANCE_ID``), which is not stored."""

    instance_id: str
    label: str | None
    contacts: Count
    last_sync_at: Time | None
    webhook_path: str | None
    default: bool

    @classmethod
    def of(cls, summary: InstanceSummary) -> Instance:
        """The shape of an instance's summary."""
        return cls(
            instance_id=summary.instance_id,
            label=summary.label,
            contacts=summary.contacts,
            last_sync_at=iso_time(summary.last_sync_at),
            webhook_path=summary.webhook_path,
            default=not summary.stored,
        )


class InstanceSync(Shape):
    """One instance's part of a sync of several: its report's keys, or ``error``."""

    instance_id: str
    fetched: Count | UnsetType = UNSET
    created_contacts: Count | UnsetType = UNSET
    created_conversations: Count | UnsetType = UNSET
    updated_contacts: Count | UnsetType = UNSET
    skipped: Count | UnsetType = UNSET
    duration_ms: Count | UnsetType = UNSET
    dry_run: bool | UnsetType = UNSET
    error: str | UnsetType = UNSET

    @classmethod
    def of(cls, outcome: SyncOutcome) -> InstanceSync:
        """The report of a synced instance, or ``{"instance_id", "error"}`` of a failed one."""
        if outcome.report is None:
            return cls(instance_id=outcome.instance_id, error=str(outcome.error))
        return msgspec.convert(msgspec.to_builtins(outcome.report), InstanceSync)


class SyncReports(Shape):
    """A sync of several instances: ``{"reports": [...]}``, one per instance."""

    reports: list[InstanceSync]

    @classmethod
    def of(cls, outcomes: list[SyncOutcome]) -> SyncReports:
        """The shape of every instance's outcome, in order."""
        return cls([InstanceSync.of(outcome) for outcome in outcomes])


class InstanceStatusEntry(Shape):
    """One instance's status in a report of several: as ``InstanceStatus``, or with
    ``error`` when it could not be asked (then ``connected`` is false)."""

    instance_id: str
    status: str | None
    connected: bool
    explanation: str
    error: str | UnsetType = UNSET

    @classmethod
    def of(cls, answer: InstanceStatus_ | SyncOutcome) -> InstanceStatusEntry:
        """An instance's status, or why it is unknown."""
        if isinstance(answer, InstanceStatus_):
            return cls(answer.instance_id, answer.status, answer.connected, answer.explanation)
        return cls(answer.instance_id, None, False, str(answer.error), error=str(answer.error))


class WebhookAnswer(Shape):
    """What a webhook did: ``created``, ``touched`` or ``ignored`` (with the reason)."""

    status: WebhookStatus
    wa_id: str | None
    reason: str | None
    message: str | UnsetType = UNSET  # what became of the message, when there was one

    @classmethod
    def of(cls, result: WebhookResult) -> WebhookAnswer:
        """The shape of a webhook's outcome."""
        return cls(
            status=str(result.outcome),
            wa_id=result.wa_id,
            reason=result.reason,
            message=result.message if result.message is not None else UNSET,
        )


class Message(Shape):
    """One message of a conversation, in or out, with its delivery state."""

    id: Id
    conversation_id: Id
    wa_message_id: str | None
    direction: Direction
    type: str
    body: str | None
    media_url: str | None
    author: str | None
    sender_name: str | None
    status: MessageStatusName
    error: str | None
    sent_by_user_id: int | None
    created_at: Time

    @classmethod
    def of(cls, message: model.Message) -> Message:
        """The shape of a stored message."""
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            wa_message_id=message.wa_message_id,
            direction=str(message.direction),
            type=message.type,
            body=message.body,
            media_url=message.media_url,
            author=message.author,
            sender_name=message.sender_name,
            status=str(message.status),
            error=message.error,
            sent_by_user_id=message.sent_by_user_id,
            created_at=_time(message.created_at),
        )


class HistoryFetched(Shape):
    """What a history fetch did: messages UltraMsg gave, and how many were new."""

    fetched: Count
    created: Count


class Page(Shape, Generic[Item]):
    """One page of a list, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[Item]
    next_cursor: str | None


class Items(Shape, Generic[Item]):
    """A whole list."""

    items: list[Item]


class UserIds(Shape):
    """The users linked to a contact."""

    user_ids: list[Id]


class Health(Shape):
    """The database answers."""

    status: Annotated[str, one_of("ok")]
