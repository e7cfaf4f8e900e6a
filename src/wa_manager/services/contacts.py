"""Contacts and their links to users: finding, listing, linking, unlinking, exporting.

``Contacts`` is bound to its store and clock once (by ``bootstrap``); every method
takes the actor first and asks ``permissions.authorize`` before anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from attrs import frozen

from wa_manager.domain.errors import InvalidInput
from wa_manager.domain.model import (
    Actor,
    BulkLinkChange,
    Contact,
    ContactLink,
    ContactSelection,
    LinkEvent,
    Page,
    User,
)
from wa_manager.domain.ports import Clock, UnitOfWorkFactory
from wa_manager.services import export
from wa_manager.services.inbox import release_for_teams, release_hidden_assignments
from wa_manager.services.lookups import (
    existing_contact,
    existing_user,
    resolve_contact,
    resolve_team,
    unknown_ids,
)
from wa_manager.services.permissions import Action, actor_id, authorize

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def check_limit(limit: int) -> int:
    """A page size between 1 and 200, or ``InvalidInput``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    return limit


def set_exactly(
    wanted: set[int],
    current: Iterable[int],
    add: Callable[[int], object],
    remove: Callable[[int], object],
) -> None:
    """Add each wanted id that is missing and remove each present one not wanted, in id
    order (each call records its own audit event)."""
    present = set(current)
    for item in sorted(wanted - present):
        add(item)
    for item in sorted(present - wanted):
        remove(item)


@frozen
class Contacts:
    """The contact use cases (admins and the system only)."""

    store: UnitOfWorkFactory
    clock: Clock

    def page(
        self,
        actor: Actor,
        *,
        search: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        before_id: int | None = None,
        vanished: bool | None = None,
        source: str | None = None,
    ) -> Page[Contact]:
        """A page of contacts, newest first, optionally filtered by ``search``/``vanished``
        and ``source`` (a WhatsApp number's instance id)."""
        authorize(actor, Action.LIST_CONTACTS)
        check_limit(limit)
        with self.store(read_only=True) as uow:
            return uow.contacts.page(
                search=search or None,
                limit=limit,
                before_id=before_id,
                vanished=vanished,
                source=source or None,
            )

    def count(
        self,
        actor: Actor,
        *,
        search: str | None = None,
        vanished: bool | None = None,
        source: str | None = None,
    ) -> int:
        """How many contacts match ``search``/``vanished``/``source`` (the "select all N
        matching")."""
        authorize(actor, Action.LIST_CONTACTS)
        selection = ContactSelection(search=search, vanished=vanished, source=source or None)
        with self.store() as uow:
            return uow.links.count_selected(selection)

    def get(self, actor: Actor, contact_id: int) -> Contact:
        """One contact, or ``NotFound``."""
        authorize(actor, Action.SEE_CONTACT)
        with self.store(read_only=True) as uow:
            return existing_contact(uow, contact_id)

    def link(self, actor: Actor, contact: str, username: str) -> bool:
        """Let ``username`` see ``contact`` (id, wa_id or E.164 phone); True if it changed."""
        return self._change_link(actor, contact, username, add=True)

    def unlink(self, actor: Actor, contact: str, username: str) -> bool:
        """Take that right away again (and the user's assignment of conversations they
        can no longer see, with an event); True if it changed anything."""
        return self._change_link(actor, contact, username, add=False)

    def _change_link(self, actor: Actor, contact_ref: str, username: str, *, add: bool) -> bool:
        authorize(actor, Action.CHANGE_LINKS)
        with self.store() as uow:
            contact = resolve_contact(uow, contact_ref)
            user = existing_user(uow, username)
            change = uow.links.add if add else uow.links.remove
            now = self.clock()
            changed = change(contact.id, user.id, actor_id(actor), now)
            if changed and not add:
                release_hidden_assignments(uow, user.id, actor_id(actor), now)
            uow.commit()
        return changed

    def set_users(self, actor: Actor, contact_id: int, user_ids: Iterable[int]) -> list[int]:
        """Make exactly ``user_ids`` linked to the contact; unknown users are ``InvalidInput``."""
        authorize(actor, Action.CHANGE_LINKS)
        wanted = set(user_ids)
        with self.store() as uow:
            existing_contact(uow, contact_id)
            unknown_ids(uow, "user", wanted)
            by, now = actor_id(actor), self.clock()

            def unlink(user_id: int) -> None:
                uow.links.remove(contact_id, user_id, by, now)
                release_hidden_assignments(uow, user_id, by, now)

            set_exactly(
                wanted,
                uow.links.user_ids(contact_id),
                lambda user_id: uow.links.add(contact_id, user_id, by, now),
                unlink,
            )
            result = uow.links.user_ids(contact_id)
            uow.commit()
        return result

    def link_team(self, actor: Actor, contact: str, team: str) -> bool:
        """Let every member of ``team`` (id or name) see ``contact``; True if it changed."""
        return self._change_team_link(actor, contact, team, add=True)

    def unlink_team(self, actor: Actor, contact: str, team: str) -> bool:
        """Take that right away from the team again; True if it changed anything."""
        return self._change_team_link(actor, contact, team, add=False)

    def _change_team_link(
        self, actor: Actor, contact_ref: str, team_ref: str, *, add: bool
    ) -> bool:
        authorize(actor, Action.CHANGE_LINKS)
        with self.store() as uow:
            contact = resolve_contact(uow, contact_ref)
            team = resolve_team(uow, team_ref)
            by, now = actor_id(actor), self.clock()
            change = uow.links.add_team if add else uow.links.remove_team
            changed = change(contact.id, team.id, by, now)
            if changed and not add:
                release_for_teams(uow, [team.id], by, now)
            uow.commit()
        return changed

    def set_teams(self, actor: Actor, contact_id: int, team_ids: Iterable[int]) -> list[int]:
        """Make exactly ``team_ids`` linked to the contact; unknown teams are ``InvalidInput``."""
        authorize(actor, Action.CHANGE_LINKS)
        wanted = set(team_ids)
        with self.store() as uow:
            existing_contact(uow, contact_id)
            unknown_ids(uow, "team", wanted)
            by, now = actor_id(actor), self.clock()
            before = uow.links.team_ids(contact_id)
            set_exactly(
                wanted,
                before,
                lambda team_id: uow.links.add_team(contact_id, team_id, by, now),
                lambda team_id: uow.links.remove_team(contact_id, team_id, by, now),
            )
            release_for_teams(uow, set(before) - wanted, by, now)
            result = uow.links.team_ids(contact_id)
            uow.commit()
        return result

    def team_ids(self, actor: Actor, contact_id: int) -> list[int]:
        """The ids of the teams linked to a contact."""
        authorize(actor, Action.SEE_LINKS)
        with self.store() as uow:
            existing_contact(uow, contact_id)
            return uow.links.team_ids(contact_id)

    def bulk_link(
        self, actor: Actor, selection: ContactSelection, change: BulkLinkChange
    ) -> tuple[int, int]:
        """Add and remove user and team links on every selected contact, in one
        transaction, each change audited; (contacts selected, links changed).

        ``InvalidInput`` for nothing to change, an id both added and removed, or an
        unknown contact, user or team id.
        """
        authorize(actor, Action.CHANGE_LINKS)
        if not any(change):
            raise InvalidInput(
                "say what to change: add_user_ids, remove_user_ids, add_team_ids, remove_team_ids"
            )
        for what, added, removed in (
            ("user", change.add_user_ids, change.remove_user_ids),
            ("team", change.add_team_ids, change.remove_team_ids),
        ):
            if both := sorted(set(added) & set(removed)):
                raise InvalidInput(f"{what} ids {both} are both added and removed; pick one")
        with self.store() as uow:
            unknown_ids(uow, "user", [*change.add_user_ids, *change.remove_user_ids])
            unknown_ids(uow, "team", [*change.add_team_ids, *change.remove_team_ids])
            count = uow.links.count_selected(selection)
            if selection.contact_ids is not None and count != len(set(selection.contact_ids)):
                missing = sorted(
                    cid for cid in set(selection.contact_ids) if uow.contacts.get(cid) is None
                )
                raise InvalidInput(f"unknown contact ids {missing[:20]}; see GET /api/contacts")
            by, now = actor_id(actor), self.clock()
            changed = uow.links.bulk_change(selection, change, by, now)
            for user_id in sorted(set(change.remove_user_ids)):
                release_hidden_assignments(uow, user_id, by, now)
            release_for_teams(uow, change.remove_team_ids, by, now)
            uow.commit()
        return count, changed

    def user_ids(self, actor: Actor, contact_id: int) -> list[int]:
        """The ids of the users linked to a contact."""
        authorize(actor, Action.SEE_LINKS)
        with self.store(read_only=True) as uow:
            existing_contact(uow, contact_id)
            return uow.links.user_ids(contact_id)

    def links(self, actor: Actor) -> list[tuple[ContactLink, Contact, User]]:
        """Every link with its contact and user, for listings."""
        authorize(actor, Action.SEE_LINKS)
        with self.store(read_only=True) as uow:
            rows: list[tuple[ContactLink, Contact, User]] = []
            for item in uow.links.list():
                contact = uow.contacts.get(item.contact_id)
                user = uow.users.get(item.user_id)
                if contact is not None and user is not None:
                    rows.append((item, contact, user))
            return rows

    def link_history(self, actor: Actor, contact_id: int) -> list[LinkEvent]:
        """Who linked and unlinked this contact, and when, oldest first."""
        authorize(actor, Action.SEE_LINK_HISTORY)
        with self.store(read_only=True) as uow:
            existing_contact(uow, contact_id)
            return uow.links.history(contact_id)

    def export_csv(
        self,
        actor: Actor,
        *,
        search: str | None = None,
        vanished: bool | None = None,
        bom: bool = False,
        source: str | None = None,
    ) -> Iterator[str]:
        """Every contact (optionally filtered) as spreadsheet-safe CSV, streamed in chunks.

        The permission is checked now, not when the first chunk is read.
        """
        authorize(actor, Action.EXPORT_CONTACTS)

        def read_page(before_id: int | None) -> Page[Contact]:
            return self.page(
                actor,
                search=search,
                vanished=vanished,
                source=source,
                limit=export.EXPORT_PAGE_SIZE,
                before_id=before_id,
            )

        return export.contacts_csv(read_page, bom=bom)
