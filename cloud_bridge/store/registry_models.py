"""The cloud's own tables: the producer registry, lots, rosters, API keys, market checks,
re-issue links, credit events and the append-only history.

- ``producers``: every producer a kiosk registered or updated (``event/producer``), with the
  station whose kiosks may identify them offline (the roster).
- ``lots``: what became of each lot tested at a kiosk (``event/lot``), one row per lot event
  (a void and re-issue in one session is a second row); ``blocked_positive`` is the
  supervisor's alarm.
- ``roster_state``: per station, the roster version; it only grows, and every kiosk of the
  station is sent the new roster (``devices.roster_version`` says which one it was sent last).
- ``api_keys``: operator / supervisor / market keys, stored as SHA-256 of the key only.
- ``dashboard_sessions``: a dashboard login (the cookie holds a random id; its SHA-256 is here).
- ``market_checks``: a market inspector's check (查验) of a certificate.
- ``certificate_sources``: the source certificates (and quantities) of a purchaser's re-issue.
- ``credit_events``: what counts against a producer's credit (see ``registry.credit``).
- ``kiosk_alarms``: each kiosk alarm's latest state (raised or cleared), from ``event/alarm``.
- ``history``: one row per cloud-side state change (who, what, why); never updated (a
  database trigger refuses UPDATE). Kiosk-side changes are the ``ledger`` itself, which is
  protected the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import DEVICE_ID, MSG_ID, TOKEN, Base
from .types import JSONDocument, UTCDateTime, utcnow


class Role:
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    MARKET = "market"
    ALL = ("operator", "supervisor", "market")


class Producer(Base):
    __tablename__ = "producers"

    producer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    origin_code: Mapped[str] = mapped_column(String(12))
    origin_detail: Mapped[str] = mapped_column(Text, default="")
    card_code: Mapped[str | None] = mapped_column(String(64))
    pin_hash: Mapped[str | None] = mapped_column(String(300), comment="scrypt$N$r$p$salt$hash")
    station_id: Mapped[str] = mapped_column(String(64), index=True,
                                            comment="station of the kiosk that registered them")
    registered_by: Mapped[str] = mapped_column(DEVICE_ID)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="kiosk clock")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    event_time: Mapped[datetime] = mapped_column(
        # The kiosk clock is capped at the receive time now (registry.producers.event_time); the
        # column comment is the one migration 0002 wrote.
        UTCDateTime, comment="time of the event last applied (kiosk clock if synced, else the "
        "cloud's receive time): an older event never overwrites a newer one")
    last_msg_id: Mapped[str] = mapped_column(MSG_ID)
    last_device_id: Mapped[str | None] = mapped_column(
        DEVICE_ID, comment="the kiosk of the event last applied: its later seq is newer")
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lot(Base):
    """One row per ``event/lot`` record: a session's lot may have several outcomes in order
    (certified, then certified again after the certificate was voided for a wrong quantity or
    a printer jam). The row with the highest ``seq`` of a session is its current outcome."""

    __tablename__ = "lots"
    __table_args__ = (
        ForeignKeyConstraint(["device_id", "seq"], ["ledger.device_id", "ledger.seq"]),
        Index("ix_lots_outcome_recorded", "outcome", "recorded_at"),
    )

    device_id: Mapped[str] = mapped_column(DEVICE_ID, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[str] = mapped_column(MSG_ID, index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    producer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    product_code: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    certificate_token: Mapped[str | None] = mapped_column(TOKEN)
    reading_ids: Mapped[list[str]] = mapped_column(JSONDocument)
    note: Mapped[str] = mapped_column(Text, default="")
    kiosk_time: Mapped[datetime] = mapped_column(UTCDateTime)
    time_synced: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="cloud receive time")


class RosterState(Base):
    __tablename__ = "roster_state"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    market: Mapped[str | None] = mapped_column(String(100), comment="market keys: which market")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True,
                                          comment="SHA-256 hex of the key; the key is not kept")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DashboardSession(Base):
    """A dashboard login: the cookie holds a random id, never the API key."""

    __tablename__ = "dashboard_sessions"

    id_hash: Mapped[str] = mapped_column(
        String(64), primary_key=True,
        comment="SHA-256 hex of the cookie's session id; the id is not kept")
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MarketCheck(Base):
    __tablename__ = "market_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(ForeignKey("certificates.token"), index=True)
    market: Mapped[str] = mapped_column(String(100))
    result: Mapped[str] = mapped_column(String(16), comment="accepted or rejected")
    reason: Mapped[str | None] = mapped_column(String(300))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="cloud clock")
    checked_by: Mapped[str] = mapped_column(String(100), comment="the API key's name")


class CertificateSource(Base):
    __tablename__ = "certificate_sources"

    token: Mapped[str] = mapped_column(ForeignKey("certificates.token"), primary_key=True)
    source_token: Mapped[str] = mapped_column(ForeignKey("certificates.token"), primary_key=True,
                                              index=True)
    quantity: Mapped[float] = mapped_column(Float, comment="taken from the source, its unit")


class CreditEvent(Base):
    __tablename__ = "credit_events"
    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    producer_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64), comment="lot, certificate or check id")
    points: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="cloud clock")
    detail: Mapped[str] = mapped_column(Text, default="")


class KioskAlarm(Base):
    """The latest state of each alarm a kiosk reported (``event/alarm``: raised / cleared)."""

    __tablename__ = "kiosk_alarms"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), comment="raised or cleared")
    severity: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    seq: Mapped[int] = mapped_column(BigInteger, comment="the ledger record last applied")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="cloud receive time")


class HistoryEntry(Base):
    __tablename__ = "history"
    __table_args__ = (Index("ix_history_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    entity: Mapped[str] = mapped_column(String(32), comment="certificate, device, api_key, ...")
    entity_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100), comment="API key name, 'cli' or 'ingest'")
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
