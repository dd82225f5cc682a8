"""Fleet alerts, computed from the store on demand (thresholds in ``[dashboard]`` settings).

- ``offline``: the retained status has said offline (or nothing) for over ``offline_alert_s``.
- ``positive``: a positive reading recorded within ``positive_window_h`` (the supervisor's alarm).
- ``invalid_rate``: over ``invalid_rate`` of a kiosk's readings invalid in 24 h (at least
  ``invalid_min_readings`` readings).
- ``calibration``: calibration overdue / failed, or older than ``calibration_max_age_days``.
- ``kit_expiry``: a kit lot in stock expires within ``kit_expiry_days`` (or has expired).
- ``kit_low``: a kit lot has fewer than ``kit_low_strips`` strips left.
- ``seq_gap``: records are stored beyond a missing sequence number.
- ``unsynced_clock``: records made before the kiosk's clock was synchronised arrived in 24 h.
- ``clock_offset``: a synchronised clock differs from the cloud's by over ``clock_offset_alert_s``.
- ``disk_low``: free disk below ``disk_low_fraction``.
- ``dead_letters``: the cloud refused messages from a kiosk in the last 24 h (bad signature...).
- ``kiosk_alarm``: an alarm the kiosk itself raised (``event/alarm``) and has not cleared;
  ``fault`` alarms are critical.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_bridge.settings import DashboardSection
from cloud_bridge.store.models import DeadLetter, Device, DeviceStateValue, StripReadingRecord
from cloud_bridge.store.registry_models import KioskAlarm
from cloud_bridge.store.types import utcnow

from .fleet import KioskHealth, fleet

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    severity: str
    """``critical`` (act now), ``warning`` or ``info``."""
    device_id: str | None
    message: str
    """English words for logs and the API; the dashboard renders its own from ``kind``/``data``."""
    since: datetime | None
    data: dict[str, object]


def alerts(session: Session, thresholds: DashboardSection, *, now: datetime | None = None,
           kiosks: list[KioskHealth] | None = None) -> list[Alert]:
    """Every alert, most severe and newest first."""
    now = now or utcnow()
    kiosks = kiosks if kiosks is not None else fleet(session, now=now)
    found: list[Alert] = []
    for kiosk in kiosks:
        found.extend(_kiosk_alerts(kiosk, thresholds, now))
    found.extend(_positives(session, thresholds, now))
    found.extend(_invalid_rates(session, thresholds, now))
    found.extend(_dead_letters(session, now))
    found.extend(_kiosk_alarms(session))
    return sorted(found, key=lambda a: (SEVERITY_ORDER[a.severity],
                                        -(a.since.timestamp() if a.since else 0)))


def _kiosk_alerts(k: KioskHealth, t: DashboardSection, now: datetime) -> list[Alert]:
    out: list[Alert] = []
    d = k.device_id
    if k.state != "online":
        since = k.state_since or k.last_seen
        if since is None or (now - since).total_seconds() > t.offline_alert_s:
            out.append(Alert("offline", "critical", d,
                             f"{d} offline since {since:%Y-%m-%d %H:%M} UTC" if since
                             else f"{d} never connected", since,
                             {"graceful": k.graceful}))
    if k.gap is not None:
        first, last = k.gap
        out.append(Alert("seq_gap", "warning", d,
                         f"{d}: seq {first} missing, records up to {last} stored", k.last_seen,
                         {"first_missing": first, "max_seq": last}))
    age = k.calibration_age_days(now)
    if k.calibration_state in {"overdue", "failed"} or (
            age is not None and age > t.calibration_max_age_days):
        out.append(Alert("calibration", "warning", d,
                         f"{d}: calibration {k.calibration_state or 'old'}"
                         + (f", {age:.0f} days old" if age is not None else ""),
                         k.calibrated_at, {"state": k.calibration_state, "age_days": age}))
    for kit in k.kits:
        if kit.strips_left > 0 and kit.days_left <= t.kit_expiry_days:
            out.append(Alert("kit_expiry", "critical" if kit.days_left < 0 else "warning", d,
                             f"{d}: kit {kit.kit_id} lot {kit.lot} expires {kit.expires_on}",
                             None, {"kit_id": kit.kit_id, "lot": kit.lot,
                                    "days_left": kit.days_left}))
        if kit.strips_left < t.kit_low_strips:
            out.append(Alert("kit_low", "warning", d,
                             f"{d}: kit {kit.kit_id} lot {kit.lot}: {kit.strips_left} strips left",
                             None, {"kit_id": kit.kit_id, "strips_left": kit.strips_left}))
    if k.last_unsynced_at is not None and now - k.last_unsynced_at < timedelta(hours=24):
        out.append(Alert("unsynced_clock", "info", d,
                         f"{d}: records made before its clock was synchronised "
                         f"({k.unsynced_records} in all); shown with the cloud's receive time",
                         k.last_unsynced_at, {"count": k.unsynced_records}))
    if k.clock_offset_s is not None and abs(k.clock_offset_s) > t.clock_offset_alert_s:
        out.append(Alert("clock_offset", "warning", d,
                         f"{d}: clock off by {k.clock_offset_s:+.0f} s", k.telemetry_at,
                         {"offset_s": k.clock_offset_s}))
    fraction = k.disk_free_fraction
    if fraction is not None and fraction < t.disk_low_fraction:
        out.append(Alert("disk_low", "warning", d, f"{d}: {fraction:.0%} disk free",
                         k.telemetry_at, {"free_fraction": fraction}))
    return out


def _positives(session: Session, t: DashboardSection, now: datetime) -> list[Alert]:
    since = now - timedelta(hours=t.positive_window_h)
    r = StripReadingRecord
    rows = session.execute(
        select(r.reading_id, r.device_id, r.product_code, r.analyte_code, r.producer_id,
               r.recorded_at, Device.place_code)
        .select_from(r).join(Device, Device.id == r.device_id)
        .where(r.call == "positive", r.recorded_at >= since)
        .order_by(r.recorded_at.desc()).limit(200)
    ).all()
    return [Alert("positive", "critical", row.device_id,
                  f"positive {row.analyte_code} on {row.product_code} at {row.device_id}",
                  row.recorded_at,
                  {"reading_id": row.reading_id, "product_code": row.product_code,
                   "analyte_code": row.analyte_code, "producer_id": row.producer_id,
                   "place_code": row.place_code})
            for row in rows]


def _invalid_rates(session: Session, t: DashboardSection, now: datetime) -> list[Alert]:
    r = StripReadingRecord
    rows = session.execute(
        select(r.device_id, func.count(), func.count().filter(r.call == "invalid"))
        .where(r.recorded_at >= now - timedelta(hours=24))
        .group_by(r.device_id)
    ).all()
    out = []
    for device_id, total, bad in rows:
        if total >= t.invalid_min_readings and bad / total > t.invalid_rate:
            out.append(Alert("invalid_rate", "warning", device_id,
                             f"{device_id}: {bad} of {total} readings invalid in 24 h",
                             None, {"invalid": bad, "total": total, "rate": bad / total}))
    return out


def _dead_letters(session: Session, now: datetime) -> list[Alert]:
    rows = session.execute(
        select(DeadLetter.device_id, func.sum(DeadLetter.count), func.max(DeadLetter.last_seen))
        .where(DeadLetter.last_seen >= now - timedelta(hours=24))
        .group_by(DeadLetter.device_id)
    ).all()
    return [Alert("dead_letters", "warning", device_id,
                  f"{device_id or '(no device)'}: {int(n)} messages refused in 24 h", last,
                  {"count": int(n)})
            for device_id, n, last in rows]


def _kiosk_alarms(session: Session) -> list[Alert]:
    rows = session.execute(
        select(KioskAlarm).join(Device, Device.id == KioskAlarm.device_id)
        .where(KioskAlarm.state == "raised", Device.state == DeviceStateValue.ENROLLED)
        .order_by(KioskAlarm.received_at.desc())
    ).scalars().all()
    return [Alert("kiosk_alarm", "critical" if a.severity == "fault" else "warning",
                  a.device_id, f"{a.device_id}: {a.code}"
                  + (f" ({a.subject})" if a.subject else "") + f": {a.message}",
                  a.received_at, {"code": a.code, "subject": a.subject, "seq": a.seq})
            for a in rows]
