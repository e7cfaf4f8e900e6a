"""Sessions and the login throttle kept in the store (services.sessions), on the memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wa_manager.bootstrap import App
from wa_manager.domain.errors import AuthError
from wa_manager.services.sessions import (
    SESSION_LIFETIME,
    LoginThrottle,
    TooManyAttempts,
    csrf_token_for,
)
from wa_manager.testing import DEFAULT_NOW, FixedClock, InMemoryStore, memory_app


def test_a_session_names_its_user_until_it_is_ended_for_good(app: App) -> None:
    maria = app.add_user("maria", "user")
    secret = app.sessions.start(maria)
    assert app.sessions.user_for(secret) == maria
    assert app.sessions.end(secret) is True
    with pytest.raises(AuthError, match="sign in again"):
        app.sessions.user_for(secret)
    assert app.sessions.end(secret) is False


def test_the_store_keeps_no_session_secret(app: App, store: InMemoryStore) -> None:
    secret = app.sessions.start(app.add_user("maria", "user"))
    assert secret not in repr(store.published.sessions)
    assert secret not in repr(store.published.session_ids)


def test_a_session_expires_after_its_lifetime(app: App, clock: FixedClock) -> None:
    secret = app.sessions.start(app.add_user("maria", "user"))
    clock.advance(SESSION_LIFETIME - timedelta(seconds=1))
    app.sessions.user_for(secret)
    clock.advance(timedelta(seconds=1))
    with pytest.raises(AuthError):
        app.sessions.user_for(secret)


def test_an_unknown_secret_is_no_session(app: App) -> None:
    app.sessions.start(app.add_user("maria", "user"))
    with pytest.raises(AuthError):
        app.sessions.user_for("made-up")


def test_ending_all_of_a_users_sessions_can_keep_the_current_one(app: App) -> None:
    maria, boss = app.add_user("maria", "user"), app.add_user("boss", "admin")
    phone, laptop, desk = (app.sessions.start(maria) for _ in range(3))
    bosses = app.sessions.start(boss)
    assert app.sessions.end_all_for(maria.id, except_secret=desk) == 2
    for ended in (phone, laptop):
        with pytest.raises(AuthError):
            app.sessions.user_for(ended)
    assert app.sessions.user_for(desk) == maria
    assert app.sessions.user_for(bosses) == boss
    assert app.sessions.end_all_for(maria.id) == 1
    with pytest.raises(AuthError):
        app.sessions.user_for(desk)


def test_end_sessions_of_keeps_the_callers_own(app: App) -> None:
    maria = app.add_user("maria", "user")
    mine, other = app.sessions.start(maria), app.sessions.start(maria)
    app.sessions.end_sessions_of(maria.id, keep=mine)
    assert app.sessions.user_for(mine) == maria
    with pytest.raises(AuthError):
        app.sessions.user_for(other)


def test_a_session_notes_when_it_was_seen_only_every_few_minutes(
    app: App, store: InMemoryStore, clock: FixedClock
) -> None:
    secret = app.sessions.start(app.add_user("maria", "user"))
    (row,) = store.published.sessions.values()
    clock.advance(timedelta(minutes=4))
    app.sessions.user_for(secret)
    assert store.published.sessions[row.id].last_seen_at == DEFAULT_NOW
    clock.advance(timedelta(minutes=1))
    app.sessions.user_for(secret)
    assert store.published.sessions[row.id].last_seen_at == DEFAULT_NOW + timedelta(minutes=5)


def test_the_csrf_token_belongs_to_one_session_and_one_key() -> None:
    token = csrf_token_for("key", "secret")
    assert token == csrf_token_for("key", "secret")
    assert token != csrf_token_for("key", "other secret")
    assert token != csrf_token_for("other key", "secret")
    assert "secret" not in token


def test_the_signing_key_is_made_once_and_kept(app: App, store: InMemoryStore) -> None:
    key = app.sessions.signing_key()
    assert len(key) >= 32
    assert memory_app(store=store).sessions.signing_key() == key


# -- the login throttle ------------------------------------------------------------------


def throttle(store: InMemoryStore, clock: FixedClock, **options: object) -> LoginThrottle:
    return LoginThrottle(store, clock, **options)  # type: ignore[arg-type]


def test_the_sixth_attempt_in_a_minute_is_refused_with_the_wait(
    store: InMemoryStore, clock: FixedClock
) -> None:
    limit = throttle(store, clock)
    for _ in range(5):
        limit.attempt("maria", "10.0.0.1")
        clock.advance(timedelta(seconds=5))
    with pytest.raises(TooManyAttempts) as refused:
        limit.attempt("maria", "10.0.0.1")
    assert refused.value.retry_after == 35
    clock.advance(timedelta(seconds=35))
    limit.attempt("maria", "10.0.0.1")


def test_the_throttle_is_per_pair_and_per_address(store: InMemoryStore, clock: FixedClock) -> None:
    limit = throttle(store, clock, max_attempts=2)
    limit.attempt("maria", "10.0.0.1")
    limit.attempt("MARIA ", "10.0.0.1")  # the same account
    with pytest.raises(TooManyAttempts):
        limit.attempt("maria", "10.0.0.1")
    limit.attempt("maria", "10.0.0.2")  # maria from elsewhere still gets in
    with pytest.raises(TooManyAttempts):
        limit.attempt("boss", "10.0.0.1")  # this address is over its own limit


def test_a_successful_login_gives_its_attempt_back(store: InMemoryStore, clock: FixedClock) -> None:
    limit = throttle(store, clock, max_attempts=2)
    for _ in range(10):
        limit.attempt("maria", "10.0.0.1")
        limit.succeeded("maria", "10.0.0.1")
    limit.attempt("maria", "10.0.0.1")


def test_a_huge_username_costs_one_short_row(store: InMemoryStore, clock: FixedClock) -> None:
    throttle(store, clock).attempt("x" * 1_000_000, "10.0.0.1")
    assert all(len(key) == 64 for key in store.published.login_attempts)
    assert len(store.published.login_attempts) == 2


def test_stale_counters_go_and_the_table_is_capped(store: InMemoryStore, clock: FixedClock) -> None:
    limit = throttle(store, clock, max_rows=10)
    for number in range(20):
        limit.attempt(f"user{number}", f"10.0.1.{number}")
        clock.advance(timedelta(milliseconds=1))
    assert len(store.published.login_attempts) <= 10
    clock.advance(timedelta(minutes=2))
    limit.attempt("maria", "10.0.0.9")
    assert len(store.published.login_attempts) == 2
