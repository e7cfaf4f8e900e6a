"""The README's library examples run as written.

A block is marked for this test by an HTML comment just above it:
``<!-- readme-example: NAME -->``. The ``library`` example runs against the fake
UltraMsg and a temporary SQLite database (through the environment, as a user
would configure it); the ``memory`` example runs on the memory adapters alone.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from wa_manager.adapters.fake_ultramsg import FakeUltraMsg, sample_chats

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(
    r"<!-- readme-example: (?P<name>[\w-]+) -->\n```python\n(?P<code>.*?)\n```", re.S
)


def readme_examples() -> dict[str, str]:
    """NAME -> code of every marked python block of the README."""
    return {m["name"]: m["code"] for m in EXAMPLE.finditer(README.read_text(encoding="utf-8"))}


def run_example(code: str) -> tuple[dict[str, object], str]:
    """Execute ``code`` as a script; return its globals and what it printed."""
    namespace: dict[str, object] = {"__name__": "__readme__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    return namespace, printed.getvalue()


def test_the_readme_marks_both_examples() -> None:
    assert set(readme_examples()) == {"library", "memory"}


def test_the_memory_example_runs_on_the_memory_adapters() -> None:
    namespace, _ = run_example(readme_examples()["memory"])
    assert namespace["report"].created_contacts == 2  # type: ignore[attr-defined]


def test_the_library_example_runs_against_ultramsg_and_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = "tok-readme-31f6c0d2"
    with FakeUltraMsg(
        instance_id="instance12345", token=token, chats=sample_chats(), host="127.0.0.1", port=0
    ) as fake:
        monkeypatch.setenv("ULTRAMSG_INSTANCE_ID", "instance12345")
        monkeypatch.setenv("ULTRAMSG_TOKEN", token)
        monkeypatch.setenv("ULTRAMSG_BASE_URL", fake.base_url)
        monkeypatch.setenv("WA_MANAGER_DATABASE_URL", f"sqlite:///{tmp_path / 'readme.db'}")
        monkeypatch.delenv("WA_MANAGER_SYNC_GROUPS", raising=False)
        namespace, printed = run_example(readme_examples()["library"])
        namespace["app"].close()  # type: ignore[attr-defined]
    convs = namespace["convs"]
    assert [c.contact.wa_id for c in convs] == ["4915112345678@c.us"]  # type: ignore[attr-defined]
    assert "Anna Schmidt" in printed
    assert token not in printed
