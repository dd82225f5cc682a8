"""Building and signing the kiosk's messages: the header every message carries, then the
signature (``protocol.seal``), checked against the message's own model before it is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from protocol import SCHEMA_VERSION, seal

from .clock import ClockReading, KioskClock
from .identity import DeviceIdentity


@dataclass(frozen=True, slots=True)
class Sealed:
    payload: bytes
    msg_id: str
    stamp: ClockReading


class MessageSealer:
    def __init__(self, identity: DeviceIdentity, clock: KioskClock) -> None:
        self.identity = identity
        self.clock = clock

    @property
    def device_id(self) -> str:
        return self.identity.device_id

    def seal(
        self,
        model_cls: type[BaseModel],
        kind: str,
        fields: dict[str, Any],
        *,
        seq: int | None = None,
    ) -> Sealed:
        """Stamp, sign and validate one message.

        Raises:
            protocol.ProtocolError: the fields do not make a valid ``model_cls`` (a bug here).
        """
        stamp = self.clock.now()
        msg_id = uuid.uuid4().hex
        header: dict[str, Any] = {
            "v": SCHEMA_VERSION,
            "kind": kind,
            "device_id": self.identity.device_id,
            "msg_id": msg_id,
            **stamp.header_fields(),
        }
        if seq is not None:
            header["seq"] = seq
        _, payload = seal(model_cls, {**header, **fields}, self.identity.private_key)
        return Sealed(payload, msg_id, stamp)
