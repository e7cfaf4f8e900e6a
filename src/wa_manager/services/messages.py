"""Messages: reading a conversation's thread, replying, retrying, fetching history.

Everything here needs the right to see the conversation: the conversation is
read through the query that takes the viewer first, and an invisible one is the
same ``NotFound`` as an absent one, for reads, sends, retries and history alike.

A reply is stored as ``queued`` (committed) before UltraMsg is called, then set
to ``sent`` or ``failed`` with the reason, so its text is never lost and a crash
in between leaves a queued message, not a missing one. UltraMsg is called at
most once per attempt: a failure that may have reached UltraMsg is ``failed``,
and only the person decides to ``retry``. An ``idempotency_key`` makes a
repeated request give back the first message instead of sending again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from attrs import frozen

from wa_manager.domain.errors import ConfigError, Conflict, InvalidInput, NotFound, UpstreamError
from wa_manager.domain.messages import MAX_HISTORY_LIMIT, new_message, validate_body
from wa_manager.domain.model import (
    Actor,
    Conversation,
    Direction,
    Message,
    MessageStatus,
    Page,
)
from wa_manager.domain.ports import Clock, MessageChannel, UnitOfWork, UnitOfWorkFactory
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, check_limit
from wa_manager.services.inbox import store_messages
from wa_manager.services.permissions import Action, authorize

REFERENCE_PREFIX = "wam-"
MAX_IDEMPOTENCY_KEY_LENGTH = 200
DEFAULT_HISTORY_LIMIT = 100

Channel = Callable[[str], MessageChannel]
"""Gives the channel to an UltraMsg instance, by its id: the conversation's contact's
``source`` (``ConfigError`` when it is not set up); bound by ``bootstrap``, asked only
when a message is sent or history fetched."""


@frozen
class HistoryResult:
    """What a history fetch did: how many messages UltraMsg gave, how many were new."""

    fetched: int
    created: int


@frozen
class Sent:
    """A reply and whether it was sent now (False: an idempotent repeat of an earlier one)."""

    message: Message
    created: bool


def _visible_conversation(uow: UnitOfWork, actor: Actor, conversation_id: int) -> Conversation:
    conversation = uow.conversations.get(actor, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation with id {conversation_id}")
    return conversation


def _chat_of(uow: UnitOfWork, conversation: Conversation) -> tuple[str, str]:
    """(source, chat id) of the conversation's contact."""
    contact = uow.contacts.get(conversation.contact.id)
    if contact is None:  # deleted in between: as absent
        raise NotFound(f"no conversation with id {conversation.id}")
    return contact.source, contact.wa_id


def check_idempotency_key(key: str | None) -> str | None:
    """An ``Idempotency-Key`` of 1 to 200 printable characters, or None for none."""
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"an Idempotency-Key is 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters"
        )
    return key


@frozen
class Messages:
    """The message use cases, bound to the store, the clock and the UltraMsg channel."""

    store: UnitOfWorkFactory
    clock: Clock
    channel: Channel

    def page(
        self,
        actor: Actor,
        conversation_id: int,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        before_id: int | None = None,
    ) -> Page[Message]:
        """A page of the conversation's messages, newest first (``NotFound`` when the
        conversation is absent or not visible)."""
        authorize(actor, Action.READ_MESSAGES)
        check_limit(limit)
        with self.store(read_only=True) as uow:
            conversation = _visible_conversation(uow, actor, conversation_id)
            return uow.messages.page(conversation.id, limit=limit, before_id=before_id)

    def send(
        self,
        actor: Actor,
        conversation_id: int,
        body: str,
        *,
        idempotency_key: str | None = None,
    ) -> Sent:
        """Reply in a conversation: stored as queued, sent through UltraMsg, then sent or
        failed. ``UpstreamError`` when UltraMsg failed (the message stays, ``failed``)."""
        authorize(actor, Action.SEND_MESSAGES)
        body = validate_body(body)
        idempotency_key = check_idempotency_key(idempotency_key)
        with self.store() as uow:
            conversation = _visible_conversation(uow, actor, conversation_id)
            source, chat_id = _chat_of(uow, conversation)
            message, created = uow.messages.add_outbound(
                source,
                conversation.id,
                body,
                sent_by_user_id=actor.id,
                reference_id=REFERENCE_PREFIX + secrets.token_hex(12),
                idempotency_key=idempotency_key,
                now=self.clock(),
            )
            uow.commit()
        if not created:
            return Sent(message, created=False)
        return Sent(self._deliver(message, source, chat_id), created=True)

    def retry(self, actor: Actor, message_id: int) -> Message:
        """Send a ``failed`` reply again (``Conflict`` for any other status)."""
        authorize(actor, Action.SEND_MESSAGES)
        with self.store() as uow:
            message = uow.messages.get(message_id)
            if message is None:
                raise NotFound(f"no message with id {message_id}")
            try:
                conversation = _visible_conversation(uow, actor, message.conversation_id)
            except NotFound:
                raise NotFound(f"no message with id {message_id}") from None
            source, chat_id = _chat_of(uow, conversation)
            if message.direction is not Direction.OUT or not uow.messages.advance(
                message.id, MessageStatus.QUEUED, error=None
            ):
                raise Conflict(
                    f"message {message_id} is {message.status}, not failed: only a failed "
                    "message can be sent again"
                )
            uow.commit()
        return self._deliver(message, source, chat_id)

    def _deliver(self, message: Message, source: str, chat_id: str) -> Message:
        """Hand a queued message to UltraMsg once, through the instance it belongs to
        (``source``), and record what came of it."""
        assert message.body is not None
        assert message.reference_id is not None
        try:
            self.channel(source).send_text(chat_id, message.body, message.reference_id)
        except (UpstreamError, ConfigError) as error:  # ConfigError: the number was removed
            self._record(message.id, MessageStatus.FAILED, error=str(error))
            raise
        except BaseException:
            self._record(message.id, MessageStatus.FAILED, error="interrupted while sending")
            raise
        return self._record(message.id, MessageStatus.SENT)

    def _record(self, message_id: int, status: MessageStatus, error: str | None = None) -> Message:
        with self.store() as uow:
            uow.messages.advance(message_id, status, error=error)
            message = uow.messages.get(message_id)
            uow.commit()
        assert message is not None
        return message

    def fetch_history(
        self, actor: Actor, conversation_id: int, *, limit: int = DEFAULT_HISTORY_LIMIT
    ) -> HistoryResult:
        """The chat's latest ``limit`` (1–1000) messages from UltraMsg, stored where new.
        Nothing is written when UltraMsg fails."""
        authorize(actor, Action.READ_MESSAGES)
        _check_history_limit(limit)
        with self.store() as uow:
            conversation = _visible_conversation(uow, actor, conversation_id)
            source, chat_id = _chat_of(uow, conversation)
        raw = self.channel(source).fetch_messages(chat_id, limit)
        now = self.clock()
        rows = [row for item in raw if (row := new_message(item, conversation.id, now))]
        with self.store() as uow:
            created = store_messages(uow, source, rows, now, only_newer_reopen=True)
            uow.commit()
        return HistoryResult(fetched=len(raw), created=created)


def _check_history_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_HISTORY_LIMIT}, got {limit}")
