"""Settings: read from the environment once, validated, the token redacted in repr.

``Settings.from_env()`` reads the contract's variables (``docs/interface.md#environment``).
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


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_SYNC_EVERY_SECONDS = 30.0


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``90s``, ``15m``, ``1h30m``, ``2d`` or a bare ``600``.

    Raises ``ValueError`` with a one-line message for anything else.
    """
    cleaned = text.strip().lower()
    if cleaned.isascii() and cleaned.isdigit():
        return float(cleaned)
    total = 0.0
    number = ""
    for char in cleaned:
        if char.isascii() and char.isdigit():
            number += char
        elif char in _DURATION_UNITS and number:
            total += int(number) * _DURATION_UNITS[char]
            number = ""
        else:
            raise ValueError(f"{text!r} is not a duration; use e.g. 90s, 15m, 1h or 1h30m")
    if number or not cleaned:
        raise ValueError(f"{text!r} is not a duration; use e.g. 90s, 15m, 1h or 1h30m")
    return total


def parse_sync_every(name: str, raw: str) -> float:
    """A sync interval of at least 30 seconds, or a ``ConfigError`` naming ``name``."""
    try:
        seconds = parse_duration(raw)
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None
    if seconds < MIN_SYNC_EVERY_SECONDS:
        raise ConfigError(f"{name}={raw!r} is too often; sync at most every 30s (e.g. 15m)")
    return seconds


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
    encryption_key: Secret | None = field(default=None, converter=_to_secret)

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
            "encryption_key": env.get("WA_MANAGER_ENCRYPTION_KEY") or None,
        }
        if raw_timeout := env.get("ULTRAMSG_TIMEOUT"):
            values["timeout"] = _parse_positive_float("ULTRAMSG_TIMEOUT", raw_timeout)
        if raw_groups := env.get("WA_MANAGER_SYNC_GROUPS"):
            values["sync_groups"] = _parse_bool("WA_MANAGER_SYNC_GROUPS", raw_groups)
        if raw_every := env.get("WA_MANAGER_SYNC_EVERY"):
            values["sync_every_seconds"] = parse_sync_every("WA_MANAGER_SYNC_EVERY", raw_every)
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
