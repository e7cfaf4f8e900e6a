"""Contacts and their links to users: finding, listing, linking, unlinking, exporting.

``Contacts`` is bound to its store and clock once (by ``bootstrap``); every method
takes the actor first and asks ``permissions.authorize`` before anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from attrs import frozen

from wa_manager.domain.errors import InvalidInput, NotFound
from wa_manager.domain.model import Actor, Contact, ContactLink, LinkEvent, Page, User
from wa_manager.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from wa_manager.domain.rules import normalize_phone_query
from wa_manager.services import export
from wa_manager.services.inbox import release_hidden_assignments
from wa_manager.services.permissions import Action, actor_id, authorize

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def check_limit(limit: int) -> int:
    """A page size between 1 and 200, or ``InvalidInput``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    return limit


def existing_contact(uow: UnitOfWork, contact_id: int) -> Contact:
    """The contact with this id, or ``NotFound``."""
    contact = uow.contacts.get(contact_id)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}")
    return contact


def existing_user(uow: UnitOfWork, username: str) -> User:
    """The user with this name, or ``NotFound`` saying where to look."""
    user = uow.users.by_username(username)
    if user is None:
        raise NotFound(f"no user named {username!r}; see `wa-manager users list`")
    return user


def resolve_contact(uow: UnitOfWork, ref: str) -> Contact:
    """Find a contact by its id, its wa_id, or its phone in E.164; else ``NotFound``."""
    ref = ref.strip()
    contact: Contact | None = None
    if ref.isascii() and ref.isdigit():
        contact = uow.contacts.get(int(ref))
    elif "@" in ref:
        contact = uow.contacts.find(None, wa_id=ref)
    elif (phone := normalize_phone_query(ref)) is not None:
        contact = uow.contacts.find(None, phone=phone)
    if contact is None:
        raise NotFound(
            f"no contact {ref!r}; give its id, its wa_id (e.g. 4915112345678@c.us) "
            "or its phone in E.164 (e.g. +4915112345678)"
        )
    return contact


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
    ) -> Page[Contact]:
        """A page of contacts, newest first, optionally filtered by ``search``/``vanished``."""
        authorize(actor, Action.LIST_CONTACTS)
        check_limit(limit)
        with self.store() as uow:
            return uow.contacts.page(
                search=search or None, limit=limit, before_id=before_id, vanished=vanished
            )

    def get(self, actor: Actor, contact_id: int) -> Contact:
        """One contact, or ``NotFound``."""
        authorize(actor, Action.SEE_CONTACT)
        with self.store() as uow:
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
            unknown = sorted(uid for uid in wanted if uow.users.get(uid) is None)
            if unknown:
                raise InvalidInput(f"unknown user ids {unknown}; see GET /api/users")
            current = set(uow.links.user_ids(contact_id))
            now = self.clock()
            for user_id in sorted(wanted - current):
                uow.links.add(contact_id, user_id, actor_id(actor), now)
            for user_id in sorted(current - wanted):
                uow.links.remove(contact_id, user_id, actor_id(actor), now)
                release_hidden_assignments(uow, user_id, actor_id(actor), now)
            result = uow.links.user_ids(contact_id)
            uow.commit()
        return result

    def user_ids(self, actor: Actor, contact_id: int) -> list[int]:
        """The ids of the users linked to a contact."""
        authorize(actor, Action.SEE_LINKS)
        with self.store() as uow:
            existing_contact(uow, contact_id)
            return uow.links.user_ids(contact_id)

    def links(self, actor: Actor) -> list[tuple[ContactLink, Contact, User]]:
        """Every link with its contact and user, for listings."""
        authorize(actor, Action.SEE_LINKS)
        with self.store() as uow:
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
        with self.store() as uow:
            existing_contact(uow, contact_id)
            return uow.links.history(contact_id)

    def export_csv(
        self,
        actor: Actor,
        *,
        search: str | None = None,
        vanished: bool | None = None,
        bom: bool = False,
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
                limit=export.EXPORT_PAGE_SIZE,
                before_id=before_id,
            )

        return export.contacts_csv(read_page, bom=bom)
