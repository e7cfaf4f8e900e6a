"""WhatsApp numbers: the environment's default UltraMsg instance and the stored ones.

``Instances`` holds the admin use cases (``add``, ``set_token``, ``remove``,
``list``, ``rotate_key``) and what the rest of wa-manager asks without an actor:
which instances are configured (``ids``: the default first, then the stored ones
oldest first), an instance's token (``token``) and which instance a webhook
secret belongs to (``for_webhook``).

Tokens are write-only: sealed by the ``TokenCipher`` (asked for only when a
stored token is written or read, so a single-number setup needs no key), never
returned by a use case, never in a message.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable

from attrs import frozen

from wa_manager.config import Secret
from wa_manager.domain.errors import AlreadyExists, ConfigError, InvalidInput, NotFound
from wa_manager.domain.instances import (
    WEBHOOK_PATH_PREFIX,
    InstanceSummary,
    StoredInstance,
    check_instance_id,
    check_label,
    check_token,
)
from wa_manager.domain.model import Actor
from wa_manager.domain.ports import Clock, TokenCipher, UnitOfWorkFactory
from wa_manager.services.permissions import Action, authorize

WEBHOOK_SECRET_BYTES = 24
NOT_CONFIGURED = (
    "UltraMsg is not configured: set ULTRAMSG_INSTANCE_ID and ULTRAMSG_TOKEN (your instance "
    "id and token from the UltraMsg dashboard), or store one with `wa-manager instances add`"
)


@frozen
class DefaultInstance:
    """The environment's instance (``ULTRAMSG_INSTANCE_ID``): its id, its token (None
    with canned chats), the secret of its webhook path (``WA_MANAGER_WEBHOOK_SECRET``)."""

    instance_id: str
    token: Secret | None
    webhook_secret: Secret | None


@frozen
class Instances:
    """The WhatsApp numbers' use cases, bound to the store, the clock, the cipher (made
    on first use) and the default instance (None when the environment names none)."""

    store: UnitOfWorkFactory
    clock: Clock
    cipher: Callable[[], TokenCipher]
    default: DefaultInstance | None = None

    # -- admin use cases --------------------------------------------------------------

    def add(
        self, actor: Actor, instance_id: str, token: str, label: str | None = None
    ) -> InstanceSummary:
        """Store an instance with its token sealed; ``AlreadyExists`` when it is known."""
        authorize(actor, Action.MANAGE_INSTANCES)
        instance_id = check_instance_id(instance_id)
        token = check_token(token)
        label = check_label(label)
        if self.default is not None and self.default.instance_id == instance_id:
            raise AlreadyExists(
                f"{instance_id} is the default instance (ULTRAMSG_INSTANCE_ID); it needs no storing"
            )
        instance = StoredInstance(
            instance_id=instance_id,
            label=label,
            sealed_token=self.cipher().seal(token),
            webhook_secret=secrets.token_urlsafe(WEBHOOK_SECRET_BYTES),
            created_at=self.clock(),
        )
        with self.store() as uow:
            uow.instances.add(instance)
            counts = uow.instances.contact_counts()
            last = uow.instances.last_syncs()
            uow.commit()
        return InstanceSummary(
            instance_id,
            label,
            counts.get(instance_id, 0),
            last.get(instance_id),
            instance.webhook_path,
        )

    def set_token(self, actor: Actor, instance_id: str, token: str) -> None:
        """Replace a stored instance's token (``NotFound`` when it is not stored)."""
        authorize(actor, Action.MANAGE_INSTANCES)
        token = check_token(token)
        self._refuse_default(instance_id, "its token is ULTRAMSG_TOKEN")
        sealed = self.cipher().seal(token)
        with self.store() as uow:
            if not uow.instances.set_sealed_token(instance_id, sealed):
                raise _not_stored(instance_id)
            uow.commit()

    def remove(self, actor: Actor, instance_id: str) -> None:
        """Forget a stored instance; its contacts, conversations and history stay."""
        authorize(actor, Action.MANAGE_INSTANCES)
        self._refuse_default(instance_id, "unset ULTRAMSG_INSTANCE_ID to stop using it")
        with self.store() as uow:
            if not uow.instances.remove(instance_id):
                raise _not_stored(instance_id)
            uow.commit()

    def list(self, actor: Actor) -> builtins.list[InstanceSummary]:
        """Every configured instance, the default first; never a token."""
        authorize(actor, Action.SEE_INSTANCES)
        with self.store(read_only=True) as uow:
            stored = uow.instances.list()
            counts = uow.instances.contact_counts()
            last = uow.instances.last_syncs()
        summaries = []
        if self.default is not None:
            default_id = self.default.instance_id
            secret = self.default.webhook_secret
            path = WEBHOOK_PATH_PREFIX + secret.get() if secret else None
            summaries.append(
                InstanceSummary(
                    default_id,
                    None,
                    counts.get(default_id, 0),
                    last.get(default_id),
                    path,
                    stored=False,
                )
            )
        summaries.extend(
            InstanceSummary(
                item.instance_id,
                item.label,
                counts.get(item.instance_id, 0),
                last.get(item.instance_id),
                item.webhook_path,
            )
            for item in stored
        )
        return summaries

    def rotate_key(self, actor: Actor) -> int:
        """Seal every stored token again with the first key of ``WA_MANAGER_ENCRYPTION_KEY``;
        how many. All or nothing: a token no key opens stops it before anything is written."""
        authorize(actor, Action.MANAGE_INSTANCES)
        with self.store() as uow:
            stored = uow.instances.list()
            if not stored:
                return 0
            cipher = self.cipher()
            resealed = [
                (item.instance_id, cipher.reseal(item.sealed_token, item.instance_id))
                for item in stored
            ]
            for instance_id, sealed in resealed:
                uow.instances.set_sealed_token(instance_id, sealed)
            uow.commit()
        return len(resealed)

    # -- for the other services (no actor: wiring) ---------------------------------

    def ids(self) -> builtins.list[str]:
        """Every configured instance id, the default first; ``ConfigError`` when none."""
        with self.store(read_only=True) as uow:
            stored = [item.instance_id for item in uow.instances.list()]
        ids = [self.default.instance_id] if self.default is not None else []
        ids.extend(instance_id for instance_id in stored if instance_id not in ids)
        if not ids:
            raise ConfigError(NOT_CONFIGURED)
        return ids

    def check_known(self, instance_id: str) -> str:
        """``instance_id`` when it is configured, else ``InvalidInput`` saying what there is."""
        if instance_id not in self.ids():
            raise InvalidInput(
                f"no instance {instance_id} is configured; `wa-manager instances list` shows them"
            )
        return instance_id

    def token(self, instance_id: str) -> Secret:
        """The token of a configured instance; ``ConfigError`` when it is not configured
        (any more) or its token cannot be opened."""
        if self.default is not None and self.default.instance_id == instance_id:
            if self.default.token is None:
                raise ConfigError(NOT_CONFIGURED)
            return self.default.token
        with self.store(read_only=True) as uow:
            stored = uow.instances.get(instance_id)
        if stored is None:
            raise ConfigError(
                f"the WhatsApp number {instance_id} is not configured (any more): add it with "
                f"`wa-manager instances add {instance_id} --token-stdin`"
            )
        return Secret(self.cipher().open(stored.sealed_token, instance_id))

    def for_webhook(self, secret: str) -> str | None:
        """The stored instance whose webhook path carries ``secret``, if any."""
        if not secret:
            return None
        with self.store(read_only=True) as uow:
            stored = uow.instances.by_webhook_secret(secret)
        return stored.instance_id if stored is not None else None

    def _refuse_default(self, instance_id: str, why: str) -> None:
        if self.default is not None and self.default.instance_id == instance_id:
            raise InvalidInput(f"{instance_id} is the default instance from the environment; {why}")


def _not_stored(instance_id: str) -> NotFound:
    return NotFound(f"no stored instance {instance_id}; `wa-manager instances list` shows them")
