"""Settings: read from the environment once, validated, the token redacted in repr.

``Settings.from_env()`` reads the contract's variables (CONTRACT.md, "Environment").
Missing UltraMsg credentials are not an error here: only a sync needs them, and it
raises ``ConfigError`` through ``Settings.require_ultramsg()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from wa_manager.domain.errors import ConfigError

DEFAULT_BASE_URL = "https://api.ultramsg.com"
DEFAULT_DATABASE_URL = "sqlite:///wa_manager.db"
DEFAULT_TIMEOUT = 30.0


@frozen(repr=False, eq=False)
class Secret:
    """A string that never shows itself: repr and str are ``***``."""

    _value: str = field(alias="value")

    def get(self) -> str:
        """The secret itself; pass it only where it must go."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _to_secret(value: Secret | str | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value) if value else None


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def _parse_positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds; use e.g. 30") from None
    if not value > 0:
        raise ConfigError(f"{name} must be greater than 0 seconds, got {raw!r}")
    return value


@frozen
class Settings:
    """Everything wa-manager is configured with; build with ``from_env`` or directly."""

    instance_id: str | None = None
    token: Secret | None = field(default=None, converter=_to_secret)
    database_url: str = DEFAULT_DATABASE_URL
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT
    secret_key: Secret | None = field(default=None, converter=_to_secret)
    sync_groups: bool = True
    webhook_secret: Secret | None = field(default=None, converter=_to_secret)
    sync_every_seconds: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read the contract's environment variables; ``overrides`` win over them."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "instance_id": env.get("ULTRAMSG_INSTANCE_ID") or None,
            "token": env.get("ULTRAMSG_TOKEN") or None,
            "database_url": env.get("WA_MANAGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            "base_url": env.get("ULTRAMSG_BASE_URL") or DEFAULT_BASE_URL,
            "secret_key": env.get("WA_MANAGER_SECRET_KEY") or None,
            "webhook_secret": env.get("WA_MANAGER_WEBHOOK_SECRET") or None,
        }
        if raw_timeout := env.get("ULTRAMSG_TIMEOUT"):
            values["timeout"] = _parse_positive_float("ULTRAMSG_TIMEOUT", raw_timeout)
        if raw_groups := env.get("WA_MANAGER_SYNC_GROUPS"):
            values["sync_groups"] = _parse_bool("WA_MANAGER_SYNC_GROUPS", raw_groups)
        values.update(overrides)
        return cls(**values)

    def require_ultramsg(self) -> tuple[str, Secret]:
        """The instance id and token, or a ``ConfigError`` that says which to set."""
        missing = [
            name
            for name, value in (
                ("ULTRAMSG_INSTANCE_ID", self.instance_id),
                ("ULTRAMSG_TOKEN", self.token),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"UltraMsg is not configured: set {' and '.join(missing)} "
                "(your instance id and token from the UltraMsg dashboard)"
            )
        assert self.instance_id is not None
        assert self.token is not None
        return self.instance_id, self.token
