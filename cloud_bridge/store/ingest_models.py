"""The ingest's own bookkeeping tables: worker heartbeats and skipped sequence numbers.

- ``ingest_workers``: one row per ingest worker (its MQTT client id), written by the worker
  itself every few seconds: its state (``running``, ``retrying``, ``stopped``, ``crashed``),
  the age of the oldest message it holds unacknowledged, its counters and its last error. The
  API reads it for ``/healthz`` and the dashboard without ever importing the worker; a row
  whose heartbeat has stopped is a worker that died or cannot reach the database.
- ``ledger_skips``: ledger sequence numbers an operator settled without a record (a dead
  letter discarded with a reason). The ack watermark passes over them as over stored records,
  so one record the cloud will never store does not hold back every later one of its kiosk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base
from .types import UTCDateTime


class WorkerStateValue:
    RUNNING = "running"
    RETRYING = "retrying"
    """The database is unavailable: the batch in hand waits, unacknowledged."""
    STOPPED = "stopped"
    CRASHED = "crashed"


class IngestWorkerRow(Base):
    __tablename__ = "ingest_workers"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="cloud clock")
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[datetime] = mapped_column(UTCDateTime)
    in_hand: Mapped[int] = mapped_column(
        Integer, comment="messages received and not yet acknowledged to the broker")
    oldest_in_hand_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="receive time of the oldest of them")
    last_error: Mapped[str | None] = mapped_column(Text)
    batches: Mapped[int] = mapped_column(BigInteger)
    recorded: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    dead_letters: Mapped[int] = mapped_column(BigInteger)
    unstorable: Mapped[int] = mapped_column(
        BigInteger, comment="messages kept only as a minimal dead letter (see dead_letters)")
    database_retries: Mapped[int] = mapped_column(BigInteger)


class LedgerSkip(Base):
    __tablename__ = "ledger_skips"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dead_letter_id: Mapped[int | None] = mapped_column(
        Integer, comment="the dead letter discarded (kept after it is pruned: no foreign key)")
    skipped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    skipped_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
