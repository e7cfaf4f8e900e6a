"""The UltraMsg adapter: ``UltraMsgClient`` (the ``ChatSource`` and ``MessageChannel``
ports over httpx), and the pure ``parse_chats`` it decodes with
(``wa_manager.redaction`` keeps the token out of what they say). See
``docs/ultramsg.md`` for what UltraMsg sends."""

from wa_manager.adapters.ultramsg.client import UltraMsgClient
from wa_manager.adapters.ultramsg.parsing import error_in_body, parse_chats

__all__ = ["UltraMsgClient", "error_in_body", "parse_chats"]
