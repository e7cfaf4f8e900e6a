"""``wa-manager sync history``, ``contacts export``, ``status`` and ``serve --sync-every``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from wa_manager import Settings, bootstrap
from wa_manager.bootstrap import App
from wa_manager.domain.errors import UpstreamRejected
from wa_manager.domain.model import RawChat
from wa_manager.entrypoints.cli import Wiring, cli
from wa_manager.services.export import BYTE_ORDER_MARK, unescape_cell
from wa_manager.testing import FastHasher, InMemoryStore, StaticChats

INSTANCE = "instance777"
HOSTILE = ["=1+1", "+49 hotline", "-minus", "@at", "\tTab", 'Say "hi", ok', "a\nb", "🎉 ✨", "שלום"]


class StatusChats(StaticChats):
    """Canned chats and a canned instance status (or an UltraMsg failure)."""

    def __init__(self, chats: Sequence[RawChat], status: str | Exception = "authenticated"):
        super().__init__(chats)
        self.status = status

    def instance_status(self) -> str:
        if isinstance(self.status, Exception):
            raise self.status
        return self.status


def chats() -> list[RawChat]:
    return [RawChat(f"49151{n:08d}@c.us", name) for n, name in enumerate(HOSTILE, start=1)]


def factory(source: StatusChats, store: InMemoryStore) -> Callable[[Settings], App]:
    def build(settings: Settings) -> App:
        return bootstrap(
            Settings(instance_id=INSTANCE, sync_every_seconds=settings.sync_every_seconds),
            chats=source,
            store=store,
            hasher=FastHasher(),
        )

    return build


def run(obj: object, *args: str, **kwargs: Any) -> Result:
    return CliRunner().invoke(cli, list(args), obj=obj, **kwargs)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def source() -> StatusChats:
    return StatusChats(chats())


def test_sync_history_lists_cli_syncs_with_counts(
    source: StatusChats, store: InMemoryStore
) -> None:
    build = factory(source, store)
    assert run(build, "sync").exit_code == 0
    source.replace(chats()[:3])
    assert run(build, "sync", "--json").exit_code == 0

    as_json = run(build, "sync", "history", "--json")
    table = run(build, "sync", "history")

    assert as_json.exit_code == 0
    history = json.loads(as_json.stdout)
    assert [run["trigger"] for run in history] == ["cli", "cli"]
    assert [run["report"]["created_contacts"] for run in history] == [0, len(HOSTILE)]
    assert history[0]["report"]["fetched"] == 3
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "STARTED", "TRIGGER"]
    assert table.stdout.count(" cli ") == 2


def test_sync_history_when_nothing_ran(source: StatusChats, store: InMemoryStore) -> None:
    result = run(factory(source, store), "sync", "history")
    assert result.exit_code == 0
    assert "No syncs yet" in result.stdout


def test_sync_still_takes_its_options(source: StatusChats, store: InMemoryStore) -> None:
    result = run(factory(source, store), "sync", "--dry-run", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["dry_run"] is True


def read_csv(text: str) -> list[dict[str, str]]:
    rows = csv.DictReader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline=""))
    return [{key: unescape_cell(value) for key, value in row.items()} for row in rows]


def test_contacts_export_to_stdout_round_trips_hostile_names(
    source: StatusChats, store: InMemoryStore
) -> None:
    build = factory(source, store)
    run(build, "sync")

    result = run(build, "contacts", "export")

    assert result.exit_code == 0
    assert result.stderr == ""
    assert sorted(row["name"] for row in read_csv(result.stdout)) == sorted(HOSTILE)
    for row in csv.reader(io.StringIO(result.stdout, newline="")):
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_contacts_export_to_a_file_with_bom_and_filters(
    source: StatusChats, store: InMemoryStore, tmp_path: Path
) -> None:
    build = factory(source, store)
    run(build, "sync")
    source.replace(chats()[1:])
    run(build, "sync")
    target = tmp_path / "gone.csv"

    result = run(build, "contacts", "export", "--vanished", "--bom", "-o", str(target))

    assert result.exit_code == 0
    assert result.stdout == ""
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = read_csv(raw.decode("utf-8"))
    assert [row["name"] for row in rows] == [HOSTILE[0]]
    assert rows[0]["vanished_at"] != ""
    present = read_csv(run(build, "contacts", "export", "--present").stdout)
    assert len(present) == len(HOSTILE) - 1


@pytest.mark.parametrize(
    ("state", "exit_code", "words"),
    [
        ("authenticated", 0, "connected (authenticated)"),
        ("qr", 1, "NOT connected (qr)"),
        ("loading", 1, "starting up"),
    ],
)
def test_status_says_whether_the_instance_is_connected(
    store: InMemoryStore, state: str, exit_code: int, words: str
) -> None:
    result = run(factory(StatusChats(chats(), state), store), "status")
    assert result.exit_code == exit_code
    assert words in result.stdout
    assert "Last sync: never" in result.stdout


def test_status_json_includes_the_last_sync(source: StatusChats, store: InMemoryStore) -> None:
    build = factory(source, store)
    run(build, "sync")

    result = run(build, "status", "--json")

    body = json.loads(result.stdout)
    assert body["connected"] is True
    assert body["last_sync"]["trigger"] == "cli"


def test_status_when_ultramsg_refuses_is_one_error_line(store: InMemoryStore) -> None:
    source = StatusChats(chats(), UpstreamRejected("UltraMsg says: Wrong token"))
    result = run(factory(source, store), "status")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: UltraMsg says: Wrong token"]


def test_status_without_configuration_is_exit_2() -> None:
    def unconfigured(settings: Settings) -> App:
        return bootstrap(Settings(), store=InMemoryStore(), hasher=FastHasher())

    result = run(unconfigured, "status")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: UltraMsg is not configured")


class RecordingServer:
    def __init__(self) -> None:
        self.apps: list[Any] = []

    def __call__(self, asgi_app: Any, *, host: str, port: int, **options: Any) -> None:
        self.apps.append(asgi_app)


@pytest.mark.parametrize(
    ("args", "env", "interval"),
    [
        (["--sync-every", "15m"], {}, 900.0),
        ([], {"WA_MANAGER_SYNC_EVERY": "1h"}, 3600.0),
        (["--sync-every", "90s"], {"WA_MANAGER_SYNC_EVERY": "1h"}, 90.0),
    ],
)
def test_serve_sync_every_starts_a_scheduler(
    source: StatusChats,
    store: InMemoryStore,
    args: list[str],
    env: dict[str, str],
    interval: float,
) -> None:
    server = RecordingServer()
    wiring = Wiring(app_factory=factory(source, store), run_server=server)

    result = run(wiring, "serve", "--port", "0", *args, env=env)

    assert result.exit_code == 0, result.stderr
    [asgi_app] = server.apps
    assert asgi_app.state.scheduler.interval == interval


def test_serve_without_sync_every_has_no_scheduler(
    source: StatusChats, store: InMemoryStore
) -> None:
    server = RecordingServer()
    wiring = Wiring(app_factory=factory(source, store), run_server=server)
    assert run(wiring, "serve", "--port", "0", env={"WA_MANAGER_SYNC_EVERY": ""}).exit_code == 0
    assert server.apps[0].state.scheduler is None


@pytest.mark.parametrize("value", ["soon", "10s"])
def test_serve_with_a_bad_sync_every_is_a_usage_error(
    source: StatusChats, store: InMemoryStore, value: str
) -> None:
    server = RecordingServer()
    wiring = Wiring(app_factory=factory(source, store), run_server=server)
    result = run(wiring, "serve", "--sync-every", value)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --sync-every")
    assert server.apps == []


def test_contacts_list_filters_vanished_and_shows_vanished_at(
    source: StatusChats, store: InMemoryStore
) -> None:
    build = factory(source, store)
    run(build, "sync")
    source.replace(chats()[1:])
    run(build, "sync")

    gone = json.loads(run(build, "contacts", "list", "--vanished", "--json").stdout)
    present = json.loads(run(build, "contacts", "list", "--present", "--json").stdout)

    assert [c["name"] for c in gone] == [HOSTILE[0]]
    assert gone[0]["vanished_at"] is not None
    assert len(present) == len(HOSTILE) - 1
    assert all(c["vanished_at"] is None for c in present)
