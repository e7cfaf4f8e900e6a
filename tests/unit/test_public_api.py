"""The public Python API (``docs/interface.md#python-api``) and ``wa_manager.testing``."""

from __future__ import annotations

import types
from datetime import timedelta

import pytest

import wa_manager
import wa_manager.testing
from tests.unit.support import ANNA, ULTRAMSG_SAMPLE
from wa_manager import Settings, bootstrap
from wa_manager.domain.errors import ConfigError, UpstreamRejected
from wa_manager.domain.model import ChatList, RawChat
from wa_manager.testing import (
    DEFAULT_NOW,
    FailingChats,
    FastHasher,
    FixedClock,
    InMemoryStore,
    StaticChats,
    TickingClock,
    memory_app,
)

DOCUMENTED_SURFACE = {
    "Actor",
    "AlreadyExists",
    "App",
    "AuthError",
    "ChatKind",
    "ChatList",
    "ConfigError",
    "Contact",
    "ContactLink",
    "Conversation",
    "InvalidInput",
    "NotFound",
    "Page",
    "PermissionDenied",
    "RawChat",
    "Role",
    "Secret",
    "Settings",
    "StorageError",
    "SyncAlreadyRunning",
    "SyncReport",
    "SystemActor",
    "UpstreamError",
    "User",
    "WaManagerError",
    "__version__",
    "bootstrap",
}


@pytest.mark.parametrize("module", [wa_manager, wa_manager.testing], ids=lambda m: m.__name__)
def test_all_names_exist_and_nothing_public_is_left_out(module: types.ModuleType) -> None:
    exported = module.__all__
    assert len(exported) == len(set(exported))
    assert all(hasattr(module, name) for name in exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", module.__name__).startswith("wa_manager")
        and (module is wa_manager or getattr(value, "__module__", "") == module.__name__)
    }
    assert public <= set(exported)


def test_the_package_exports_exactly_the_documented_surface() -> None:
    assert set(wa_manager.__all__) == DOCUMENTED_SURFACE


def test_settings_never_show_the_token() -> None:
    settings = Settings(instance_id="instance12345", token="recognisable-secret")
    for text in (repr(settings), str(settings), repr(settings.token), str(settings.token)):
        assert "recognisable-secret" not in text
    assert settings.token is not None
    assert settings.token.get() == "recognisable-secret"
    from_env = Settings.from_env({"ULTRAMSG_TOKEN": "recognisable-secret"})
    assert "recognisable-secret" not in repr(from_env)


def test_the_contracts_example_runs_on_the_memory_adapters() -> None:
    app = bootstrap(
        Settings(instance_id="instance12345"),
        chats=StaticChats(ULTRAMSG_SAMPLE),
        store=InMemoryStore(),
        hasher=FastHasher(),
    )
    report = app.sync(dry_run=False)
    assert report.created_contacts == report.as_dict()["created_contacts"] == 4
    app.add_user("maria", "user")
    assert app.link(contact="+4915112345678", username="maria") is True
    convs = app.conversations_for("maria")
    assert [(c.contact.wa_id, c.contact.name) for c in convs] == [(ANNA, "Anna Schmidt")]


def test_canned_chats_need_an_instance_id_as_their_source() -> None:
    with pytest.raises(ConfigError, match="instance_id"):
        bootstrap(Settings(), chats=StaticChats([]), store=InMemoryStore())


def test_static_chats_read_ultramsg_dicts_and_pairs_and_count_fetches() -> None:
    chats = StaticChats(
        [
            {"id": ANNA, "name": "Anna", "unread": 2},
            {"id": 12345, "name": ["not", "a", "name"]},
            {"name": "no id"},
            ("1@lid", None),
            RawChat("2@lid", "Two"),
        ]
    )
    assert chats.fetch_chats() == [
        RawChat(ANNA, "Anna"),
        RawChat(None, None),
        RawChat(None, "no id"),
        RawChat("1@lid", None),
        RawChat("2@lid", "Two"),
    ]
    chats.replace([("3@lid", "Three")])
    assert chats.fetch_chats() == [RawChat("3@lid", "Three")]
    assert chats.calls == 2


def test_failing_chats_raise_the_given_error_every_time() -> None:
    error = UpstreamRejected("UltraMsg said: Instance not found")
    chats = FailingChats(error)
    for _ in range(2):
        with pytest.raises(UpstreamRejected) as caught:
            chats.fetch_chats()
        assert caught.value is error
    assert chats.calls == 2


def test_clocks_tell_the_time_tests_want() -> None:
    fixed = FixedClock()
    assert fixed() == fixed() == DEFAULT_NOW
    fixed.advance(timedelta(minutes=3))
    assert fixed() == DEFAULT_NOW + timedelta(minutes=3)
    ticking = TickingClock(step=timedelta(seconds=2))
    assert [ticking(), ticking()] == [DEFAULT_NOW, DEFAULT_NOW + timedelta(seconds=2)]


def test_fast_hasher_checks_passwords() -> None:
    hasher = FastHasher()
    stored = hasher.hash("correct horse")
    assert "correct horse" not in stored
    assert hasher.verify(stored, "correct horse") is True
    assert hasher.verify(stored, "wrong horse") is False
    assert hasher.verify("$argon2id$v=19$m=65536,t=3,p=4$garbage", "correct horse") is False


def test_memory_app_takes_settings_and_a_chat_source() -> None:
    app = memory_app(ULTRAMSG_SAMPLE, instance_id="instance999", sync_groups=False)
    report = app.sync()
    assert (report.instance_id, report.created_contacts) == ("instance999", 2)
    source = StaticChats([(ANNA, "Anna")])
    assert memory_app(source).sync().created_contacts == 1
    assert source.calls == 1


def test_a_chat_list_is_two_columns_read_as_raw_chats() -> None:
    chats = ChatList.of([RawChat(ANNA, "Anna"), (None, "no id"), ("1@lid", None)])
    assert (chats.wa_ids, chats.names) == ([ANNA, None, "1@lid"], ["Anna", "no id", None])
    assert len(chats) == 3
    assert list(chats) == [RawChat(ANNA, "Anna"), RawChat(None, "no id"), RawChat("1@lid", None)]
    assert all(isinstance(chat, RawChat) for chat in chats)
    assert (chats[0], chats[-1]) == (RawChat(ANNA, "Anna"), RawChat("1@lid", None))
    assert chats[1:] == ChatList([None, "1@lid"], ["no id", None])
    assert chats == [RawChat(ANNA, "Anna"), (None, "no id"), ("1@lid", None)]
    assert chats != chats[:2]
    assert ChatList.of(chats) is chats
    assert ChatList.of(iter([("1@lid", "x")])) == [RawChat("1@lid", "x")]
    assert ChatList() == []
    with pytest.raises(ValueError, match="as many names as ids"):
        ChatList(["1@lid"], [])
