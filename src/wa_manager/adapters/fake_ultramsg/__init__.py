"""A local fake UltraMsg: ``FakeUltraMsg`` (a real HTTP server on loopback), the demo's
``sample_chats()``, and ``generate_chats``/``encode_chats`` for tests and benchmarks.

Run it alone with ``python -m wa_manager.adapters.fake_ultramsg --port 8001``.
"""

from wa_manager.adapters.fake_ultramsg.chats import encode_chats, generate_chats, sample_chats
from wa_manager.adapters.fake_ultramsg.server import FakeUltraMsg

__all__ = ["FakeUltraMsg", "encode_chats", "generate_chats", "sample_chats"]
