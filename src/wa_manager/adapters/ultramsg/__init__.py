"""The UltraMsg adapter: ``UltraMsgClient`` (the ``ChatSource`` port over httpx),
the pure ``parse_chats`` it decodes with, and ``redact`` for anything that may
hold the token. See ``docs/ultramsg.md`` for what UltraMsg sends."""

from wa_manager.adapters.ultramsg.client import UltraMsgClient
from wa_manager.adapters.ultramsg.parsing import error_in_body, parse_chats
from wa_manager.adapters.ultramsg.redaction import redact

__all__ = ["UltraMsgClient", "error_in_body", "parse_chats", "redact"]
