"""A local fake UltraMsg: ``FakeUltraMsg`` (a real HTTP server on loopback, with chats,
messages, sending and webhooks posted back), the demo's ``demo_chats()`` and
``demo_messages()`` (and its second number's ``support_chats()`` and
``support_messages()``), the awkward ``sample_chats()`` for tests, and
``generate_chats``/``encode_chats`` for tests and benchmarks.

Run it alone with ``python -m wa_manager.adapters.fake_ultramsg --port 8001``.
"""

from wa_manager.adapters.fake_ultramsg.chats import encode_chats, generate_chats, sample_chats
from wa_manager.adapters.fake_ultramsg.demo import (
    SHOP_PHONE,
    demo_chats,
    demo_messages,
    support_chats,
    support_messages,
)
from wa_manager.adapters.fake_ultramsg.server import FakeUltraMsg

__all__ = [
    "SHOP_PHONE",
    "FakeUltraMsg",
    "demo_chats",
    "demo_messages",
    "encode_chats",
    "generate_chats",
    "sample_chats",
    "support_chats",
    "support_messages",
]
