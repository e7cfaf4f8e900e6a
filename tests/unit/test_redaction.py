"""``wa_manager.redaction``: one ``redact`` for every secret, one filter for every logger."""

from __future__ import annotations

import logging
import sys

import click
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wa_manager.entrypoints.cli.errors import report
from wa_manager.redaction import RedactingFilter, redact, redact_logs

TOKEN = "ultra-TOKEN-5e1f"
HOOK = "hook-secret-77aa"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET https://x/i/chats?token=abc123&a=1", "GET https://x/i/chats?token=***&a=1"),
        ("https://x/y?TOKEN=abc123#frag", "https://x/y?TOKEN=***#frag"),
        ("Authorization: Bearer wam_abc-DEF_1", "Authorization: Bearer ***"),
        ("bearer   xyz.abc", "bearer   ***"),
        ("the token wam_Zx9-_q was used", "the token *** was used"),
        (f"POST /webhooks/ultramsg/{HOOK} 500", "POST /webhooks/ultramsg/*** 500"),
        (f"/webhooks/ultramsg/{HOOK}?a=1", "/webhooks/ultramsg/***?a=1"),
        (f"http://h/webhooks/ultramsg/{HOOK}/x", "http://h/webhooks/ultramsg/***/x"),
        (f"'/webhooks/ultramsg/{HOOK}'", "'/webhooks/ultramsg/***'"),
        (f"in POST /webhooks/ultramsg/{HOOK}: boom", "in POST /webhooks/ultramsg/***: boom"),
        ("in POST /webhooks/ultramsg/***: boom", "in POST /webhooks/ultramsg/***: boom"),
        ("/webhooks/ultramsg/", "/webhooks/ultramsg/"),
        ("/api/contacts?search=anna", "/api/contacts?search=anna"),
    ],
)
def test_every_kind_of_credential_is_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_literal_secrets_longest_first_and_short_ones_ignored() -> None:
    text = f"said {TOKEN}-more and {TOKEN} and abc"
    assert redact(text, [TOKEN, f"{TOKEN}-more", "abc"]) == "said *** and *** and abc"
    assert redact(f"x {TOKEN} y", TOKEN) == "x *** y"  # one string is one secret
    assert redact("a b c", "a b") == "a b c"  # shorter than MIN_SECRET_LENGTH


@given(st.text(), st.text(st.characters(categories=["L", "N"]), min_size=4))
def test_a_given_secret_never_survives(around: str, secret: str) -> None:
    assert secret not in redact(around + secret + around, [secret, secret[:4]])


def _record(logger: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.getLogger(logger).makeRecord(logger, logging.INFO, __file__, 1, msg, args, None)


def test_the_filter_keeps_uvicorn_access_arguments_a_tuple() -> None:
    record = _record(
        "uvicorn.access", '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:1", "POST", f"/webhooks/ultramsg/{HOOK}", "1.1", 200,
    )  # fmt: skip
    assert RedactingFilter().filter(record)
    assert isinstance(record.args, tuple)
    assert len(record.args) == 5
    assert HOOK not in record.getMessage()


def test_the_filter_renders_arguments_that_are_not_strings() -> None:
    url = httpx.URL(f"https://api.test/i/chats?token={TOKEN}")
    record = _record("httpx", 'HTTP Request: %s %s "%s"', "GET", url, "200 OK")
    RedactingFilter(lambda: [TOKEN]).filter(record)
    assert TOKEN not in record.getMessage()
    assert "token=***" in record.getMessage()


def test_the_filter_redacts_the_traceback() -> None:
    try:
        raise RuntimeError(f"boom at /webhooks/ultramsg/{HOOK} with {TOKEN}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "m", (), exc_info)
    RedactingFilter(lambda: [TOKEN]).filter(record)
    text = logging.Formatter().format(record)
    assert "RuntimeError" in text
    assert HOOK not in text
    assert TOKEN not in text


def test_the_filter_survives_a_malformed_logging_call() -> None:
    record = _record("x", "%s %s", "only one")
    assert RedactingFilter().filter(record)


def test_redact_logs_covers_libraries_and_every_own_logger_once() -> None:
    own = "wa_manager.some_module_for_this_test"
    logging.getLogger(own)
    redact_logs([TOKEN])
    redact_logs([HOOK])
    for name in ("httpx", "uvicorn.access", "uvicorn.error", "wa_manager", own):
        found = [f for f in logging.getLogger(name).filters if isinstance(f, RedactingFilter)]
        assert len(found) == 1, name
        assert {TOKEN, HOOK} <= found[0].known
    record = _record(own, "said %s", f"{TOKEN} {HOOK}")
    assert logging.getLogger(own).filter(record)
    assert record.getMessage() == "said *** ***"


def test_uvicorn_error_log_lines_lose_the_webhook_secret() -> None:
    redact_logs()
    record = _record("uvicorn.error", "Exception in %s", f"POST /webhooks/ultramsg/{HOOK}")
    assert logging.getLogger("uvicorn.error").filter(record)
    assert HOOK not in record.getMessage()


def test_the_cli_error_line_hides_api_tokens_bearer_and_webhook_paths(
    capsys: pytest.CaptureFixture[str],
) -> None:
    error = click.ClickException(
        f"sent Bearer abcdef to /webhooks/ultramsg/{HOOK} with wam_tok-EN_1"
    )
    report(error, debug=False)
    err = capsys.readouterr().err
    assert HOOK not in err
    assert "abcdef" not in err
    assert "wam_tok" not in err
