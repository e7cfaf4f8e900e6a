"""Whether the UltraMsg instance is connected: ``wa-manager status`` and the Contact Links page.

UltraMsg's ``/instance/status`` says ``authenticated`` when the phone is linked
and messages flow; ``qr`` means someone must scan the QR code in the UltraMsg
dashboard; ``standby`` and ``loading`` are passing states. ``instance_status``
turns that into a small, explained answer.
"""

from __future__ import annotations

from attrs import frozen

from wa_manager.domain.errors import ConfigError
from wa_manager.domain.ports import ChatSource, InstanceStatusSource

CONNECTED = "authenticated"
EXPLANATIONS = {
    "authenticated": "connected: the phone is linked and messages arrive",
    "qr": "not connected: scan the QR code in the UltraMsg dashboard with the phone",
    "standby": "on standby: open WhatsApp on the phone to wake the instance",
    "loading": "starting up: try again in a minute",
}
UNKNOWN = "UltraMsg did not say; check the instance in the UltraMsg dashboard"


@frozen
class InstanceStatus:
    """The state of the UltraMsg instance, with what it means for a person."""

    instance_id: str
    status: str | None

    @property
    def connected(self) -> bool:
        """Whether the instance is linked to its phone."""
        return self.status == CONNECTED

    @property
    def explanation(self) -> str:
        """One line on what the state means and what to do."""
        if self.status is None:
            return UNKNOWN
        return EXPLANATIONS.get(self.status, f"state {self.status!r}: {UNKNOWN}")


def instance_status(source: ChatSource, instance_id: str) -> InstanceStatus:
    """Ask ``source`` for the instance's state; ``UpstreamError`` when UltraMsg fails."""
    if not isinstance(source, InstanceStatusSource):
        raise ConfigError("this chat source cannot report an instance status (not UltraMsg)")
    return InstanceStatus(instance_id, source.instance_status())
