"""Several WhatsApp numbers on the memory store: the use cases, the cipher, sync of
every number with one failing, the scheduler's turn, replies through the right number."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_manager.adapters.encryption import FernetCipher, new_key
from wa_manager.bootstrap import App
from wa_manager.config import Secret
from wa_manager.domain.errors import (
    AlreadyExists,
    ConfigError,
    InvalidInput,
    NotFound,
    UpstreamError,
    UpstreamUnavailable,
)
from wa_manager.domain.model import CLI, LIBRARY
from wa_manager.testing import FailingChats, FakeMessenger, StaticChats, memory_app

DEFAULT = "instance1"
SALES = "instance2"
SUPPORT = "instance3"
ANNA = "4915112345678@c.us"
BEN = "4915187654321@c.us"


class Number(StaticChats, FakeMessenger):
    """Canned chats and a recording channel: one stored number's UltraMsg."""

    def __init__(self, chats: list[dict[str, Any]]) -> None:
        StaticChats.__init__(self, chats)
        FakeMessenger.__init__(self)


class Upstreams:
    """``connect`` for the memory app: the number of each stored instance, and the tokens
    it was asked with."""

    def __init__(self, **numbers: Any) -> None:
        self.numbers = numbers
        self.tokens: dict[str, str] = {}

    def __call__(self, instance_id: str, token: Secret) -> Any:
        self.tokens[instance_id] = token.get()
        return self.numbers[instance_id]


def numbers_app(upstreams: Upstreams, **settings: Any) -> App:
    settings.setdefault("encryption_key", new_key())
    return memory_app(
        [{"id": ANNA, "name": "Anna"}], instance_id=DEFAULT, connect=upstreams, **settings
    )


@pytest.fixture
def upstreams() -> Upstreams:
    return Upstreams(
        instance2=Number([{"id": ANNA, "name": "Anna S"}, {"id": BEN, "name": "Ben"}]),
        instance3=Number([{"id": ANNA, "name": "Anna H"}]),
    )


@pytest.fixture
def app(upstreams: Upstreams) -> App:
    built = numbers_app(upstreams)
    built.instances.add(LIBRARY, SALES, "tok-sales", "Sales")
    built.instances.add(LIBRARY, SUPPORT, "tok-support")
    return built


def contacts(app: App) -> list[tuple[str, str]]:
    return sorted((c.source, c.wa_id) for c in app.contacts.page(LIBRARY, limit=200).items)


def test_every_number_is_synced_and_the_same_person_is_one_contact_per_number(
    app: App, upstreams: Upstreams
) -> None:
    outcomes = app.syncs.run_all(CLI)
    assert [(o.instance_id, o.error) for o in outcomes] == [
        (DEFAULT, None),
        (SALES, None),
        (SUPPORT, None),
    ]
    assert contacts(app) == [(DEFAULT, ANNA), (SALES, ANNA), (SALES, BEN), (SUPPORT, ANNA)]
    assert upstreams.tokens == {SALES: "tok-sales", SUPPORT: "tok-support"}
    assert [run.instance_id for run in app.syncs.history(CLI).items] == [SUPPORT, SALES, DEFAULT]


def test_one_failing_number_does_not_stop_the_others(app: App, upstreams: Upstreams) -> None:
    upstreams.numbers[SALES] = FailingChats()
    outcomes = app.syncs.run_all(CLI)
    assert [o.instance_id for o in outcomes] == [DEFAULT, SALES, SUPPORT]
    assert isinstance(outcomes[1].error, UpstreamUnavailable)
    assert outcomes[0].report is not None
    assert outcomes[2].report is not None
    assert contacts(app) == [(DEFAULT, ANNA), (SUPPORT, ANNA)]
    states = {run.instance_id: run.state for run in app.syncs.history(CLI).items}
    assert states == {DEFAULT: "succeeded", SALES: "failed", SUPPORT: "succeeded"}


def test_the_scheduler_syncs_every_number(app: App) -> None:
    assert app.syncs.run_scheduled().instance_id == SUPPORT
    assert [run.trigger for run in app.syncs.history(CLI).items] == ["schedule"] * 3


def test_the_scheduler_names_the_numbers_that_failed(app: App, upstreams: Upstreams) -> None:
    upstreams.numbers[SUPPORT] = FailingChats()
    with pytest.raises(UpstreamError, match=f"^{SUPPORT}: UltraMsg did not answer"):
        app.syncs.run_scheduled()
    assert contacts(app) == [(DEFAULT, ANNA), (SALES, ANNA), (SALES, BEN)]


def test_one_number_alone_and_an_unknown_one(app: App) -> None:
    assert app.syncs.run(CLI, instance=SALES).created_contacts == 2
    assert app.sync().instance_id == DEFAULT  # the library's sync: the default, as before
    with pytest.raises(InvalidInput, match="instances list"):
        app.syncs.run(CLI, instance="instance9")


def test_replies_and_history_use_the_conversations_own_number(
    app: App, upstreams: Upstreams
) -> None:
    app.syncs.run_all(CLI)
    boss = app.add_user("boss", "admin")
    conversation = {
        (app.contacts.get(LIBRARY, c.contact.id).source, c.contact.wa_id): c.id
        for c in app.conversations.all(boss)
    }
    app.send_message(boss, conversation[SUPPORT, ANNA], "From support")
    app.send_message(boss, conversation[DEFAULT, ANNA], "From the default")
    assert [sent[1] for sent in upstreams.numbers[SUPPORT].sent] == ["From support"]
    assert upstreams.numbers[SALES].sent == []
    app.instances.remove(LIBRARY, SUPPORT)
    with pytest.raises(ConfigError, match="not configured"):
        app.send_message(boss, conversation[SUPPORT, ANNA], "After removal")
    [failed] = [m for m in app.messages(boss, conversation[SUPPORT, ANNA]).items if m.error]
    assert failed.status == "failed"


def test_the_list_shows_the_default_first_and_never_a_token(app: App) -> None:
    app.syncs.run_all(CLI)
    listed = app.instances.list(CLI)
    assert [(i.instance_id, i.label, i.contacts, i.stored) for i in listed] == [
        (DEFAULT, None, 1, False),
        (SALES, "Sales", 2, True),
        (SUPPORT, None, 1, True),
    ]
    assert "tok-" not in repr(listed)
    assert "tok-" not in repr(app.store.published.instances)  # type: ignore[attr-defined]


def test_adding_checks_what_it_stores(app: App) -> None:
    with pytest.raises(AlreadyExists):
        app.instances.add(CLI, SALES, "tok-x")
    with pytest.raises(AlreadyExists, match="default"):
        app.instances.add(CLI, DEFAULT, "tok-x")
    with pytest.raises(InvalidInput, match="instance id"):
        app.instances.add(CLI, "instance 9/..", "tok-x")
    with pytest.raises(InvalidInput, match="token is empty"):
        app.instances.add(CLI, "instance9", "   ")
    with pytest.raises(InvalidInput) as spaced:
        app.instances.add(CLI, "instance9", "secret token")
    assert "secret" not in str(spaced.value)
    with pytest.raises(NotFound):
        app.instances.set_token(CLI, "instance9", "tok-x")
    with pytest.raises(InvalidInput, match="default"):
        app.instances.remove(CLI, DEFAULT)


def test_without_a_key_nothing_is_stored_but_the_default_still_syncs(upstreams: Upstreams) -> None:
    app = numbers_app(upstreams, encryption_key=None)
    with pytest.raises(ConfigError, match="instances new-key"):
        app.instances.add(CLI, SALES, "tok-sales")
    assert [i.instance_id for i in app.instances.list(CLI)] == [DEFAULT]
    assert app.syncs.run(CLI).instance_id == DEFAULT


def test_rotation_reseals_every_token_all_or_nothing(upstreams: Upstreams) -> None:
    old, new = new_key(), new_key()
    app = numbers_app(upstreams, encryption_key=old)
    app.instances.add(CLI, SALES, "tok-sales")
    store = app.store
    rotated = memory_app([], instance_id=DEFAULT, store=store, connect=upstreams,
                         encryption_key=f"{new},{old}")  # fmt: skip
    assert rotated.instances.rotate_key(CLI) == 1
    only_new = memory_app([], instance_id=DEFAULT, store=store, connect=upstreams,
                          encryption_key=new)  # fmt: skip
    assert only_new.syncs.run(CLI, instance=SALES).created_contacts == 2
    assert upstreams.tokens[SALES] == "tok-sales"
    wrong = memory_app([], instance_id=DEFAULT, store=store, connect=upstreams,
                       encryption_key=new_key())  # fmt: skip
    before = [i.sealed_token for i in store.published.instances.values()]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=f"cannot decrypt the stored token of {SALES}"):
        wrong.instances.rotate_key(CLI)
    assert [i.sealed_token for i in store.published.instances.values()] == before  # type: ignore[attr-defined]


@given(token=st.text(min_size=12, max_size=200))
def test_the_cipher_gives_back_what_it_sealed_and_never_shows_it(token: str) -> None:
    old, new = new_key(), new_key()
    sealed = FernetCipher(old).seal(token)
    assert token not in sealed
    assert FernetCipher(f"{new},{old}").open(sealed, "i") == token
    resealed = FernetCipher(f"{new},{old}").reseal(sealed, "i")
    assert FernetCipher(new).open(resealed, "i") == token
    with pytest.raises(ConfigError):
        FernetCipher(old).open(resealed, "i")


@pytest.mark.parametrize("keys", ["", " , ", "short", "x" * 44, f"{'x' * 43}=,nope"])
def test_a_bad_key_is_one_clear_line(keys: str) -> None:
    with pytest.raises(ConfigError) as raised:
        FernetCipher(keys)
    message = str(raised.value)
    assert "\n" not in message
    assert "wa-manager instances new-key" in message
    assert keys.strip(" ,") == "" or keys not in message
    assert repr(FernetCipher(new_key())) == "FernetCipher(***)"
