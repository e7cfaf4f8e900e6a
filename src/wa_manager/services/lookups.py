"""Finding what a use case is about, or saying clearly that it is not there.

Contacts by id, wa_id or phone; users by name; teams by id or name; and a check
that every id of a list exists. Each raises the domain's ``NotFound`` (or
``InvalidInput`` for ids in a request body) with a message that says where to look.
"""

from __future__ import annotations

from collections.abc import Iterable

from wa_manager.domain.errors import InvalidInput, NotFound
from wa_manager.domain.model import Contact, Team, User
from wa_manager.domain.ports import UnitOfWork
from wa_manager.domain.rules import normalize_phone_query


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


def resolve_team(uow: UnitOfWork, ref: str | int) -> Team:
    """The team with this id or name, or ``NotFound`` saying where to look."""
    team: Team | None = None
    if isinstance(ref, int):
        team = uow.teams.get(ref)
    else:
        team = uow.teams.by_name(ref.strip())
        if team is None and ref.strip().isascii() and ref.strip().isdigit():
            team = uow.teams.get(int(ref.strip()))
    if team is None:
        raise NotFound(f"no team {ref!r}; see `wa-manager teams list`")
    return team


def unknown_ids(uow: UnitOfWork, what: str, ids: Iterable[int]) -> None:
    """``InvalidInput`` naming the ids of ``what`` (users, teams) that do not exist."""
    lookup = uow.users.get if what == "user" else uow.teams.get
    unknown = sorted(i for i in set(ids) if lookup(i) is None)
    if unknown:
        raise InvalidInput(f"unknown {what} ids {unknown}; see GET /api/{what}s")
