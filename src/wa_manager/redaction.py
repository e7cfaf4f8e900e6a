"""Keeping secrets out of every message, log line, traceback and repr: one ``redact``.

``redact(text, secrets)`` replaces with ``***``:

- the given literal secrets (the UltraMsg token, the webhook secret, ...), longest
  first, so that a secret containing another is hidden whole; secrets shorter than
  ``MIN_SECRET_LENGTH`` are left alone: replacing "a" everywhere protects nothing;
- any ``token=…`` query value (UltraMsg takes its token in the query string);
- any ``Bearer …`` credential;
- our own API tokens (``wam_…``);
- the secret of a webhook path, ``/webhooks/ultramsg/<secret>``.

``RedactingFilter`` applies it to log records; ``redact_logs`` puts one on httpx's,
uvicorn's and wa-manager's own loggers. This module imports nothing of wa-manager,
so adapters and entrypoints alike use it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

REDACTED = "***"
MIN_SECRET_LENGTH = 4
WEBHOOK_PREFIX = "/webhooks/ultramsg/"

_PATTERNS = (
    re.compile(r"(token=)[^&\s'\"#<>]+", re.IGNORECASE),
    re.compile(r"(Bearer\s+)[^\s'\"]+", re.IGNORECASE),
    re.compile(r"()wam_[A-Za-z0-9_\-]+"),
    # up to the end of the path segment, or punctuation that ends a sentence
    re.compile(f"({re.escape(WEBHOOK_PREFIX)})" + r"[^\s?#/'\"<>:;,)\]]+"),
)

LIBRARY_LOGGERS = ("httpx", "uvicorn", "uvicorn.access", "uvicorn.error")
OWN_LOGGERS = "wa_manager"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets and anything that looks like a credential as ``***``."""
    for secret in sorted(_usable(secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(r"\g<1>" + REDACTED, text)
    return text


def _usable(secrets: Iterable[str]) -> set[str]:
    """The secrets long enough to hide by value (a lone string is one secret)."""
    if isinstance(secrets, str):
        secrets = (secrets,)
    return {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}


class RedactingFilter(logging.Filter):
    """A logging filter that redacts a record's message, arguments and traceback.

    String arguments are redacted one by one, so formatters that read ``record.args``
    (uvicorn's access log) keep working; when the rendered message still holds a
    secret (an argument that is not a string, such as httpx's request URL), the
    record is rendered once and carries the redacted text alone. Secrets given by
    value are the union of ``known`` and what ``secrets()`` returns at the moment.
    """

    def __init__(self, secrets: Callable[[], Iterable[str]] = tuple) -> None:
        super().__init__()
        self.known: set[str] = set()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = (*self.known, *self._secrets())
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg, secrets) if isinstance(arg, str) else arg for arg in record.args
            )
        try:
            message = record.getMessage()
        except Exception:  # a malformed logging call: the handler reports it
            return True
        redacted = redact(message, secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def redact_logs(secrets: Iterable[str] = (), loggers: Iterable[str] = LIBRARY_LOGGERS) -> None:
    """One ``RedactingFilter`` on each of ``loggers`` and on every wa-manager logger
    (``wa_manager`` and those below it that exist), also hiding ``secrets`` by value.

    Idempotent: a logger that has one keeps it and learns the new secrets. A logger's
    filter sees only the records made on that logger, hence one filter per logger.
    """
    own = [name for name in logging.Logger.manager.loggerDict if name.startswith(OWN_LOGGERS + ".")]
    for name in (*loggers, OWN_LOGGERS, *own):
        target = logging.getLogger(name)
        existing = [f for f in target.filters if isinstance(f, RedactingFilter)]
        installed = existing[0] if existing else RedactingFilter()
        if not existing:
            target.addFilter(installed)
        installed.known.update(_usable(secrets))
