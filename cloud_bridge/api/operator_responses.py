"""JSON shapes of the operator endpoints (fleet, alerts, statistics, producers, devices)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloud_bridge.patterns import STATION_PATTERN
from protocol.messages import DeviceId, PlaceCode


class KitView(BaseModel):
    kit_id: str
    lot: str
    expires_on: date
    strips_left: int
    days_left: int


class KioskView(BaseModel):
    device_id: str
    station_id: str
    place_code: str
    state: str = Field(description="online, offline or unknown (from the retained status)")
    state_since: datetime | None = Field(description="cloud receive time of that status")
    last_seen: datetime | None
    acked_seq: int
    max_seq: int
    seq_gap: list[int] | None = Field(description="[first missing, highest stored] if any")
    outbox_pending: int | None
    outbox_oldest_age_s: float | None
    clock_offset_s: float | None = Field(description="kiosk minus cloud; only when synced")
    time_synced: bool | None
    disk_free_bytes: int | None
    disk_total_bytes: int | None
    software_version: str | None
    firmware_version: str | None
    calibration_state: str | None
    calibration_age_days: float | None
    unsynced_records: int
    kits: list[KitView]


class AlertView(BaseModel):
    kind: str
    severity: str
    device_id: str | None
    message: str
    since: datetime | None
    data: dict[str, object]


class CountView(BaseModel):
    key: str
    count: int


class DayView(BaseModel):
    day: date
    tests: int
    positives: int
    invalid: int
    certificates: int


class StatsView(BaseModel):
    since: date
    total_tests: int
    total_positives: int
    total_certificates: int
    days: list[DayView]
    positives_by_product: list[CountView]
    positives_by_analyte: list[CountView]
    positives_by_place: list[CountView]


class CreditView(BaseModel):
    level: str
    points: int
    events_in_window: int


class CreditEventView(BaseModel):
    kind: str
    subject: str
    points: int
    at: datetime
    detail: str


class ProducerSummary(BaseModel):
    producer_id: str
    kind: str
    name: str
    phone: str
    origin_code: str
    station_id: str
    active: bool
    registered_at: datetime


class CertificateRow(BaseModel):
    token: str
    serial: str
    status: str
    product_name: str
    quantity: float
    unit: str
    recorded_at: datetime


class ReadingRow(BaseModel):
    reading_id: str
    device_id: str
    product_code: str
    analyte_code: str
    call: str
    recorded_at: datetime


class ProducerDetail(ProducerSummary):
    origin_detail: str
    card_code: str | None
    registered_by: str
    credit: CreditView
    credit_events: list[CreditEventView]
    certificates: list[CertificateRow]
    readings: list[ReadingRow]


class EnrolRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: DeviceId
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
    station_id: Annotated[str, StringConstraints(pattern=STATION_PATTERN)]
    place_code: PlaceCode


class DeviceView(BaseModel):
    device_id: str
    station_id: str
    place_code: str
    state: str
    enrolled_at: datetime
    retired_at: datetime | None
    acked_seq: int


class EnrolledView(DeviceView):
    broker_username: str = Field(description="the device id")
    broker_password: str = Field(description="shown once; only its hash is kept")
    cloud_signing_keys: list[str] = Field(
        default_factory=list,
        description="the cloud's public signing keys the kiosk pins (cloud.signing_keys)")
    broker: str = Field(default="", description="whether the broker was updated")


class DeviceChangeRequest(BaseModel):
    """Retiring or re-enabling a kiosk: its id typed again, and why (kept in the history)."""

    model_config = ConfigDict(extra="forbid")
    confirm: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="the device id again, as confirmation")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3,
                                             max_length=300)]


class DeviceChangedView(DeviceView):
    broker: str = Field(default="", description="whether the broker was updated")


class DeadLetterView(BaseModel):
    id: int
    topic: str
    device_id: str | None
    code: str
    reason: str
    count: int
    first_seen: datetime
    last_seen: datetime
    state: str = Field(description="open, recorded, replayed or discarded")
    seq: int | None = Field(description="the ledger seq it claims, if it could be read")


class HistoryView(BaseModel):
    at: datetime
    entity: str
    entity_id: str
    action: str
    actor: str
    reason: str | None


class WhoAmI(BaseModel):
    name: str
    role: str
    market: str | None
