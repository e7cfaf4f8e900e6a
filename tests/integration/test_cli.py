"""The ``wa-manager`` command line through Click's CliRunner, on an injected memory App.

The App comes in through Click's ``obj`` (an app factory or a ``Wiring``), never
through patching: these tests see exactly what a user at a terminal would see,
stdout and stderr apart, with the exit code.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from wa_manager import Settings, bootstrap
from wa_manager.bootstrap import App
from wa_manager.domain.errors import UpstreamRejected
from wa_manager.entrypoints.cli import Wiring, cli
from wa_manager.testing import (
    DEFAULT_NOW,
    FailingChats,
    FastHasher,
    InMemoryStore,
    StaticChats,
    memory_app,
)

TOKEN = "tok-7f3a9c1e5b2d4680"  # recognisable: must never show up in any output
CONTRACT_VARIABLES = (
    "ULTRAMSG_INSTANCE_ID",
    "ULTRAMSG_TOKEN",
    "ULTRAMSG_BASE_URL",
    "ULTRAMSG_TIMEOUT",
    "WA_MANAGER_DATABASE_URL",
    "WA_MANAGER_SECRET_KEY",
    "WA_MANAGER_SYNC_GROUPS",
    "WA_MANAGER_SYNC_EVERY",
    "WA_MANAGER_WEBHOOK_SECRET",
)
CHATS = [
    {"id": "4915112345678@c.us", "name": "Anna Schmidt"},
    {"id": "447911123456@c.us", "name": "Olivia Smith 🌻"},
    {"id": "966501234567@c.us", "name": "محمد العتيبي"},
    {"id": "120363041234567890@g.us", "name": "Family"},
    {"id": "140000000000001@lid", "name": ""},
    {"id": "status@broadcast", "name": ""},
    {"id": "0@c.us", "name": "WhatsApp"},
]
CONTACT_KEYS = {
    "id",
    "wa_id",
    "name",
    "phone",
    "kind",
    "source",
    "user_ids",
    "created_at",
    "last_seen_at",
}
REPORT_KEYS = {
    "instance_id",
    "fetched",
    "created_contacts",
    "created_conversations",
    "updated_contacts",
    "skipped",
    "duration_ms",
    "dry_run",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No configuration leaks in from the machine running the tests."""
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def chats() -> StaticChats:
    return StaticChats(CHATS)


@pytest.fixture
def app_factory(store: InMemoryStore, chats: StaticChats) -> Callable[[Settings], App]:
    """A factory like ``bootstrap``: every invocation gets an App on the same memory store."""

    def build(settings: Settings) -> App:
        return memory_app(chats, store=store, token=TOKEN)

    return build


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(app_factory: Callable[[Settings], App]) -> Invoke:
    """Run ``wa-manager ARGS`` on the memory App; check the token never shows."""

    def run(*args: str, input: str | None = None, obj: object = None, **kwargs: Any) -> Result:
        result = CliRunner().invoke(
            cli, list(args), input=input, obj=obj if obj is not None else app_factory, **kwargs
        )
        assert TOKEN not in result.stdout
        assert TOKEN not in result.stderr
        return result

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def error_line(result: Result) -> str:
    """The one ``error:`` line a failing command prints to stderr, and nothing else."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return lines[0]


def as_json(result: Result) -> Any:
    ok(result)
    assert result.stderr == ""
    return json.loads(result.stdout)


def is_aware_iso(text: str | None) -> bool:
    return text is not None and datetime.fromisoformat(text).tzinfo is not None


# -- sync -------------------------------------------------------------------------


def test_sync_prints_a_one_line_summary(invoke: Invoke) -> None:
    result = ok(invoke("sync"))
    assert re.fullmatch(
        r"Synced instance12345: 7 fetched, 5 new contacts, 5 new conversations, "
        r"0 renamed, 2 skipped in \d+ ms\n",
        result.stdout,
    )


def test_sync_json_is_the_report_alone_on_stdout_and_a_second_sync_changes_nothing(
    invoke: Invoke,
) -> None:
    first = as_json(invoke("sync", "--json"))
    assert set(first) == REPORT_KEYS
    assert first["fetched"] == 7
    assert (first["created_contacts"], first["created_conversations"]) == (5, 5)
    assert (first["skipped"], first["dry_run"]) == (2, False)
    second = as_json(invoke("sync", "--json"))
    assert second["created_contacts"] == second["created_conversations"] == 0
    assert second["updated_contacts"] == second["skipped"] - 2 == 0


def test_a_renamed_chat_counts_as_renamed(invoke: Invoke, chats: StaticChats) -> None:
    ok(invoke("sync"))
    chats.replace([{"id": "4915112345678@c.us", "name": "Anna S."}, *CHATS[1:]])
    assert "1 renamed" in ok(invoke("sync")).stdout


def test_dry_run_counts_but_writes_nothing(invoke: Invoke) -> None:
    report = as_json(invoke("sync", "--json", "--dry-run"))
    assert (report["dry_run"], report["created_contacts"]) == (True, 5)
    assert as_json(invoke("contacts", "list", "--json")) == []
    assert "Dry run" in ok(invoke("sync", "--dry-run")).stdout


def test_upstream_failure_exits_1_with_one_line_and_writes_nothing(
    invoke: Invoke, store: InMemoryStore
) -> None:
    failing = lambda settings: memory_app(FailingChats(), store=store)  # noqa: E731
    result = invoke("sync", obj=failing)
    assert result.exit_code == 1
    assert "UltraMsg did not answer" in error_line(result)
    assert as_json(invoke("contacts", "list", "--json")) == []


def test_missing_ultramsg_settings_exit_2_naming_both_variables(invoke: Invoke) -> None:
    unconfigured = lambda settings: bootstrap(settings, store=InMemoryStore())  # noqa: E731
    result = invoke("sync", obj=unconfigured)
    assert result.exit_code == 2
    line = error_line(result)
    assert "ULTRAMSG_INSTANCE_ID" in line
    assert "ULTRAMSG_TOKEN" in line


@pytest.mark.parametrize("debug", [False, True])
def test_the_token_is_scrubbed_even_from_a_careless_error(invoke: Invoke, debug: bool) -> None:
    leaky = UpstreamRejected(
        f"GET https://api.ultramsg.com/i/chats?token={TOKEN} said no ({TOKEN})"
    )
    factory = lambda settings: memory_app(FailingChats(leaky), token=TOKEN)  # noqa: E731
    args = ["--debug", "sync"] if debug else ["sync"]
    result = invoke(*args, obj=factory)  # the fixture asserts TOKEN is absent
    assert result.exit_code == 1
    assert "token=***" in result.stderr
    assert ("Traceback" in result.stderr) is debug


def test_an_unexpected_exception_is_one_line_and_exit_1_with_a_traceback_only_on_debug(
    invoke: Invoke,
) -> None:
    def broken(settings: Settings) -> App:
        raise RuntimeError(f"boom at https://example.test/?token={TOKEN}")

    result = invoke("users", "list", obj=broken)
    assert result.exit_code == 1
    line = error_line(result)
    assert "RuntimeError" in line
    assert "--debug" in line
    debug = invoke("--debug", "users", "list", obj=broken)
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1].startswith("error: ")


# -- usage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["users", "add", "maria"],  # --role missing
        ["users", "add", "maria", "--role", "owner"],
        ["contacts", "list", "--limit", "0"],
        ["conversations", "list"],  # --as missing
        ["sync", "--bogus"],
    ],
)
def test_usage_errors_exit_2_with_one_error_line(invoke: Invoke, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert "--help" in error_line(result)


def test_version_and_help_come_from_the_package_and_docstrings(invoke: Invoke) -> None:
    assert ok(invoke("--version")).stdout.strip() == "wa-manager, version 0.1.0"
    help_text = ok(invoke("sync", "--help")).stdout
    assert "Fetch the chats from UltraMsg" in help_text
    assert "--dry-run" in help_text


# -- users and tokens -------------------------------------------------------------


def test_users_add_and_list(invoke: Invoke) -> None:
    assert "maria" in ok(invoke("users", "add", "maria", "--role", "user")).stdout
    ok(invoke("users", "add", "alice", "--role", "admin"))
    listed = as_json(invoke("users", "list", "--json"))
    assert [{k: user[k] for k in ("id", "username", "role", "disabled")} for user in listed] == [
        {"id": 1, "username": "maria", "role": "user", "disabled": False},
        {"id": 2, "username": "alice", "role": "admin", "disabled": False},
    ]
    table = ok(invoke("users", "list")).stdout.splitlines()
    assert table[0].split() == ["ID", "USERNAME", "ROLE", "STATUS"]
    assert table[2].split() == ["2", "alice", "admin", "enabled"]


def test_a_duplicate_username_exits_1_with_a_clear_error(invoke: Invoke) -> None:
    ok(invoke("users", "add", "maria", "--role", "user"))
    result = invoke("users", "add", "maria", "--role", "admin")
    assert result.exit_code == 1
    assert "maria" in error_line(result)
    assert len(as_json(invoke("users", "list", "--json"))) == 1


def test_password_from_stdin_lets_the_user_sign_in(invoke: Invoke, store: InMemoryStore) -> None:
    ok(invoke("users", "add", "maria", "--role", "user", "--password-stdin", input="s3cret-pw\n"))
    app = memory_app(store=store)
    assert app.accounts.user_for_password("maria", "s3cret-pw").username == "maria"


@pytest.mark.parametrize("password", ["", "short"])
def test_an_empty_or_short_password_is_refused_with_exit_2(invoke: Invoke, password: str) -> None:
    result = invoke("users", "add", "maria", "--role", "user", "--password-stdin", input=password)
    assert result.exit_code == 2
    error_line(result)
    assert as_json(invoke("users", "list", "--json")) == []


def test_tokens_create_prints_a_working_token_alone(invoke: Invoke, store: InMemoryStore) -> None:
    ok(invoke("users", "add", "alice", "--role", "admin"))
    result = ok(invoke("tokens", "create", "alice"))
    token = result.stdout.removesuffix("\n")
    assert token
    assert "\n" not in token
    assert " " not in token
    assert memory_app(store=store).accounts.user_for_token(token).username == "alice"


def test_tokens_for_an_unknown_user_exit_1(invoke: Invoke) -> None:
    result = invoke("tokens", "create", "ghost")
    assert result.exit_code == 1
    assert "ghost" in error_line(result)


# -- contacts, links, conversations -----------------------------------------------


def test_contacts_json_has_the_contract_shape(invoke: Invoke) -> None:
    ok(invoke("sync"))
    contacts = as_json(invoke("contacts", "list", "--json"))
    assert len(contacts) == 5
    for contact in contacts:
        assert set(contact) >= CONTACT_KEYS
        assert is_aware_iso(contact["created_at"])
        assert is_aware_iso(contact["last_seen_at"])
        assert contact["source"] == "instance12345"
    by_wa_id = {contact["wa_id"]: contact for contact in contacts}
    assert by_wa_id["4915112345678@c.us"]["phone"] == "+4915112345678"
    assert by_wa_id["120363041234567890@g.us"]["kind"] == "group"
    assert by_wa_id["140000000000001@lid"]["name"] is None
    assert by_wa_id["966501234567@c.us"]["name"] == "محمد العتيبي"
    assert by_wa_id["447911123456@c.us"]["name"] == "Olivia Smith 🌻"
    assert [c["id"] for c in contacts] == sorted((c["id"] for c in contacts), reverse=True)


def test_contacts_search_and_limit(invoke: Invoke) -> None:
    ok(invoke("sync"))
    found = as_json(invoke("contacts", "list", "--search", "anna", "--json"))
    assert [c["name"] for c in found] == ["Anna Schmidt"]
    assert len(as_json(invoke("contacts", "list", "--limit", "2", "--json"))) == 2
    assert (
        "No contact matches 'nobody'" in ok(invoke("contacts", "list", "--search", "nobody")).stdout
    )


def test_contacts_list_reads_every_page(invoke: Invoke, chats: StaticChats) -> None:
    chats.replace({"id": f"4915100{n:06d}@c.us", "name": f"Person {n}"} for n in range(450))
    ok(invoke("sync"))
    contacts = as_json(invoke("contacts", "list", "--json"))
    assert len({c["id"] for c in contacts}) == 450
    assert len(as_json(invoke("contacts", "list", "--limit", "201", "--json"))) == 201


def test_contacts_table_keeps_one_line_per_contact(invoke: Invoke, chats: StaticChats) -> None:
    chats.replace([{"id": "4915112345678@c.us", "name": "Evil\nName\r" + "x" * 300}])
    ok(invoke("sync"))
    lines = ok(invoke("contacts", "list")).stdout.splitlines()
    assert len(lines) == 2
    assert "Evil Name" in lines[1]
    assert "+4915112345678" in lines[1]


@pytest.mark.parametrize("contact", ["+4915112345678", "4915112345678@c.us", "id"])
def test_links_by_phone_wa_id_or_id_decide_what_a_user_sees(invoke: Invoke, contact: str) -> None:
    ok(invoke("sync"))
    ok(invoke("users", "add", "maria", "--role", "user"))
    ok(invoke("users", "add", "alice", "--role", "admin"))
    if contact == "id":
        anna = as_json(invoke("contacts", "list", "--search", "Anna", "--json"))[0]
        contact = str(anna["id"])
    assert as_json(invoke("conversations", "list", "--as", "maria", "--json")) == []

    assert "Linked" in ok(invoke("links", "add", contact, "maria")).stdout
    assert "already" in ok(invoke("links", "add", contact, "maria")).stdout
    conversations = as_json(invoke("conversations", "list", "--as", "maria", "--json"))
    assert [c["contact"]["name"] for c in conversations] == ["Anna Schmidt"]
    assert set(conversations[0]) >= {
        "id",
        "contact",
        "status",
        "source",
        "assigned_user_id",
        "created_at",
    }
    assert set(conversations[0]["contact"]) == {"id", "wa_id", "name", "phone", "source"}
    assert (conversations[0]["status"], conversations[0]["source"]) == ("active", "whatsapp")
    assert is_aware_iso(conversations[0]["created_at"])
    assert len(as_json(invoke("conversations", "list", "--as", "alice", "--json"))) == 5
    assert as_json(invoke("links", "list", "--json")) == [
        {
            "contact_id": conversations[0]["contact"]["id"],
            "wa_id": "4915112345678@c.us",
            "username": "maria",
            "user_id": 1,
        }
    ]
    table = ok(invoke("conversations", "list", "--as", "maria")).stdout
    assert "Anna Schmidt" in table
    assert "Olivia" not in table

    assert "Unlinked" in ok(invoke("links", "remove", contact, "maria")).stdout
    assert "was not linked" in ok(invoke("links", "remove", contact, "maria")).stdout
    assert as_json(invoke("conversations", "list", "--as", "maria", "--json")) == []
    assert as_json(invoke("links", "list", "--json")) == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["links", "add", "+4915199999999", "maria"], "+4915199999999"),
        (["links", "add", "4915112345678@c.us", "ghost"], "ghost"),
        (["links", "remove", "nonsense", "maria"], "nonsense"),
        (["conversations", "list", "--as", "ghost"], "ghost"),
    ],
)
def test_unknown_contacts_and_users_exit_1_naming_them(
    invoke: Invoke, args: list[str], named: str
) -> None:
    ok(invoke("sync"))
    ok(invoke("users", "add", "maria", "--role", "user"))
    result = invoke(*args)
    assert result.exit_code == 1
    assert named in error_line(result)


# -- configuration ----------------------------------------------------------------


class RecordingFactory:
    """An app factory that remembers the settings the CLI built (canned chats, memory store)."""

    def __init__(self) -> None:
        self.settings: list[Settings] = []

    def __call__(self, settings: Settings) -> App:
        self.settings.append(settings)
        chats = StaticChats(CHATS) if settings.instance_id else None
        return bootstrap(settings, chats=chats, store=InMemoryStore(), hasher=FastHasher())


def test_env_file_is_read_only_when_given_and_the_environment_wins(
    invoke: Invoke, tmp_path: Path
) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(
        "# UltraMsg\n"
        "export ULTRAMSG_INSTANCE_ID=instance777\n"
        f"ULTRAMSG_TOKEN='{TOKEN}'\n"
        "\n"
        "ULTRAMSG_TIMEOUT=5\n",
        encoding="utf-8",
    )
    factory = RecordingFactory()
    report = as_json(invoke("--env-file", str(env_file), "sync", "--json", obj=factory))
    assert report["instance_id"] == "instance777"
    settings = factory.settings[-1]
    assert settings.token is not None
    assert settings.token.get() == TOKEN
    assert settings.timeout == 5

    ok(invoke("--env-file", str(env_file), "sync", obj=factory, env={"ULTRAMSG_TIMEOUT": "9"}))
    assert factory.settings[-1].timeout == 9

    (tmp_path / ".env").write_text("ULTRAMSG_INSTANCE_ID=instance999\n", encoding="utf-8")
    ok(invoke("users", "list", obj=factory))
    assert factory.settings[-1].instance_id is None  # ./.env is not read by itself


def test_a_comment_after_an_unquoted_value_is_not_part_of_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    env_file = tmp_path / "commented.env"
    env_file.write_text(
        "ULTRAMSG_INSTANCE_ID=instance777  # the shop's instance\n"
        "ULTRAMSG_TIMEOUT=5 # seconds\n"
        f'ULTRAMSG_TOKEN="{TOKEN}#kept"  # a quoted hash stays\n',
        encoding="utf-8",
    )
    factory = RecordingFactory()
    ok(invoke("--env-file", str(env_file), "sync", obj=factory))
    settings = factory.settings[-1]
    assert settings.instance_id == "instance777"
    assert settings.timeout == 5
    assert settings.token is not None
    assert settings.token.get() == f"{TOKEN}#kept"


def test_a_malformed_env_file_exits_2_naming_the_line_but_not_its_content(
    invoke: Invoke, tmp_path: Path
) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text(f"ULTRAMSG_INSTANCE_ID=x\n{TOKEN}\n", encoding="utf-8")
    result = invoke("--env-file", str(env_file), "users", "list")
    assert result.exit_code == 2
    assert "line 2" in error_line(result)


def test_an_invalid_setting_exits_2(invoke: Invoke) -> None:
    result = invoke("users", "list", obj=RecordingFactory(), env={"ULTRAMSG_TIMEOUT": "soon"})
    assert result.exit_code == 2
    assert "ULTRAMSG_TIMEOUT" in error_line(result)


def test_db_upgrade_uses_the_configured_url_and_hides_its_password(invoke: Invoke) -> None:
    upgraded: list[str] = []
    wiring = Wiring(upgrade=lambda settings: upgraded.append(settings.database_url))
    url = "postgresql+psycopg://wa:hunter2@db.internal:5432/wa"
    result = ok(invoke("db", "upgrade", obj=wiring, env={"WA_MANAGER_DATABASE_URL": url}))
    assert upgraded == [url]
    assert "hunter2" not in result.stdout
    assert "postgresql+psycopg://wa:***@db.internal:5432/wa" in result.stdout


# -- serve ------------------------------------------------------------------------


class RecordingServer:
    """A ``ServerRunner`` that records what it was asked to serve instead of serving."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, str, int]] = []
        self.options: list[Any] = []

    def __call__(self, asgi_app: Any, *, host: str, port: int, **options: Any) -> None:
        self.calls.append((asgi_app, host, port))
        self.options.append(options["options"])


@pytest.mark.parametrize(
    ("args", "address"),
    [([], ("127.0.0.1", 8000)), (["--host", "0.0.0.0", "--port", "8080"], ("0.0.0.0", 8080))],
)
def test_serve_runs_the_http_app_with_the_session_key_kept_in_the_database(
    invoke: Invoke, store: InMemoryStore, args: Sequence[str], address: tuple[str, int]
) -> None:
    from starlette.testclient import TestClient

    server = RecordingServer()
    wiring = Wiring(app_factory=lambda settings: memory_app(store=store), run_server=server)
    result = ok(invoke("serve", *args, obj=wiring))
    assert "WA_MANAGER_SECRET_KEY" not in result.stderr
    ((asgi_app, host, port),) = server.calls
    assert (host, port) == address
    assert store.published.secrets  # the generated key, shared by every process
    with TestClient(asgi_app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_serve_on_sqlite_warns_that_it_is_one_process_only(invoke: Invoke) -> None:
    server = RecordingServer()
    wiring = Wiring(app_factory=lambda settings: memory_app(secret_key="k" * 32), run_server=server)
    result = ok(invoke("serve", obj=wiring))
    assert result.stderr.startswith("warning: the database is SQLite")
    assert "PostgreSQL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(server.calls) == 1


def test_serve_on_postgresql_does_not_warn(invoke: Invoke) -> None:
    server = RecordingServer()
    url = "postgresql+psycopg://wa@db.example/wa"
    wiring = Wiring(app_factory=lambda settings: memory_app(database_url=url), run_server=server)
    result = ok(invoke("serve", obj=wiring))
    assert result.stderr == ""


def test_serve_with_workers_hands_the_environment_to_the_workers(invoke: Invoke) -> None:
    calls: list[tuple[dict[str, str], str, int, int]] = []

    def run_workers(environ: Any, *, host: str, port: int, workers: int, options: Any) -> None:
        calls.append((dict(environ), host, port, workers))

    url = "postgresql+psycopg://wa@db.example/wa"
    wiring = Wiring(
        app_factory=lambda settings: memory_app(database_url=url), run_workers=run_workers
    )
    ok(invoke("serve", "--workers", "3", "--port", "0", "--sync-every", "5m", obj=wiring))
    ((environ, host, port, workers),) = calls
    assert (host, port, workers) == ("127.0.0.1", 0, 3)
    assert environ["WA_MANAGER_SYNC_EVERY"] == "5m"


def test_serve_on_a_busy_port_exits_1_with_one_line(invoke: Invoke) -> None:
    server = RecordingServer()
    wiring = Wiring(app_factory=lambda settings: memory_app(secret_key="k" * 32), run_server=server)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("serve", "--port", str(port), obj=wiring)
    assert result.exit_code == 1
    assert f"127.0.0.1:{port}" in error_line(result)
    assert server.calls == []


def test_contacts_table_lines_up_wide_names_and_names_linked_users(
    invoke: Invoke, chats: StaticChats
) -> None:
    from wa_manager.entrypoints.cli.output import display_width

    chats.replace(
        [
            {"id": "819012345678@c.us", "name": "田中さくら"},
            {"id": "4915112345678@c.us", "name": "Anna 🎉"},
            {"id": "4917612345678@c.us", "name": "Lukas"},
        ]
    )
    ok(invoke("sync"))
    ok(invoke("users", "add", "maria", "--role", "user"))
    ok(invoke("links", "add", "+4915112345678", "maria"))
    lines = ok(invoke("contacts", "list")).stdout.splitlines()
    phone_columns = {
        display_width(line[: line.index("+")]) for line in lines[1:]
    }  # where each phone starts on screen
    assert len(phone_columns) == 1
    anna = next(line for line in lines if "Anna" in line)
    assert anna.endswith("maria")


def test_serve_believes_forwarded_headers_from_nobody_unless_told(invoke: Invoke) -> None:
    server = RecordingServer()
    wiring = Wiring(app_factory=lambda settings: memory_app(secret_key="k" * 32), run_server=server)
    ok(invoke("serve", obj=wiring))
    ok(invoke("serve", "--forwarded-allow-ips", "10.0.0.5, 192.168.0.0/16", obj=wiring))
    default, behind_a_proxy = server.options
    assert default.forwarded_allow_ips == ()
    assert default.request_timeout == 30
    assert behind_a_proxy.forwarded_allow_ips == ("10.0.0.5", "192.168.0.0/16")
    for bad in ("*", "proxy.internal", "10.0.0.5,,nonsense"):
        result = invoke("serve", "--forwarded-allow-ips", bad, obj=wiring)
        assert result.exit_code == 2
        assert "--forwarded-allow-ips" in result.stderr
        assert bad not in result.stderr
    assert len(server.calls) == 2


def test_serve_marks_syncs_left_by_dead_processes_interrupted(
    invoke: Invoke, store: InMemoryStore
) -> None:
    with store() as uow:
        uow.sync_runs.start("instance12345", "cli", None, DEFAULT_NOW)
        uow.commit()
    server = RecordingServer()
    wiring = Wiring(app_factory=lambda settings: memory_app(store=store), run_server=server)
    result = ok(invoke("serve", obj=wiring))
    assert "1 sync(s) in the history were interrupted" in result.stderr
    with store() as uow:
        run = uow.sync_runs.latest()
    assert run is not None
    assert run.state == "interrupted"


def test_conversations_assign_status_and_filtered_lists(invoke: Invoke) -> None:
    ok(invoke("sync"))
    ok(invoke("users", "add", "maria", "--role", "user"))
    ok(invoke("users", "add", "alice", "--role", "admin"))
    ok(invoke("links", "add", "+4915112345678", "maria"))
    anna = as_json(invoke("conversations", "list", "--as", "maria", "--json"))[0]["id"]
    other = next(
        c["id"]
        for c in as_json(invoke("conversations", "list", "--as", "alice", "--json"))
        if c["id"] != anna
    )

    assert "assigned to maria" in ok(invoke("conversations", "assign", str(anna), "maria",
                                             "--as", "maria")).stdout  # fmt: skip
    mine = as_json(invoke("conversations", "list", "--as", "maria", "--assigned", "me", "--json"))
    assert [c["id"] for c in mine] == [anna]
    by_name = invoke("conversations", "list", "--as", "alice", "--assigned", "maria", "--json")
    assert [c["id"] for c in as_json(by_name)] == [anna]
    assert "resolved" in ok(invoke("conversations", "status", str(anna), "resolved",
                                   "--as", "maria")).stdout  # fmt: skip
    resolved = invoke("conversations", "list", "--as", "alice", "--status", "resolved", "--json")
    assert [c["id"] for c in as_json(resolved)] == [anna]
    unassigned = as_json(
        invoke("conversations", "list", "--as", "alice", "--assigned", "none", "--json")
    )
    assert anna not in [c["id"] for c in unassigned]

    blind = invoke("conversations", "assign", str(other), "maria", "--as", "alice")
    assert blind.exit_code != 0
    assert "link them" in error_line(blind)
    not_hers = invoke("conversations", "assign", str(anna), "alice", "--as", "maria")
    assert not_hers.exit_code != 0
    assert "only admins" in error_line(not_hers)
    both = invoke("conversations", "assign", str(anna), "maria", "--none", "--as", "alice")
    assert "--none" in error_line(both)
    assert "nobody" in ok(invoke("conversations", "assign", str(anna), "--none",
                                 "--as", "alice")).stdout  # fmt: skip
    bad = invoke("conversations", "status", str(anna), "closed", "--as", "alice")
    assert bad.exit_code == 2
