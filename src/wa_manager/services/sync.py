"""The sync use case: UltraMsg's chat list in, contacts and conversations out.

All or nothing: the chats are fetched (and validated) before the transaction
starts, the plan is computed in memory, and only the differences are written
in one transaction that commits at the end. The sync lock keeps two syncs of
the same instance from overlapping; the database's unique constraints keep
anything else (webhooks, other processes) from creating duplicates.

``Syncs`` binds the use cases to the store, the clock and the upstream once.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import Protocol

import attrs

from wa_manager.domain.bulk import collector_paused
from wa_manager.domain.errors import (
    InvalidInput,
    StorageError,
    SyncAlreadyRunning,
    UpstreamError,
    WaManagerError,
)
from wa_manager.domain.model import SCHEDULER, Actor, Page, SyncReport, SyncRun, SystemActor
from wa_manager.domain.ports import ChatSource, Clock, Store, UnitOfWorkFactory
from wa_manager.domain.rules import conversations_in, plan_sync
from wa_manager.services import status
from wa_manager.services.contacts import DEFAULT_PAGE_SIZE, check_limit
from wa_manager.services.permissions import Action, authorize
from wa_manager.services.scheduler import SyncScheduler, turns_from_lease
from wa_manager.services.status import InstanceStatus

SCHEDULED_SYNC_LEASE = "scheduled-sync"  # the lease the processes' schedulers share


def sync_contacts(
    chats: ChatSource,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    instance_id: str,
    include_groups: bool = True,
    dry_run: bool = False,
) -> SyncReport:
    """Run one sync and return its report; raise a ``WaManagerError`` on failure.

    ``dry_run`` fetches and counts but writes nothing.
    """
    started = time.perf_counter()
    with collector_paused():  # the chat list is dropped once its conversations are known
        payload = conversations_in(chats.fetch_chats(), include_groups=include_groups)
    with uow_factory() as uow:
        if not dry_run:
            uow.lock_sync(instance_id)
        with collector_paused():
            plan = plan_sync(payload, uow.contacts.sync_state(instance_id))
        del payload  # the plan holds what it needs; a million chats less at the peak
        if dry_run:
            created_contacts = len(plan.new)
            updated_contacts = len(plan.renames)
            created_conversations = uow.conversations.count_missing(instance_id) + len(plan.new)
        else:
            now = clock()
            created_contacts = uow.contacts.add_many(instance_id, plan.new, now)
            updated_contacts = uow.contacts.rename_many(instance_id, plan.renames)
            uow.contacts.set_vanished(instance_id, plan.vanished, now)
            uow.contacts.set_vanished(instance_id, plan.returned, None)
            created_conversations = uow.conversations.add_missing(instance_id, now)
            uow.commit()
    return SyncReport(
        instance_id=instance_id,
        fetched=plan.fetched,
        created_contacts=created_contacts,
        created_conversations=created_conversations,
        updated_contacts=updated_contacts,
        skipped=plan.skipped,
        duration_ms=round((time.perf_counter() - started) * 1000),
        dry_run=dry_run,
    )


INTERRUPTED_HERE = "interrupted: the sync was stopped before it finished; nothing was written"
INTERRUPTED_LATER = (
    "interrupted: its process stopped before the sync finished (found by a later sync "
    "or server start); nothing was written"
)


class ChatSources(Protocol):
    """The configured UltraMsg instances and their chat sources (bound by ``bootstrap``,
    asked only when a sync runs)."""

    def instance_ids(self) -> list[str]:
        """Every configured instance, the default first; ``ConfigError`` when none."""
        ...

    def chats(self, instance_id: str) -> ChatSource:
        """Where that instance's chats come from; ``ConfigError`` when it is not set up."""
        ...


@attrs.frozen
class SyncOutcome:
    """What became of one instance's sync in a sync of several: its report, or its error."""

    instance_id: str
    report: SyncReport | None = None
    error: WaManagerError | None = None


def trigger_of(actor: Actor, trigger: str | None) -> str:
    """What started a sync, for its history row: the system part that acted, else ``api``."""
    if trigger is not None:
        return trigger
    return actor.name if isinstance(actor, SystemActor) else "api"


@attrs.frozen
class Syncs:
    """The sync use cases: run one, read the history, ask whether UltraMsg is connected."""

    store: Store
    clock: Clock
    upstream: ChatSources
    include_groups: bool = True

    def targets(self, actor: Actor, instance: str | None = None) -> list[str]:
        """The instances a sync covers: ``instance`` alone (``InvalidInput`` when it is
        not configured), else every configured one, the default first."""
        authorize(actor, Action.RUN_SYNC)
        configured = self.upstream.instance_ids()
        if instance is None:
            return configured
        if instance not in configured:
            raise InvalidInput(
                f"no instance {instance} is configured; `wa-manager instances list` shows them"
            )
        return [instance]

    def run(
        self,
        actor: Actor,
        *,
        dry_run: bool = False,
        trigger: str | None = None,
        instance: str | None = None,
    ) -> SyncReport:
        """One sync of one instance (``instance``, by default the first configured: the
        environment's), recorded in the history (``trigger``: what started it; by default
        the system part that acted, or ``api`` for a user); its report, or a
        ``WaManagerError``.

        A dry run writes nothing, not even history. The history is best effort: when
        it cannot be written (e.g. SQLite is busy with another sync), the sync still
        runs and reports, and its row is written at the end if possible.
        """
        instance_id = self.targets(actor, instance)[0]
        return self._run_one(actor, instance_id, dry_run=dry_run, trigger=trigger)

    def run_all(
        self,
        actor: Actor,
        *,
        dry_run: bool = False,
        trigger: str | None = None,
        instances: list[str] | None = None,
    ) -> list[SyncOutcome]:
        """A sync of each of ``instances`` (default: every configured one), one after the
        other, each with its own lock, history row and report; one failing (a
        ``WaManagerError``) does not stop the others."""
        targets = instances if instances is not None else self.targets(actor)
        outcomes = []
        for instance_id in targets:
            try:
                report = self._run_one(actor, instance_id, dry_run=dry_run, trigger=trigger)
            except WaManagerError as error:
                outcomes.append(SyncOutcome(instance_id, error=error))
            else:
                outcomes.append(SyncOutcome(instance_id, report=report))
        return outcomes

    def _run_one(
        self, actor: Actor, instance_id: str, *, dry_run: bool, trigger: str | None
    ) -> SyncReport:
        authorize(actor, Action.RUN_SYNC)
        if dry_run:
            return sync_contacts(
                self.upstream.chats(instance_id),
                self.store,
                self.clock,
                instance_id=instance_id,
                include_groups=self.include_groups,
                dry_run=True,
            )
        run = _RunRecord(
            self.store, self.clock, instance_id, trigger_of(actor, trigger), actor.id, self.clock()
        )
        try:
            with self.store.hold_sync_run(instance_id):
                self._mark_interrupted(instance_id)  # we hold the lock: their owners are gone
                run.start()
                chats = self.upstream.chats(instance_id)  # a token that no key opens: a failed run
                report = sync_contacts(
                    chats,
                    self.store,
                    self.clock,
                    instance_id=instance_id,
                    include_groups=self.include_groups,
                )
        except WaManagerError as error:
            run.finish(None, str(error))
            raise
        except BaseException:
            run.finish(None, INTERRUPTED_HERE, interrupted=True)
            raise
        run.finish(report, None)
        return report

    def mark_interrupted(self, actor: Actor) -> int:
        """Mark the runs left ``running`` by a process that died (SIGKILL, power loss)
        ``interrupted``; how many. A run whose instance's run lock is held by a live
        process is still running and is left alone. ``serve`` calls this at start, and
        every sync does it for its own instance."""
        authorize(actor, Action.RUN_SYNC)
        with self.store() as uow:
            instances = uow.sync_runs.unfinished_instances()
        marked = 0
        for instance_id in instances:
            with contextlib.suppress(SyncAlreadyRunning), self.store.hold_sync_run(instance_id):
                marked += self._mark_interrupted(instance_id)
        return marked

    def _mark_interrupted(self, instance_id: str) -> int:
        """Mark ``instance_id``'s unfinished runs interrupted; only with its run lock held.
        Best effort, like the rest of the history: a busy database leaves them for later."""
        with contextlib.suppress(StorageError), self.store() as uow:
            marked = uow.sync_runs.mark_interrupted(instance_id, self.clock(), INTERRUPTED_LATER)
            uow.commit()
            return marked
        return 0

    def history(
        self, actor: Actor, *, limit: int = DEFAULT_PAGE_SIZE, before_id: int | None = None
    ) -> Page[SyncRun]:
        """Recorded syncs, newest first."""
        authorize(actor, Action.SEE_SYNC_HISTORY)
        check_limit(limit)
        with self.store(read_only=True) as uow:
            return uow.sync_runs.page(limit=limit, before_id=before_id)

    def last(self, actor: Actor) -> SyncRun | None:
        """The most recent recorded sync, if any."""
        authorize(actor, Action.SEE_SYNC_HISTORY)
        with self.store(read_only=True) as uow:
            return uow.sync_runs.latest()

    def instance_status(self, actor: Actor, instance: str | None = None) -> InstanceStatus:
        """Whether an UltraMsg instance (by default the first configured) is connected
        (``UpstreamError`` when UltraMsg fails)."""
        authorize(actor, Action.SEE_INSTANCE_STATUS)
        instance_id = self.upstream.instance_ids()[0] if instance is None else instance
        return status.instance_status(self.upstream.chats(instance_id), instance_id)

    def instance_statuses(self, actor: Actor) -> list[InstanceStatus | SyncOutcome]:
        """The status of every configured instance, the default first: an
        ``InstanceStatus``, or a ``SyncOutcome`` with the error that kept us from asking."""
        authorize(actor, Action.SEE_INSTANCE_STATUS)
        answers: list[InstanceStatus | SyncOutcome] = []
        for instance_id in self.upstream.instance_ids():
            try:
                answers.append(self.instance_status(actor, instance_id))
            except WaManagerError as error:
                answers.append(SyncOutcome(instance_id, error=error))
        return answers

    def scheduler(self, every_seconds: float, *, holder: str | None = None) -> SyncScheduler:
        """A scheduler that syncs as ``SCHEDULER`` every ``every_seconds`` (not started).

        Every process's scheduler takes its turn from the lease ``scheduled-sync`` in
        the store, so N processes make one scheduled sync per interval in all;
        ``holder`` names this one (default: host, process id and a random part).
        """
        claim_turn = turns_from_lease(
            self.store, self.clock, SCHEDULED_SYNC_LEASE, every_seconds, holder=holder
        )
        return SyncScheduler(
            self.run_scheduled, every_seconds, clock=self.clock, claim_turn=claim_turn
        )

    def run_scheduled(self) -> SyncReport:
        """The scheduler's turn: every configured instance; the last report when all went
        well, else a ``WaManagerError`` naming each instance that failed (the others synced)."""
        outcomes = self.run_all(SCHEDULER)
        failed = [outcome for outcome in outcomes if outcome.error is not None]
        if len(failed) == 1 and len(outcomes) == 1 and failed[0].error is not None:
            raise failed[0].error
        if failed:
            raise UpstreamError(
                "; ".join(f"{outcome.instance_id}: {outcome.error}" for outcome in failed)
            )
        report = outcomes[-1].report
        assert report is not None
        return report


@attrs.define
class _RunRecord:
    """The history row of one sync, started (if the database let us) and then finished."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    instance_id: str
    trigger: str
    actor_id: int | None
    started_at: datetime
    run_id: int | None = None

    def start(self) -> None:
        """Write the row that says the sync started, when the database lets us now."""
        with contextlib.suppress(StorageError), self.uow_factory() as uow:
            self.run_id = uow.sync_runs.start(
                self.instance_id, self.trigger, self.actor_id, self.started_at
            )
            uow.commit()

    def finish(
        self, report: SyncReport | None, error: str | None, *, interrupted: bool = False
    ) -> None:
        """Record the outcome; a failure to record never hides the sync's own outcome."""
        with contextlib.suppress(WaManagerError), self.uow_factory() as uow:
            run_id = self.run_id
            if run_id is None:
                run_id = uow.sync_runs.start(
                    self.instance_id, self.trigger, self.actor_id, self.started_at
                )
            uow.sync_runs.finish(run_id, self.clock(), report, error, interrupted=interrupted)
            uow.commit()
