"""Contacts and their links to users: finding, listing, linking, unlinking.

Only admins see contacts and change links (``require_admin``); the CLI acts as
the system (``actor`` None) and is trusted like an admin.
"""

from __future__ import annotations

from collections.abc import Iterable

from wa_manager.domain.errors import InvalidInput, NotFound
from wa_manager.domain.model import Contact, ContactLink, LinkEvent, Page, User
from wa_manager.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from wa_manager.domain.rules import normalize_phone_query, require_admin

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def check_limit(limit: int) -> int:
    """A page size between 1 and 200, or ``InvalidInput``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    return limit


def _require_admin_actor(actor: User | None, action: str) -> None:
    if actor is not None:
        require_admin(actor, action)


def existing_contact(uow: UnitOfWork, contact_id: int) -> Contact:
    """The contact with this id, or ``NotFound``."""
    contact = uow.contacts.get(contact_id)
    if contact is None:
        raise NotFound(f"no contact with id {contact_id}")
    return contact


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


def list_contacts(
    uow_factory: UnitOfWorkFactory,
    actor: User | None,
    *,
    search: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    before_id: int | None = None,
    vanished: bool | None = None,
) -> Page:
    """A page of contacts, newest first, optionally filtered by ``search``."""
    _require_admin_actor(actor, "list contacts")
    check_limit(limit)
    with uow_factory() as uow:
        return uow.contacts.page(
            search=search or None, limit=limit, before_id=before_id, vanished=vanished
        )


def get_contact(uow_factory: UnitOfWorkFactory, actor: User | None, contact_id: int) -> Contact:
    """One contact, or ``NotFound``."""
    _require_admin_actor(actor, "see contacts")
    with uow_factory() as uow:
        return existing_contact(uow, contact_id)


def link(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    actor: User | None,
    *,
    contact: str,
    username: str,
) -> bool:
    """Let ``username`` see the conversations of ``contact``; True if it changed anything."""
    return _change_link(uow_factory, clock, actor, contact, username, add=True)


def unlink(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    actor: User | None,
    *,
    contact: str,
    username: str,
) -> bool:
    """Take that right away again; True if it changed anything."""
    return _change_link(uow_factory, clock, actor, contact, username, add=False)


def _change_link(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    actor: User | None,
    contact_ref: str,
    username: str,
    *,
    add: bool,
) -> bool:
    _require_admin_actor(actor, "change links")
    actor_id = actor.id if actor is not None else None
    with uow_factory() as uow:
        contact = resolve_contact(uow, contact_ref)
        user = uow.users.by_username(username)
        if user is None:
            raise NotFound(f"no user named {username!r}; see `wa-manager users list`")
        change = uow.links.add if add else uow.links.remove
        changed = change(contact.id, user.id, actor_id, clock())
        uow.commit()
    return changed


def set_contact_users(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    actor: User | None,
    *,
    contact_id: int,
    user_ids: Iterable[int],
) -> list[int]:
    """Make exactly ``user_ids`` linked to the contact; unknown users are ``InvalidInput``."""
    _require_admin_actor(actor, "change links")
    wanted = set(user_ids)
    actor_id = actor.id if actor is not None else None
    with uow_factory() as uow:
        existing_contact(uow, contact_id)
        unknown = sorted(uid for uid in wanted if uow.users.get(uid) is None)
        if unknown:
            raise InvalidInput(f"unknown user ids {unknown}; see GET /api/users")
        current = set(uow.links.user_ids(contact_id))
        now = clock()
        for user_id in sorted(wanted - current):
            uow.links.add(contact_id, user_id, actor_id, now)
        for user_id in sorted(current - wanted):
            uow.links.remove(contact_id, user_id, actor_id, now)
        result = uow.links.user_ids(contact_id)
        uow.commit()
    return result


def contact_user_ids(
    uow_factory: UnitOfWorkFactory, actor: User | None, contact_id: int
) -> list[int]:
    """The ids of the users linked to a contact."""
    _require_admin_actor(actor, "see links")
    with uow_factory() as uow:
        existing_contact(uow, contact_id)
        return uow.links.user_ids(contact_id)


def list_links(uow_factory: UnitOfWorkFactory) -> list[tuple[ContactLink, Contact, User]]:
    """Every link with its contact and user, for listings."""
    with uow_factory() as uow:
        rows: list[tuple[ContactLink, Contact, User]] = []
        for item in uow.links.list():
            contact = uow.contacts.get(item.contact_id)
            user = uow.users.get(item.user_id)
            if contact is not None and user is not None:
                rows.append((item, contact, user))
        return rows


def link_history(
    uow_factory: UnitOfWorkFactory, actor: User | None, contact_id: int
) -> list[LinkEvent]:
    """Who linked and unlinked this contact, and when, oldest first."""
    _require_admin_actor(actor, "see the link history")
    with uow_factory() as uow:
        existing_contact(uow, contact_id)
        return uow.links.history(contact_id)
