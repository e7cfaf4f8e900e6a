"""Wiring: ``bootstrap(settings)`` picks the adapters and returns an ``App``.

Nothing is built at import time. The ``App`` is the one object that the CLI,
the HTTP app and library users talk to: each method is one use case from
``wa_manager.services`` with the adapters filled in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from wa_manager.config import Settings
from wa_manager.domain.errors import ConfigError
from wa_manager.domain.model import (
    Contact,
    ContactLink,
    Conversation,
    LinkEvent,
    Page,
    SyncReport,
    SyncRun,
    User,
)
from wa_manager.domain.ports import ChatSource, Clock, PasswordHasher, Store
from wa_manager.services import accounts, export, status, sync, webhooks
from wa_manager.services import contacts as contact_cases
from wa_manager.services import conversations as conversation_cases
from wa_manager.services.scheduler import SyncScheduler


def utc_now() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class App:
    """wa-manager's use cases, bound to one configuration and one set of adapters."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        chats: ChatSource | None = None,
        clock: Clock = utc_now,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._chats = chats
        self._hasher = hasher

    # -- plumbing ---------------------------------------------------------------

    @property
    def hasher(self) -> PasswordHasher:
        """The password hasher (argon2 unless one was injected)."""
        if self._hasher is None:
            from wa_manager.adapters.passwords import Argon2Hasher

            self._hasher = Argon2Hasher()
        return self._hasher

    @property
    def instance_id(self) -> str:
        """The UltraMsg instance id, the ``source`` of synced contacts."""
        if self._chats is not None and self.settings.instance_id:
            return self.settings.instance_id
        return self.settings.require_ultramsg()[0]

    def chat_source(self) -> ChatSource:
        """The configured chat source; ``ConfigError`` when UltraMsg is not set up."""
        if self._chats is None:
            instance_id, token = self.settings.require_ultramsg()
            from wa_manager.adapters.ultramsg import UltraMsgClient

            self._chats = UltraMsgClient(
                base_url=self.settings.base_url,
                instance_id=instance_id,
                token=token,
                timeout=self.settings.timeout,
            )
        return self._chats

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sync -------------------------------------------------------------------

    def sync(
        self, *, dry_run: bool = False, trigger: str = "library", actor: User | None = None
    ) -> SyncReport:
        """Run one sync (CONTRACT.md, "What a sync does") and return its report."""
        if actor is not None:
            from wa_manager.domain.rules import require_admin

            require_admin(actor, "run a sync")
        chats = self.chat_source()
        return sync.recorded_sync(
            chats,
            self.store,
            self.clock,
            instance_id=self.instance_id,
            include_groups=self.settings.sync_groups,
            dry_run=dry_run,
            trigger=trigger,
            actor_id=actor.id if actor is not None else None,
        )

    def sync_history(self, *, limit: int = 50, before_id: int | None = None) -> Page:
        """Recorded syncs, newest first."""
        contact_cases.check_limit(limit)
        with self.store() as uow:
            return uow.sync_runs.page(limit=limit, before_id=before_id)

    def last_sync(self) -> SyncRun | None:
        """The most recent recorded sync, if any."""
        with self.store() as uow:
            return uow.sync_runs.latest()

    def instance_status(self, *, actor: User | None = None) -> status.InstanceStatus:
        """Whether the UltraMsg instance is connected (``UpstreamError`` when UltraMsg fails)."""
        if actor is not None:
            from wa_manager.domain.rules import require_admin

            require_admin(actor, "see the UltraMsg instance status")
        return status.instance_status(self.chat_source(), self.instance_id)

    def sync_scheduler(self, every_seconds: float) -> SyncScheduler:
        """A scheduler that runs ``sync(trigger="schedule")`` every ``every_seconds``
        (not started: call ``start()`` and ``stop()``)."""
        return SyncScheduler(lambda: self.sync(trigger="schedule"), every_seconds, clock=self.clock)

    def handle_webhook(self, payload: object) -> webhooks.WebhookResult:
        """Apply one UltraMsg webhook payload (decoded JSON, or ``payload_from_form``)."""
        return webhooks.handle_event(
            self.store,
            self.clock,
            payload,
            instance_id=self.instance_id,
            include_groups=self.settings.sync_groups,
        )

    # -- users and credentials --------------------------------------------------

    def add_user(self, username: str, role: str, password: str | None = None) -> User:
        """Create a user (``AlreadyExists`` for a taken name)."""
        return accounts.add_user(
            self.store, self.hasher, self.clock, username=username, role=role, password=password
        )

    def users(self) -> list[User]:
        """Every user, by id."""
        return accounts.list_users(self.store)

    def user(self, username: str) -> User:
        """The user with this name, or ``NotFound``."""
        return accounts.get_user(self.store, username)

    def user_by_id(self, user_id: int) -> User:
        """The active user with this id, or ``AuthError``."""
        return accounts.user_by_id(self.store, user_id)

    def create_token(self, username: str, name: str = "cli") -> str:
        """A new API token for ``username``; shown once, stored hashed."""
        return accounts.create_token(self.store, self.clock, username=username, name=name)

    def authenticate_token(self, token: str) -> User:
        """The user of a live API token, or ``AuthError``."""
        return accounts.user_for_token(self.store, self.clock, token)

    def authenticate_password(self, username: str, password: str) -> User:
        """The user with this password, or ``AuthError``."""
        return accounts.authenticate_password(
            self.store, self.hasher, username=username, password=password
        )

    # -- contacts and links -----------------------------------------------------

    def contacts(
        self,
        *,
        search: str | None = None,
        limit: int = contact_cases.DEFAULT_PAGE_SIZE,
        before_id: int | None = None,
        vanished: bool | None = None,
        actor: User | None = None,
    ) -> Page:
        """A page of contacts, newest first (admins only when ``actor`` is given)."""
        return contact_cases.list_contacts(
            self.store, actor, search=search, limit=limit, before_id=before_id, vanished=vanished
        )

    def contact(self, contact_id: int, *, actor: User | None = None) -> Contact:
        """One contact, or ``NotFound``."""
        return contact_cases.get_contact(self.store, actor, contact_id)

    def link(self, contact: str, username: str, *, actor: User | None = None) -> bool:
        """Let ``username`` see ``contact`` (id, wa_id or E.164 phone); idempotent."""
        return contact_cases.link(self.store, self.clock, actor, contact=contact, username=username)

    def unlink(self, contact: str, username: str, *, actor: User | None = None) -> bool:
        """Take that away again; idempotent."""
        return contact_cases.unlink(
            self.store, self.clock, actor, contact=contact, username=username
        )

    def links(self) -> list[tuple[ContactLink, Contact, User]]:
        """Every link with its contact and user."""
        return contact_cases.list_links(self.store)

    def contact_user_ids(self, contact_id: int, *, actor: User | None = None) -> list[int]:
        """The users linked to a contact."""
        return contact_cases.contact_user_ids(self.store, actor, contact_id)

    def set_contact_users(
        self, contact_id: int, user_ids: Iterable[int], *, actor: User | None = None
    ) -> list[int]:
        """Link exactly these users to the contact."""
        return contact_cases.set_contact_users(
            self.store, self.clock, actor, contact_id=contact_id, user_ids=user_ids
        )

    def link_history(self, contact_id: int, *, actor: User | None = None) -> list[LinkEvent]:
        """The audit trail of one contact's links."""
        return contact_cases.link_history(self.store, actor, contact_id)

    def export_contacts_csv(
        self,
        *,
        search: str | None = None,
        vanished: bool | None = None,
        bom: bool = False,
        actor: User | None = None,
    ) -> Iterator[str]:
        """Every contact (optionally filtered) as spreadsheet-safe CSV, streamed in chunks."""
        if actor is not None:  # refuse a non-admin now, not at the first page
            from wa_manager.domain.rules import require_admin

            require_admin(actor, "export contacts")

        def read_page(before_id: int | None) -> Page:
            return self.contacts(
                search=search, vanished=vanished, limit=export.EXPORT_PAGE_SIZE, before_id=before_id
            )

        return export.contacts_csv(read_page, bom=bom)

    # -- conversations ----------------------------------------------------------

    def conversations_for(self, username: str) -> list[Conversation]:
        """Every conversation ``username`` may see."""
        return conversation_cases.all_conversations(self.store, self.user(username))

    def list_conversations(
        self,
        viewer: User,
        *,
        limit: int = contact_cases.DEFAULT_PAGE_SIZE,
        before_id: int | None = None,
    ) -> Page:
        """A page of what ``viewer`` may see, newest first."""
        return conversation_cases.list_conversations(
            self.store, viewer, limit=limit, before_id=before_id
        )

    def conversation(self, viewer: User, conversation_id: int) -> Conversation:
        """One conversation, or ``NotFound`` when absent or not visible."""
        return conversation_cases.get_conversation(self.store, viewer, conversation_id)


def open_store(settings: Settings) -> Store:
    """The SQL store for ``settings.database_url``; SQLite databases are migrated on first use."""
    from wa_manager.adapters.sql import SqlStore

    return SqlStore.open(
        settings.database_url, auto_migrate=settings.database_url.startswith("sqlite")
    )


def upgrade_database(settings: Settings) -> None:
    """Create or migrate the schema (``wa-manager db upgrade``); idempotent."""
    from wa_manager.adapters.sql import upgrade

    upgrade(settings.database_url)


def bootstrap(
    settings: Settings | None = None,
    *,
    chats: ChatSource | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
) -> App:
    """Build the ``App``: SQL store and UltraMsg client unless others are given."""
    settings = settings if settings is not None else Settings.from_env()
    if chats is not None and not settings.instance_id:
        raise ConfigError("give Settings(instance_id=...) so synced contacts have a source")
    return App(
        settings,
        store if store is not None else open_store(settings),
        chats=chats,
        clock=clock or utc_now,
        hasher=hasher,
    )


build = bootstrap
