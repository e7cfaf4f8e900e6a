"""Keeping the UltraMsg token out of every message, log line and repr."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s'\"#<>]*", re.IGNORECASE)
REDACTED = "***"


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with every ``token=…`` value, and the literal ``secret`` if given, as ``***``."""
    text = _TOKEN_IN_QUERY.sub(r"\1" + REDACTED, text)
    if secret:
        text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts ``token=…`` in a record's rendered message.

    httpx logs every request URL at INFO ("HTTP Request: GET …?token=…"); this
    filter is put on the ``httpx`` logger so that line never carries the token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def redact_library_logs(logger_name: str = "httpx") -> None:
    """Install ``RedactingFilter`` on a library's logger, once."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
        logger.addFilter(RedactingFilter())
