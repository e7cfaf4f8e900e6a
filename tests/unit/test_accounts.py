"""Users, passwords and API tokens (services.accounts through the App)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wa_manager.bootstrap import App
from wa_manager.domain.errors import AlreadyExists, AuthError, InvalidInput, NotFound
from wa_manager.domain.model import LIBRARY, Role
from wa_manager.services.accounts import hash_api_token
from wa_manager.testing import DEFAULT_NOW, FixedClock, InMemoryStore


def test_a_new_user_is_listed_with_its_role(app: App) -> None:
    boss = app.add_user("boss", "admin", password="correct horse")
    maria = app.add_user("maria", Role.USER)
    assert [(u.id, u.username, u.role, u.active) for u in app.accounts.users(LIBRARY)] == [
        (boss.id, "boss", Role.ADMIN, True),
        (maria.id, "maria", Role.USER, True),
    ]
    assert boss.created_at == DEFAULT_NOW
    assert app.accounts.user(LIBRARY, "maria") == maria


def test_a_taken_username_is_refused_and_nothing_changes(app: App) -> None:
    app.add_user("maria", "user")
    with pytest.raises(AlreadyExists, match="maria"):
        app.add_user("maria", "admin")
    assert [(u.username, u.role) for u in app.accounts.users(LIBRARY)] == [("maria", Role.USER)]


@pytest.mark.parametrize(
    ("username", "role", "password", "message"),
    [
        ("maria", "owner", None, "role 'owner' is unknown; use admin or user"),
        ("maria ruiz", "user", None, "may only contain"),
        ("", "user", None, "1 to 64 characters"),
        ("maria", "user", "short", "at least 8 characters"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    app: App, username: str, role: str, password: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        app.add_user(username, role, password=password)
    assert app.accounts.users(LIBRARY) == []


def test_an_unknown_username_is_not_found(app: App) -> None:
    with pytest.raises(NotFound, match="no user named 'ghost'"):
        app.accounts.user(LIBRARY, "ghost")


def test_the_right_password_signs_in(app: App) -> None:
    maria = app.add_user("maria", "user", password="correct horse")
    assert app.accounts.user_for_password("maria", "correct horse") == maria


def test_wrong_password_unknown_user_and_no_password_all_get_the_same_answer(app: App) -> None:
    app.add_user("maria", "user", password="correct horse")
    app.add_user("nopass", "user")
    messages = set()
    for username, password in [
        ("maria", "wrong horse"),
        ("maria", ""),
        ("ghost", "correct horse"),
        ("nopass", "correct horse"),
        ("MARIA", "wrong horse"),
    ]:
        with pytest.raises(AuthError) as caught:
            app.accounts.user_for_password(username, password)
        messages.add(str(caught.value))
    assert messages == {"wrong username or password"}


def test_a_token_is_shown_once_and_stored_only_as_its_hash(app: App, store: InMemoryStore) -> None:
    maria = app.add_user("maria", "user")
    token = app.accounts.create_token(LIBRARY, "maria")
    assert token.startswith("wam_")
    assert len(token) >= 40
    assert token not in repr(store.published)
    assert hash_api_token(token) in repr(store.published)
    assert app.accounts.user_for_token(token) == maria
    assert app.accounts.create_token(LIBRARY, "maria") != token


def test_using_a_token_notes_when_it_was_last_used(
    app: App, store: InMemoryStore, clock: FixedClock
) -> None:
    maria = app.add_user("maria", "user")
    token = app.accounts.create_token(LIBRARY, "maria", name="laptop")
    clock.advance(timedelta(hours=2))
    app.accounts.user_for_token(token)
    with store() as uow:
        (stored,) = uow.tokens.list_for(maria.id)
    assert (stored.name, stored.created_at) == ("laptop", DEFAULT_NOW)
    assert stored.last_used_at == DEFAULT_NOW + timedelta(hours=2)


def test_a_revoked_token_is_refused(app: App, store: InMemoryStore) -> None:
    maria = app.add_user("maria", "user")
    token = app.accounts.create_token(LIBRARY, "maria")
    other = app.accounts.create_token(LIBRARY, "maria")
    with store() as uow:
        first = uow.tokens.list_for(maria.id)[0]
        assert uow.tokens.revoke(first.id, DEFAULT_NOW) is True
        assert uow.tokens.revoke(first.id, DEFAULT_NOW) is False
        uow.commit()
    with pytest.raises(AuthError, match="unknown or revoked"):
        app.accounts.user_for_token(token)
    assert app.accounts.user_for_token(other) == maria


@pytest.mark.parametrize("token", ["", "wam_made-up", "Bearer wam_x"])
def test_an_unknown_token_is_refused(app: App, token: str) -> None:
    app.add_user("maria", "user")
    app.accounts.create_token(LIBRARY, "maria")
    with pytest.raises(AuthError):
        app.accounts.user_for_token(token)


def test_a_token_for_an_unknown_user_is_not_made(app: App, store: InMemoryStore) -> None:
    with pytest.raises(NotFound, match="ghost"):
        app.accounts.create_token(LIBRARY, "ghost")
    assert store.published.tokens == {}


def test_a_token_in_use_notes_its_last_use_only_every_few_minutes(
    app: App, store: InMemoryStore, clock: FixedClock
) -> None:
    maria = app.add_user("maria", "user")
    token = app.accounts.create_token(LIBRARY, "maria")
    app.accounts.user_for_token(token)
    writes_before = sum(1 for uow in store.recent_units if uow.committed)
    clock.advance(timedelta(minutes=4))
    for _ in range(3):
        assert app.accounts.user_for_token(token) == maria
    assert sum(1 for uow in store.recent_units if uow.committed) == writes_before
    with store() as uow:
        assert uow.tokens.list_for(maria.id)[0].last_used_at == DEFAULT_NOW
    clock.advance(timedelta(minutes=1))
    app.accounts.user_for_token(token)
    with store() as uow:
        assert uow.tokens.list_for(maria.id)[0].last_used_at == DEFAULT_NOW + timedelta(minutes=5)


def test_usernames_are_unique_regardless_of_case_and_sign_in_takes_any_case(app: App) -> None:
    admin = app.add_user("admin", "admin", password="correct horse")
    for other in ("ADMIN", "Admin", "aDmIn"):
        with pytest.raises(AlreadyExists, match="'admin' exists already"):
            app.add_user(other, "admin", password="correct horse")
    assert [u.username for u in app.accounts.users(LIBRARY)] == ["admin"]
    assert app.accounts.user_for_password("ADMIN", "correct horse") == admin
    assert app.accounts.user(LIBRARY, "Admin") == admin


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("maria", "maria", "at least 8 characters"),
        ("mariahelena", "MariaHelena", "may not be the username"),
        ("maria", "password", "one of the 30,000 most common passwords"),
        ("maria", "Password1", "one of the 30,000 most common passwords"),
        ("maria", "qwertyuiop", "one of the 30,000 most common passwords"),
        ("maria", "12341234", "too easy to guess"),
        ("maria", "aaaaaaaaaaaa", "too easy to guess"),
        ("maria", "x" * 1025, "at most 1024 characters"),
    ],
)
def test_weak_or_oversized_passwords_are_refused_and_nobody_is_created(
    app: App, username: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        app.add_user(username, "user", password=password)
    assert repr(password) not in str(caught.value)  # never echoed back
    assert app.accounts.users(LIBRARY) == []


def test_a_long_unusual_password_is_accepted(app: App) -> None:
    maria = app.add_user("maria", "user", password="trellis-vinegar-orbit " * 40)
    assert app.accounts.user_for_password("maria", "trellis-vinegar-orbit " * 40) == maria
