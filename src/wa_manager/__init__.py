"""wa-manager: WhatsApp chats (UltraMsg) into contacts and conversations, with visibility rules.

The public, stable surface (everything else is internal)::

    from wa_manager import Settings, bootstrap

    app = bootstrap(Settings.from_env())
    report = app.sync()
    app.link(contact="+4915112345678", username="maria")
    convs = app.conversations_for("maria")

Test helpers (in-memory store, canned chats) live in ``wa_manager.testing``.
"""

from wa_manager.bootstrap import App, bootstrap
from wa_manager.config import Secret, Settings
from wa_manager.domain.errors import (
    AlreadyExists,
    AuthError,
    ConfigError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageError,
    SyncAlreadyRunning,
    UpstreamError,
    WaManagerError,
)
from wa_manager.domain.model import (
    Actor,
    ChatKind,
    ChatList,
    Contact,
    ContactLink,
    Conversation,
    Page,
    RawChat,
    Role,
    SyncReport,
    SystemActor,
    User,
)

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AlreadyExists",
    "App",
    "AuthError",
    "ChatKind",
    "ChatList",
    "ConfigError",
    "Contact",
    "ContactLink",
    "Conversation",
    "InvalidInput",
    "NotFound",
    "Page",
    "PermissionDenied",
    "RawChat",
    "Role",
    "Secret",
    "Settings",
    "StorageError",
    "SyncAlreadyRunning",
    "SyncReport",
    "SystemActor",
    "UpstreamError",
    "User",
    "WaManagerError",
    "__version__",
    "bootstrap",
]
