"""What the ingest pipeline passes around: a received MQTT message, and what became of it.

``Inbound`` is made on paho's network thread and must stay cheap (no parsing there). The
committer thread turns each into exactly one ``Verdict``: rejected (dead letter) or accepted
(written), and every message of a batch is acknowledged to the broker after the batch's commit,
whatever its verdict: a dead letter is stored, so the broker may forget it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from protocol import Topic
from protocol.messages import LedgerHeader


@dataclass(frozen=True, slots=True)
class Inbound:
    """One PUBLISH as received: topic, exact payload bytes, and what is needed to PUBACK it."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    generation: int = 0
    """The MQTT connection it arrived on; a PUBACK is only valid on that same connection."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    UPDATED = "updated"
    """A status, telemetry or command result stored (not a ledger record)."""
    DEAD_LETTER = "dead_letter"


@dataclass(slots=True)
class Rejection:
    """Why a message goes to the dead-letter table: a short code and a reason for people."""

    code: str
    reason: str


@dataclass(slots=True)
class Accepted:
    """A message that passed decoding (not yet the device and signature checks)."""

    inbound: Inbound
    topic: Topic
    message: BaseModel
    raw: dict[str, Any]

    @property
    def device_id(self) -> str:
        return self.topic.device_id

    @property
    def is_ledger(self) -> bool:
        return isinstance(self.message, LedgerHeader)


@dataclass(slots=True)
class Verdict:
    """The fate of one inbound message within a batch."""

    inbound: Inbound
    outcome: Outcome
    rejection: Rejection | None = None
    device_id: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class BatchResult:
    """What a committed batch did, and the acks to publish for it."""

    verdicts: list[Verdict] = field(default_factory=list)
    watermarks: dict[str, int] = field(default_factory=dict)
    """Per kiosk touched by a ledger record (duplicates included): its ``acked_seq``."""
    roster_stations: set[str] = field(default_factory=set)
    """Stations whose roster version the batch raised (their kiosks need the new roster)."""
    births: list[str] = field(default_factory=list)
    """Kiosks whose birth (``online``) message the batch stored: send a roster if behind."""
    unstorable: int = 0
    """Messages whose dead letter the store refused too: kept as a minimal row only."""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for v in self.verdicts if v.outcome is outcome)
