"""The fleet view, its alerts and the statistics, from real ingested messages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from cloud_bridge.domain.alerts import alerts
from cloud_bridge.domain.fleet import fleet
from cloud_bridge.domain.stats import stats
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.settings import DashboardSection
from cloud_bridge.store import session_factory
from tests.support.cloud import enroll
from tests.support.kiosk_messages import FakeKiosk

from .api_support import record


def at(writer: BatchWriter, when: datetime, *messages: tuple[str, bytes]) -> None:
    writer.write([Inbound(t, p, i, 1, when) for i, (t, p) in enumerate(messages)])


def kinds(found: list) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for a in found:
        out.setdefault(a.kind, set()).add(a.device_id)
    return out


def test_online_offline_by_the_clouds_receive_time_and_health_figures(
    store: Engine, writer: BatchWriter
) -> None:
    now = datetime.now(UTC)
    up, down, silent = FakeKiosk(), FakeKiosk(), FakeKiosk()
    enroll(store, up, down, silent)
    soon = (now + timedelta(days=5)).date().isoformat()
    at(writer, now - timedelta(minutes=2), up.status("online"), up.telemetry(
        outbox_pending=7, outbox_oldest_age_s=300.0, calibration_state="ok",
        calibrated_at=(now - timedelta(days=45)).isoformat(),
        firmware_version="fw-1.2",
        kits=[{"kit_id": "kit-pcm", "lot": "L1", "expires_on": soon, "strips_left": 3}]))
    at(writer, now - timedelta(hours=3), down.status("online"))
    at(writer, now - timedelta(hours=2), down.status("offline"))  # the last will
    with session_factory(store)() as session:
        by_id = {k.device_id: k for k in fleet(session, now=now)}
        found = kinds(alerts(session, DashboardSection(), now=now))
    k = by_id[up.device_id]
    assert k.state == "online" and k.outbox_pending == 7 and k.outbox_oldest_age_s == 300
    assert k.firmware_version == "fw-1.2" and k.software_version == "0.1.0"
    assert k.clock_offset_s is not None and abs(k.clock_offset_s) < 300
    assert 44 < (k.calibration_age_days(now) or 0) < 46
    assert k.kits[0].days_left in (4, 5) and k.disk_free_fraction == 1 / 16
    assert by_id[down.device_id].state == "offline"
    assert abs((by_id[down.device_id].state_since - (now - timedelta(hours=2))).total_seconds()) < 1
    assert by_id[silent.device_id].state == "unknown"
    assert found["offline"] == {down.device_id, silent.device_id}
    assert found["calibration"] == {up.device_id}
    assert found["kit_expiry"] == {up.device_id} and found["kit_low"] == {up.device_id}


def test_gaps_unsynced_records_positives_invalid_rates_and_dead_letters_alert(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    now = datetime.now(UTC)
    kiosk.next_seq = 1
    first = kiosk.reading()
    kiosk.next_seq = 3  # seq 2 never arrives
    messages = [first, kiosk.reading(call="positive")]
    messages += [kiosk.reading(call="invalid") for _ in range(10)]
    at(writer, now, *messages)
    unsynced = FakeKiosk()
    enroll(store, unsynced)
    topic, payload = unsynced.reading()
    import json

    from protocol import TestReadingEvent, seal
    obj = json.loads(payload)
    obj.pop("sig")
    obj["time_synced"] = False
    _, payload = seal(TestReadingEvent, obj, unsynced.key)
    at(writer, now, (topic, payload))
    at(writer, now, (topic, payload[:-5] + b"xxxx}"))  # a dead letter
    with session_factory(store)() as session:
        k = {x.device_id: x for x in fleet(session, now=now)}
        found = alerts(session, DashboardSection(), now=now)
    assert k[kiosk.device_id].gap == (2, 13)  # seq 3..13 stored after the hole
    assert k[unsynced.device_id].unsynced_records == 1
    by_kind = kinds(found)
    assert by_kind["seq_gap"] == {kiosk.device_id}
    assert by_kind["positive"] == {kiosk.device_id}
    assert by_kind["invalid_rate"] == {kiosk.device_id}
    assert by_kind["unsynced_clock"] == {unsynced.device_id}
    assert by_kind["dead_letters"] == {unsynced.device_id}
    assert found[0].severity == "critical"


def test_statistics_by_local_day_product_analyte_and_place(store: Engine, kiosk: FakeKiosk,
                                                           writer: BatchWriter) -> None:
    now = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 in China
    record_at = now - timedelta(hours=1)                 # 22:30 the same local day
    late = now + timedelta(minutes=45)                   # 00:15 the next local day
    at(writer, record_at, kiosk.reading(), kiosk.reading(call="positive"), kiosk.certificate())
    at(writer, late, kiosk.reading(call="positive", analyte_code="chlorpyrifos"))
    with session_factory(store)() as session:
        s = stats(session, days=7, now=late)
    assert s.tests_by_day == {date(2026, 11, 24): 2, date(2026, 11, 25): 1}
    assert s.positives_by_day == {date(2026, 11, 24): 1, date(2026, 11, 25): 1}
    assert s.certificates_by_day == {date(2026, 11, 24): 1}
    assert s.positives_by_product == [("jiucai", 2)]
    assert s.positives_by_analyte == [("chlorpyrifos", 1), ("procymidone", 1)]
    assert s.positives_by_place == [(kiosk.place_code, 2)]
    assert len(s.days) == 7 and s.days[-1] == date(2026, 11, 25)


def test_retired_kiosks_leave_the_fleet(store: Engine, kiosk: FakeKiosk,
                                        writer: BatchWriter) -> None:
    record(writer, kiosk.status())
    with session_factory(store).begin() as session:
        session.execute(text("UPDATE devices SET state = 'retired'"))
    with session_factory(store)() as session:
        assert fleet(session) == []
        assert len(fleet(session, include_retired=True)) == 1


def test_kiosk_alarms_show_until_cleared_whatever_the_arrival_order(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    raised, cleared = kiosk.alarm("device_fault", severity="fault"), kiosk.alarm(
        "device_fault", "cleared")
    disk = kiosk.alarm("disk_low")
    record(writer, raised, disk)
    with session_factory(store)() as session:
        active = [(a.kind, a.severity, a.data["code"]) for a in
                  alerts(session, DashboardSection()) if a.kind == "kiosk_alarm"]
    assert sorted(active) == [("kiosk_alarm", "critical", "device_fault"),
                              ("kiosk_alarm", "warning", "disk_low")]
    record(writer, cleared)
    record(writer, raised)  # a redelivery of the older "raised" changes nothing
    with session_factory(store)() as session:
        codes = {a.data["code"] for a in alerts(session, DashboardSection())
                 if a.kind == "kiosk_alarm"}
    assert codes == {"disk_low"}
