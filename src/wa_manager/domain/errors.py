"""The one exception tree of wa-manager.

Adapters translate their libraries' exceptions into these; entrypoints translate
these into exit codes (CLI) and status codes (HTTP), each in one place.

    WaManagerError                  base of everything we raise on purpose
    ├── ConfigError                 settings missing or invalid            (exit 2, HTTP 503)
    ├── InvalidInput                bad arguments or body                  (exit 2, HTTP 422)
    │   └── InvalidCursor           a pagination cursor that is not ours   (HTTP 422)
    ├── NotFound                    absent, or not visible to the viewer   (exit 1, HTTP 404)
    ├── AlreadyExists               e.g. a duplicate username              (exit 1, HTTP 409)
    ├── Conflict                    not in a state that allows it          (exit 1, HTTP 409)
    ├── AuthError                   no or bad credentials                  (HTTP 401)
    ├── PermissionDenied            the viewer lacks the role              (HTTP 403)
    ├── SyncAlreadyRunning          another sync holds the lock            (exit 1, HTTP 409)
    ├── UpstreamError               UltraMsg failed                        (exit 1, HTTP 502)
    │   ├── UpstreamUnavailable     unreachable, timed out, 5xx/429 after retries
    │   ├── UpstreamRejected        an UltraMsg error body or a 4xx (wrong token, unknown instance)
    │   └── UpstreamBadResponse     not a JSON array of chats
    └── StorageError                the database failed                    (exit 1, HTTP 500/503)
        ├── WriteContention         rolled back to break a deadlock: safe to try again
        └── SchemaNotReady          the database is not migrated: run `wa-manager db upgrade`

Every message is one line that says what went wrong and what to do, and never
contains the UltraMsg token.
"""

from __future__ import annotations


class WaManagerError(Exception):
    """Base class of every error wa-manager raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(WaManagerError):
    """Settings are missing or invalid (e.g. no ULTRAMSG_TOKEN)."""

    code = "not_configured"


class InvalidInput(WaManagerError):
    """Arguments or a request body do not make sense."""

    code = "invalid_input"


class InvalidCursor(InvalidInput):
    """A pagination cursor that this service did not hand out."""

    code = "invalid_cursor"


class NotFound(WaManagerError):
    """Absent, or not visible to the viewer: both give the same answer."""

    code = "not_found"


class AlreadyExists(WaManagerError):
    """A unique thing (such as a username) exists already."""

    code = "already_exists"


class AuthError(WaManagerError):
    """No credentials, or credentials that are wrong, expired or revoked."""

    code = "unauthorized"


class PermissionDenied(WaManagerError):
    """The viewer is known but lacks the role for this action."""

    code = "forbidden"


class SyncAlreadyRunning(WaManagerError):
    """Another sync holds the lock; the message contains "already running"."""

    code = "sync_already_running"


class UpstreamError(WaManagerError):
    """UltraMsg failed; the message names the cause, never the token."""

    code = "upstream_error"


class UpstreamUnavailable(UpstreamError):
    """UltraMsg could not be reached, timed out, or kept answering 5xx/429."""

    code = "upstream_unavailable"


class UpstreamRejected(UpstreamError):
    """UltraMsg answered with an error (wrong token, unknown or stopped instance)."""

    code = "upstream_rejected"


class UpstreamBadResponse(UpstreamError):
    """UltraMsg answered something that is not a JSON array of chats."""

    code = "upstream_bad_response"


class StorageError(WaManagerError):
    """The database failed or could not be reached."""

    code = "storage_error"


class WriteContention(StorageError):
    """The database broke a deadlock (or a serialisation conflict) by rolling this
    transaction back: nothing of it was written, and trying again is safe."""

    code = "write_contention"


class SchemaNotReady(StorageError):
    """The database has no (or an old) schema: run `wa-manager db upgrade`."""

    code = "schema_not_ready"


class Conflict(WaManagerError):
    """The thing is not in a state that allows this (e.g. retrying a message that did
    not fail)."""

    code = "conflict"
