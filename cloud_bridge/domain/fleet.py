"""The fleet view: every kiosk's health, from its retained status, telemetry and ledger.

Online/offline comes from the retained status (birth message or last will) and changes at the
cloud's receive time, never the kiosk's clock. The clock offset is the kiosk's clock minus the
cloud's receive time, only when the kiosk says its clock was synchronised (it includes the
network delay, so it is an upper bound for a kiosk ahead and a lower one for a kiosk behind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import (
    AckWatermark,
    Device,
    DeviceStateValue,
    DeviceStatus,
    LatestTelemetry,
    LedgerRecord,
)
from cloud_bridge.store.types import utcnow

from .stats import local_day


@dataclass(frozen=True, slots=True)
class KitView:
    kit_id: str
    lot: str
    expires_on: date
    strips_left: int
    days_left: int


@dataclass
class KioskHealth:
    """One kiosk as the dashboard shows it."""

    device_id: str
    station_id: str
    place_code: str
    state: str
    """``online``, ``offline`` or ``unknown`` (never heard from)."""
    state_since: datetime | None
    graceful: bool
    last_seen: datetime | None
    acked_seq: int
    max_seq: int
    outbox_pending: int | None = None
    outbox_oldest_age_s: float | None = None
    telemetry_at: datetime | None = None
    clock_offset_s: float | None = None
    time_synced: bool | None = None
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None
    software_version: str | None = None
    firmware_version: str | None = None
    calibration_state: str | None = None
    calibrated_at: datetime | None = None
    unsynced_records: int = 0
    last_unsynced_at: datetime | None = None
    kits: list[KitView] = field(default_factory=list)

    @property
    def gap(self) -> tuple[int, int] | None:
        """``(first missing seq, highest stored seq)`` when records beyond a hole are stored."""
        if self.max_seq > self.acked_seq:
            return self.acked_seq + 1, self.max_seq
        return None

    @property
    def disk_free_fraction(self) -> float | None:
        if self.disk_free_bytes is None or not self.disk_total_bytes:
            return None
        return self.disk_free_bytes / self.disk_total_bytes

    def calibration_age_days(self, now: datetime) -> float | None:
        if self.calibrated_at is None:
            return None
        return (now - self.calibrated_at).total_seconds() / 86400


def fleet(session: Session, *, include_retired: bool = False,
          now: datetime | None = None) -> list[KioskHealth]:
    """Every (enrolled) kiosk's health, by station then id."""
    now = now or utcnow()
    max_seq = (select(func.max(LedgerRecord.seq)).where(LedgerRecord.device_id == Device.id)
               .correlate(Device).scalar_subquery())
    query = (
        select(Device, DeviceStatus, LatestTelemetry, AckWatermark, max_seq)
        .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
        .outerjoin(LatestTelemetry, LatestTelemetry.device_id == Device.id)
        .outerjoin(AckWatermark, AckWatermark.device_id == Device.id)
        .order_by(Device.station_id, Device.id)
    )
    if not include_retired:
        query = query.where(Device.state == DeviceStateValue.ENROLLED)
    return [_health(d, s, t, w, m, now) for d, s, t, w, m in session.execute(query).all()]


def _health(device: Device, status: DeviceStatus | None, telemetry: LatestTelemetry | None,
            watermark: AckWatermark | None, max_seq: int | None, now: datetime) -> KioskHealth:
    seen = [t for t in (status.received_at if status else None,
                        telemetry.received_at if telemetry else None,
                        watermark.last_record_at if watermark else None) if t is not None]
    health = KioskHealth(
        device_id=device.id, station_id=device.station_id, place_code=device.place_code,
        state=status.state if status else "unknown",
        state_since=status.received_at if status else None,
        graceful=bool(status and status.graceful),
        last_seen=max(seen) if seen else None,
        acked_seq=watermark.acked_seq if watermark else 0,
        max_seq=int(max_seq or 0),
        unsynced_records=watermark.unsynced_records if watermark else 0,
        last_unsynced_at=watermark.last_unsynced_at if watermark else None,
        software_version=status.software_version if status else None,
        firmware_version=status.firmware_version if status else None,
    )
    if telemetry is not None:
        data: dict[str, Any] = telemetry.data
        health.telemetry_at = telemetry.received_at
        health.outbox_pending = telemetry.outbox_pending
        health.outbox_oldest_age_s = telemetry.outbox_oldest_age_s
        health.time_synced = telemetry.time_synced
        if telemetry.time_synced:
            health.clock_offset_s = (telemetry.kiosk_time - telemetry.received_at).total_seconds()
        health.disk_free_bytes = telemetry.disk_free_bytes
        health.disk_total_bytes = data.get("disk_total_bytes")
        health.software_version = telemetry.software_version
        health.firmware_version = data.get("firmware_version") or health.firmware_version
        health.calibration_state = data.get("calibration_state")
        if data.get("calibrated_at"):
            health.calibrated_at = datetime.fromisoformat(
                data["calibrated_at"].replace("Z", "+00:00"))
        for kit in data.get("kits", []):
            expires = date.fromisoformat(kit["expires_on"])
            health.kits.append(KitView(kit["kit_id"], kit["lot"], expires,
                                       int(kit["strips_left"]),
                                       (expires - local_day(now)).days))
    return health
