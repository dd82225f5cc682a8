"""The cloud's tables (SQLAlchemy 2 typed ORM). The Alembic migrations create exactly these.

- ``devices``: enrolled kiosks and their public keys; retired ones are kept, never deleted.
- ``ack_watermarks``: per kiosk, the highest ``seq`` N such that records 1..N are all stored;
  the ingest workers lock this row while writing a kiosk's records, which serialises one
  kiosk's writes across workers.
- ``ledger``: one row per ledger record (test reading or certificate event), with the exact
  signed bytes as received, so the record can be re-verified at any time.
- ``certificates``, ``strip_readings``: what the ledger records say, in queryable columns plus
  the whole JSON object.
- ``dead_letters``: every rejected message with the reason; a repeat of the same payload on the
  same topic counts up instead of adding rows; a person replays or discards it (audited in
  ``history``).
- ``device_status``, ``latest_telemetry``: the last status and telemetry heard from each kiosk,
  with the cloud's own receive time.
- ``command_results``: kiosks' answers to commands.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import JSONDocument, UTCDateTime, utcnow

# Stable constraint names, so migrations can refer to them on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEVICE_ID = String(63)
MSG_ID = String(32)
TOKEN = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class (typed, for Core statements and COPY)."""
    return cast(Table, model.__table__)


class DeviceStateValue:
    ENROLLED = "enrolled"
    RETIRED = "retired"


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(DEVICE_ID, primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64), comment="base64url of 32 raw bytes")
    station_id: Mapped[str] = mapped_column(String(64))
    place_code: Mapped[str] = mapped_column(String(12), comment="GB/T 2260 code")
    state: Mapped[str] = mapped_column(String(16), default=DeviceStateValue.ENROLLED)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    broker_password_hash: Mapped[str | None] = mapped_column(
        String(200), comment="Mosquitto password-file hash of the kiosk's broker password")
    roster_version: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0",
        comment="the station roster version last published to this kiosk")
    roster_pages: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0",
        comment="how many roster pages this kiosk was last sent")


class AckWatermark(Base):
    __tablename__ = "ack_watermarks"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_record_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="cloud receive time of the newest record stored for this kiosk")
    unsynced_records: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0",
        comment="records stored that were made before the kiosk's clock was synchronised")
    last_unsynced_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="cloud receive time of the newest such record")


class LedgerRecord(Base):
    __tablename__ = "ledger"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    msg_id: Mapped[str] = mapped_column(MSG_ID, unique=True)
    kind: Mapped[str] = mapped_column(String(32), comment="test_reading or certificate")
    action: Mapped[str | None] = mapped_column(String(16), comment="certificates: issued/voided")
    subject: Mapped[str | None] = mapped_column(
        String(64), index=True, comment="the certificate token or reading id it is about"
    )
    kiosk_time: Mapped[datetime] = mapped_column(UTCDateTime)
    time_synced: Mapped[bool] = mapped_column(Boolean)
    boot_id: Mapped[str] = mapped_column(MSG_ID)
    mono_ms: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[bytes] = mapped_column(LargeBinary, comment="the signed bytes as received")


class CertificateStatus:
    ISSUED = "issued"
    VOIDED = "voided"
    """Voided by the kiosk that issued it (a ledger record)."""
    REVOKED = "revoked"
    """Revoked in the cloud by a supervisor, with a reason (logged in ``history``)."""


class CertificateOrigin:
    KIOSK = "kiosk"
    """Issued at a kiosk and received over MQTT (``device_id``/``seq`` name its ledger row)."""
    CLOUD = "cloud"
    """A purchaser's re-issue (样式二) made through the API; no ledger row."""


class CertificateRecord(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        ForeignKeyConstraint(["device_id", "seq"], ["ledger.device_id", "ledger.seq"]),
        Index("ix_certificates_device_issued", "device_id", "issued_at"),
        Index("ix_certificates_recorded_at", "recorded_at"),
    )

    token: Mapped[str] = mapped_column(TOKEN, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(DEVICE_ID, comment="None for a cloud re-issue")
    seq: Mapped[int | None] = mapped_column(BigInteger, comment="the ledger record that issued it")
    origin: Mapped[str] = mapped_column(String(8), default=CertificateOrigin.KIOSK,
                                        server_default=CertificateOrigin.KIOSK)
    issued_by: Mapped[str | None] = mapped_column(String(100),
                                                  comment="cloud re-issues: the API key's name")
    status: Mapped[str] = mapped_column(String(16), default=CertificateStatus.ISSUED)
    style: Mapped[str] = mapped_column(String(16))
    product_code: Mapped[str] = mapped_column(String(64))
    product_name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    origin_code: Mapped[str] = mapped_column(String(12))
    producer_id: Mapped[str] = mapped_column(String(64), index=True)
    station_id: Mapped[str] = mapped_column(String(64))
    place_code: Mapped[str | None] = mapped_column(String(12))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="kiosk clock")
    time_synced: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="cloud receive time")
    void_reason: Mapped[str | None] = mapped_column(String(300))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="kiosk clock")
    void_seq: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="cloud clock")
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, comment="the whole certificate")


class StripReadingRecord(Base):
    __tablename__ = "strip_readings"
    __table_args__ = (
        ForeignKeyConstraint(["device_id", "seq"], ["ledger.device_id", "ledger.seq"]),
        UniqueConstraint("device_id", "seq"),
        Index("ix_strip_readings_product_scored", "product_code", "scored_at"),
        Index("ix_strip_readings_recorded_at", "recorded_at"),
    )

    reading_id: Mapped[str] = mapped_column(MSG_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(DEVICE_ID)
    seq: Mapped[int] = mapped_column(BigInteger)
    session_id: Mapped[str | None] = mapped_column(MSG_ID)
    producer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    product_code: Mapped[str] = mapped_column(String(64))
    analyte_code: Mapped[str] = mapped_column(String(64))
    kit_id: Mapped[str] = mapped_column(String(64))
    kit_lot: Mapped[str] = mapped_column(String(64))
    kit_expires_on: Mapped[date] = mapped_column(Date)
    call: Mapped[str] = mapped_column(String(16), index=True)
    t_c_ratio: Mapped[float | None] = mapped_column(Float)
    reader_id: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="kiosk clock")
    time_synced: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, comment="the whole reading")


class DeadLetterState:
    OPEN = "open"
    """Waiting for a person (or for the kiosk's next re-send to be accepted)."""
    RECORDED = "recorded"
    """The same bytes were accepted later (a re-send after the cause was fixed): settled by
    the ingest itself."""
    REPLAYED = "replayed"
    """A person replayed it after fixing the cause, and the store took it."""
    DISCARDED = "discarded"
    """A person decided it will never be stored, with a reason; a ledger record's seq is then
    skipped (``ledger_skips``) so its kiosk's watermark can pass the gap."""
    ALL = ("open", "recorded", "replayed", "discarded")


class DeadLetter(Base):
    """A message the cloud could not store, kept with the reason so a person can resolve it.

    Nothing here can make the insert itself fail: only hashes, codes, a valid device id and
    numbers reach an index; the topic (as received, NUL characters replaced) and the payload
    (capped) sit in columns no index covers.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        UniqueConstraint("topic_sha256", "payload_sha256"),
        Index("ix_dead_letters_state_last_seen", "state", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(Text, comment="as received (NUL replaced); not indexed")
    topic_sha256: Mapped[str] = mapped_column(String(64), comment="of the topic's UTF-8 bytes")
    device_id: Mapped[str | None] = mapped_column(
        String(255), index=True, comment="the topic's device level if it is a valid device id; "
        "not checked against enrolment"
    )
    seq: Mapped[int | None] = mapped_column(
        BigInteger, comment="the ledger seq the message claims, when it could be read")
    msg_id: Mapped[str | None] = mapped_column(
        String(32), comment="the msg_id the message claims, when it could be read")
    code: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary, comment="capped at the configured size")
    payload_size: Mapped[int] = mapped_column(Integer)
    payload_truncated: Mapped[bool] = mapped_column(Boolean)
    payload_sha256: Mapped[str] = mapped_column(String(64), index=True,
                                                comment="of the whole payload")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default=DeadLetterState.OPEN,
                                       server_default=DeadLetterState.OPEN)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(
        String(100), comment="an API key's name, 'cli:<user>' or 'ingest'")
    resolution: Mapped[str | None] = mapped_column(Text, comment="why, in the resolver's words")


class DeviceStatus(Base):
    __tablename__ = "device_status"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), comment="online or offline")
    graceful: Mapped[bool] = mapped_column(Boolean)
    msg_id: Mapped[str] = mapped_column(MSG_ID)
    boot_id: Mapped[str] = mapped_column(MSG_ID)
    kiosk_time: Mapped[datetime] = mapped_column(UTCDateTime, comment="made at connect time")
    time_synced: Mapped[bool] = mapped_column(Boolean)
    software_version: Mapped[str] = mapped_column(String(100))
    firmware_version: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="when the cloud heard this state: the time of the change"
    )


class LatestTelemetry(Base):
    __tablename__ = "latest_telemetry"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    msg_id: Mapped[str] = mapped_column(MSG_ID)
    kiosk_time: Mapped[datetime] = mapped_column(UTCDateTime)
    time_synced: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outbox_pending: Mapped[int] = mapped_column(BigInteger)
    outbox_oldest_age_s: Mapped[float | None] = mapped_column(Float)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_acked_seq: Mapped[int] = mapped_column(BigInteger)
    disk_free_bytes: Mapped[int] = mapped_column(BigInteger)
    software_version: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, comment="the whole message")


class CommandResultRecord(Base):
    __tablename__ = "command_results"

    msg_id: Mapped[str] = mapped_column(MSG_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    cmd_id: Mapped[str] = mapped_column(MSG_ID, index=True)
    name: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    kiosk_time: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, comment="the whole message")
