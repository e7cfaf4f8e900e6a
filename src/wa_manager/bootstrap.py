"""Wiring: ``bootstrap(settings)`` picks the adapters, binds the use cases, returns an ``App``.

Nothing is built at import time, and this is the one module that decides which
adapter serves which port: the SQL store unless another ``Store`` is given, the
UltraMsg client (made on first use, so that commands which never talk to
UltraMsg need no token), argon2 for passwords, the system clock, and for ``wa-manager demo``
the built-in fake UltraMsg (``start_demo_upstream``).

The ``App`` holds the use-case objects (``app.syncs``, ``app.accounts``,
``app.contacts``, ``app.identities``, ``app.teams``, ``app.instance_members``,
``app.conversations``,
``app.messaging``, ``app.webhooks``;
``app.sessions`` and ``app.login_throttle`` for the web server),
each bound to its ports once; every one of their methods takes the actor first.
On top sits the small library façade of the public interface (``sync``,
``add_user``, ``link``, ``unlink``, ``conversations_for`` act as the system,
``LIBRARY``; ``messages`` and ``send_message`` take the viewer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from wa_manager.config import Secret, Settings
from wa_manager.domain.errors import ConfigError
from wa_manager.domain.model import LIBRARY, Actor, Conversation, Message, Page, SyncReport, User
from wa_manager.domain.ports import (
    ChatSource,
    Clock,
    MessageChannel,
    PasswordHasher,
    PasswordPolicy,
    Store,
    TokenCipher,
)
from wa_manager.services.accounts import Accounts
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, Contacts
from wa_manager.services.conversations import Conversations
from wa_manager.services.identity import Identities
from wa_manager.services.instance_members import InstanceMemberships
from wa_manager.services.instances import DefaultInstance, Instances
from wa_manager.services.messages import Messages
from wa_manager.services.sessions import LoginThrottle, Sessions
from wa_manager.services.sync import Syncs
from wa_manager.services.teams import Teams
from wa_manager.services.webhooks import Webhooks


def utc_now() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


Connect = Callable[[str, Secret], Any]
"""Makes the UltraMsg client of one instance from its id and token (``ChatSource``,
``MessageChannel`` and ``InstanceStatusSource`` at once)."""


class Upstream:
    """The UltraMsg side of every configured instance: one client per instance, made on
    first use (and again when its token changed). The default instance uses the canned
    ``chats`` and ``messenger`` when given; the stored ones are reached through
    ``connect`` (by default the UltraMsg client at ``settings.base_url``)."""

    def __init__(
        self,
        settings: Settings,
        chats: ChatSource | None = None,
        messenger: MessageChannel | None = None,
        connect: Connect | None = None,
    ) -> None:
        if chats is not None and not settings.instance_id:
            raise ConfigError("give Settings(instance_id=...) so synced contacts have a source")
        self._settings = settings
        self._chats = chats
        self._messenger = messenger
        self._connect = connect if connect is not None else self._ultramsg
        self._clients: dict[str, tuple[Secret, Any]] = {}
        self._lock = threading.Lock()
        self.instances: Instances | None = None  # set by the App that owns this

    def default(self) -> DefaultInstance | None:
        """The environment's instance, when ``ULTRAMSG_INSTANCE_ID`` names one."""
        settings = self._settings
        if not settings.instance_id:
            return None
        return DefaultInstance(settings.instance_id, settings.token, settings.webhook_secret)

    def default_id(self) -> str:
        """The environment's instance id (``ConfigError`` when UltraMsg is not set up there)."""
        if self._chats is not None and self._settings.instance_id:
            return self._settings.instance_id
        return self._settings.require_ultramsg()[0]

    def _registry(self) -> Instances:
        assert self.instances is not None, "the App sets Upstream.instances"
        return self.instances

    def instance_ids(self) -> list[str]:
        """Every configured instance, the default first (``ConfigError`` when none)."""
        settings = self._settings
        if not settings.instance_id and settings.token:
            settings.require_ultramsg()  # half a default: say which variable is missing
        return self._registry().ids()

    def _is_canned(self, instance_id: str) -> bool:
        return self._chats is not None and instance_id == self._settings.instance_id

    def client(self, instance_id: str) -> Any:
        """The UltraMsg client of a configured instance (``ConfigError`` when it is not)."""
        if instance_id == self._settings.instance_id and not self._chats:
            instance_id, token = self._settings.require_ultramsg()
        else:
            token = self._registry().token(instance_id)
        with self._lock:
            cached = self._clients.get(instance_id)
            if cached is not None and cached[0] == token:
                return cached[1]
        client = self._connect(instance_id, token)
        with self._lock:
            self._clients[instance_id] = (token, client)
        return client

    def chats(self, instance_id: str) -> ChatSource:
        """Where ``instance_id``'s chats come from."""
        if self._is_canned(instance_id):
            assert self._chats is not None
            return self._chats
        chats: ChatSource = self.client(instance_id)
        return chats

    def channel(self, instance_id: str) -> MessageChannel:
        """Where replies of ``instance_id``'s conversations go and history comes from."""
        if self._messenger is not None and instance_id == self._settings.instance_id:
            return self._messenger
        if self._is_canned(instance_id):
            if not isinstance(self._chats, MessageChannel):
                raise ConfigError(
                    "no UltraMsg channel for messages: pass bootstrap(messenger=...) with canned "
                    "chats (wa_manager.testing.FakeMessenger)"
                )
            return self._chats
        channel: MessageChannel = self.client(instance_id)
        return channel

    def _ultramsg(self, instance_id: str, token: Secret) -> Any:
        from wa_manager.adapters.ultramsg import UltraMsgClient

        hints = ("ULTRAMSG_INSTANCE_ID", "ULTRAMSG_TOKEN")
        if instance_id != self._settings.instance_id:
            hints = (
                f"the instance id {instance_id}",
                f"its token (`wa-manager instances set-token {instance_id} --token-stdin`)",
            )
        return UltraMsgClient(
            base_url=self._settings.base_url,
            instance_id=instance_id,
            token=token,
            timeout=self._settings.timeout,
            hints=hints,
        )


def token_cipher(settings: Settings) -> Callable[[], TokenCipher]:
    """The Fernet cipher over ``WA_MANAGER_ENCRYPTION_KEY``, made (and the key checked)
    when first asked for: a setup without stored instances needs no key."""
    made: list[TokenCipher] = []

    def cipher() -> TokenCipher:
        if not made:
            from wa_manager.adapters.encryption import FernetCipher

            key = settings.encryption_key
            made.append(FernetCipher(key.get() if key else None))
        return made[0]

    return cipher


class App:
    """wa-manager's use cases, bound to one configuration and one set of adapters."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        upstream: Upstream,
        clock: Clock,
        hasher: PasswordHasher,
        password_policy: PasswordPolicy,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.instances = Instances(store, clock, token_cipher(settings), upstream.default())
        upstream.instances = self.instances
        self.syncs = Syncs(store, clock, upstream, include_groups=settings.sync_groups)
        self.sessions = Sessions(store, clock)
        self.accounts = Accounts(store, hasher, clock, password_policy, sessions=self.sessions)
        self.login_throttle = LoginThrottle(store, clock)
        self.contacts = Contacts(store, clock)
        self.identities = Identities(store, clock)
        self.teams = Teams(store, clock)
        self.instance_members = InstanceMemberships(store, clock)
        self.conversations = Conversations(store, clock)
        self.messaging = Messages(store, clock, upstream.channel)
        self.webhooks = Webhooks(
            store, clock, upstream.default_id, include_groups=settings.sync_groups
        )

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the library façade: the system acting for the program that imports us ----------

    def sync(self, *, dry_run: bool = False) -> SyncReport:
        """Run one sync and return its report (``docs/interface.md``, "What a sync does")."""
        return self.syncs.run(LIBRARY, dry_run=dry_run)

    def add_user(self, username: str, role: str, password: str | None = None) -> User:
        """Create a user (``AlreadyExists`` for a taken name)."""
        return self.accounts.add_user(LIBRARY, username, role, password)

    def link(self, contact: str, username: str) -> bool:
        """Let ``username`` see ``contact`` (id, wa_id or E.164 phone); idempotent."""
        return self.contacts.link(LIBRARY, contact, username)

    def unlink(self, contact: str, username: str) -> bool:
        """Take that away again; idempotent."""
        return self.contacts.unlink(LIBRARY, contact, username)

    def conversations_for(self, username: str) -> list[Conversation]:
        """Every conversation ``username`` may see."""
        return self.conversations.all(self.accounts.user(LIBRARY, username))

    def messages(
        self,
        viewer: Actor,
        conversation_id: int,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        before_id: int | None = None,
    ) -> Page[Message]:
        """A page of a conversation's messages, newest first, as ``viewer`` may see them."""
        return self.messaging.page(viewer, conversation_id, limit=limit, before_id=before_id)

    def send_message(
        self,
        viewer: Actor,
        conversation_id: int,
        body: str,
        idempotency_key: str | None = None,
    ) -> Message:
        """Reply in a conversation ``viewer`` may see; the stored message (``UpstreamError``
        when UltraMsg failed: the message is kept as failed)."""
        sent = self.messaging.send(viewer, conversation_id, body, idempotency_key=idempotency_key)
        return sent.message


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


class DemoUpstream(Protocol):
    """A local stand-in for UltraMsg, running while the context is open."""

    @property
    def base_url(self) -> str:
        """Where to point ``ULTRAMSG_BASE_URL``."""
        ...

    def post_webhooks_to(self, url: str, *, inbound_every: tuple[float, float] | None) -> None:
        """Post UltraMsg's webhooks (sends' ``message_create`` and acks; an incoming
        message every ``inbound_every`` = (min, max) seconds) to ``url``."""
        ...

    def add_instance(
        self, instance_id: str, token: str, chats: Any = None, *, messages: Any = None
    ) -> DemoUpstream:
        """Serve another instance (a second number) on the same port."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


def start_demo_upstream(instance_id: str, token: str) -> DemoUpstream:
    """The built-in fake UltraMsg with a small shop's chats and their messages, on a free
    loopback port (the demo)."""
    from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, demo_chats, demo_messages

    return FakeUltraMsg(
        instance_id=instance_id,
        token=token,
        chats=demo_chats(),
        host="127.0.0.1",
        port=0,
        messages=demo_messages(utc_now().timestamp()),
    )


def new_encryption_key() -> str:
    """A fresh random key for ``WA_MANAGER_ENCRYPTION_KEY`` (Fernet)."""
    from wa_manager.adapters.encryption import new_key

    return new_key()


def add_demo_number(upstream: DemoUpstream, instance_id: str, token: str) -> DemoUpstream:
    """The demo's second WhatsApp number (the shop's repair hotline, with a customer who
    writes to both numbers) on the demo's fake UltraMsg."""
    from wa_manager.adapters.fake_ultramsg import support_chats, support_messages

    return upstream.add_instance(
        instance_id, token, support_chats(), messages=support_messages(utc_now().timestamp())
    )


def default_hasher() -> PasswordHasher:
    """argon2id, as wa-manager stores passwords."""
    from wa_manager.adapters.passwords import Argon2Hasher

    return Argon2Hasher()


def default_password_policy() -> PasswordPolicy:
    """zxcvbn's: no common password, nothing it scores as too guessable."""
    from wa_manager.adapters.passwords import CommonPasswordPolicy

    return CommonPasswordPolicy()


def bootstrap(
    settings: Settings | None = None,
    *,
    chats: ChatSource | None = None,
    store: Store | None = None,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    messenger: MessageChannel | None = None,
    password_policy: PasswordPolicy | None = None,
    connect: Connect | None = None,
) -> App:
    """Build the ``App``: SQL store, UltraMsg client and argon2 unless others are given
    (``connect``: how stored instances' clients are made, e.g. canned chats per instance)."""
    settings = settings if settings is not None else Settings.from_env()
    upstream = Upstream(settings, chats, messenger, connect)
    return App(
        settings,
        store if store is not None else open_store(settings),
        upstream=upstream,
        clock=clock or utc_now,
        hasher=hasher if hasher is not None else default_hasher(),
        password_policy=(
            password_policy if password_policy is not None else default_password_policy()
        ),
    )
