import json

import pytest

from gateway.alarms import AlarmBook
from gateway.health_watch import MB, DiskGuard, HealthWatch
from protocol import AlarmSeverity, decode
from tests.gateway.station_helpers import calibrate, simulated_gateway, stock


def alarm_messages(gateway):
    return [decode(r.topic, r.payload).message for r in gateway.books.outbox.next_batch(100)
            if r.kind == "alarm"]


def test_raised_once_and_cleared_once(gateway):
    book = AlarmBook(gateway.books.db, gateway.books.outbox)
    assert book.raise_alarm("disk_low", "900 MB free")
    assert not book.raise_alarm("disk_low", "899 MB free")  # still the same condition
    assert [a.code for a in book.active()] == ["disk_low"]
    assert book.clear_alarm("disk_low", "2 GB free")
    assert not book.clear_alarm("disk_low")
    states = [(m.code, m.state) for m in alarm_messages(gateway)]
    assert states == [("disk_low", "raised"), ("disk_low", "cleared")]


def test_active_alarms_survive_a_restart(tmp_path):
    from gateway.app import Gateway
    from tests.gateway.conftest import kiosk_settings

    settings = kiosk_settings(tmp_path / "k")
    gw = Gateway.open(settings)
    AlarmBook(gw.books.db, gw.books.outbox).raise_alarm("x_y", "m", severity=AlarmSeverity.FAULT)
    gw.close()
    gw = Gateway.open(settings)
    try:
        book = AlarmBook(gw.books.db, gw.books.outbox)
        assert not book.raise_alarm("x_y", "m")
        assert book.clear_alarm("x_y")
    finally:
        gw.close()


class FakeDisk:
    def __init__(self, free_mb):
        self.free_mb = free_mb

    def __call__(self, folder):
        return int(self.free_mb * MB), 32_000 * MB


def test_disk_watermarks_raise_alarms_and_refuse_tests(tmp_path):
    gw = simulated_gateway(tmp_path / "kiosk")
    try:
        disk = FakeDisk(5000)
        gw.disk._usage = disk
        kit_id = gw.catalogue.kit_for("procymidone").id
        stock(gw, kit_id)
        calibrate(gw)
        watch = HealthWatch(gw.books.alarms, gw.disk, gw.devices)
        watch.check()
        assert gw.station.readiness(kit_id) == []
        disk.free_mb = 800
        watch.check()
        assert [a.code for a in gw.books.alarms.active()] == ["disk_low"]
        assert gw.station.readiness(kit_id) == []  # warn, still testing
        disk.free_mb = 100
        watch.check()
        assert {a.code for a in gw.books.alarms.active()} == {"disk_full"}
        [refusal] = gw.station.readiness(kit_id)
        assert refusal.code == "disk_full" and "technician" in refusal.detail
        disk.free_mb = 5000
        watch.check()
        assert gw.books.alarms.active() == []
        sequence = [(m.code, m.state) for m in alarm_messages(gw)]
        assert sequence == [("disk_low", "raised"), ("disk_full", "raised"),
                            ("disk_low", "cleared"), ("disk_full", "cleared")]
    finally:
        gw.close()


def test_a_device_fault_is_reported_once_each_way(tmp_path):
    gw = simulated_gateway(tmp_path / "kiosk")
    try:
        gw.disk._usage = FakeDisk(5000)
        watch = HealthWatch(gw.books.alarms, gw.disk, gw.devices)
        gw.devices.camera.unplug()
        watch.check()
        watch.check()
        gw.devices.camera.replug()
        watch.check()
        messages = alarm_messages(gw)
        assert [(m.code, m.subject, m.state) for m in messages] == [
            ("device_fault", "camera", "raised"), ("device_fault", "camera", "cleared")]
        assert messages[0].severity is AlarmSeverity.FAULT
        assert json.loads(gw.books.outbox.next_batch(1)[0].payload)["kind"] == "alarm"
    finally:
        gw.close()


def test_real_disk_usage_is_read(tmp_path):
    state = DiskGuard(tmp_path, warn_mb=0, refuse_mb=0).state()
    assert state.total_bytes > 0 and state.level == "ok"


@pytest.mark.parametrize(("free", "level"), [(2000, "ok"), (1000, "low"), (200, "full")])
def test_levels(tmp_path, free, level):
    guard = DiskGuard(tmp_path, warn_mb=1024, refuse_mb=256, usage=FakeDisk(free))
    assert guard.state().level == level


@pytest.mark.parametrize("detail", [
    "camera not found at /dev/video0",                          # the fix kept apart
    "camera not found at /dev/video0 — plug the camera in",     # the fix repeated in detail
])
def test_a_device_fault_message_names_the_fix_once(detail):
    from device_drivers import Health, HealthState
    from gateway.health_watch import fault_message

    health = Health("camera", "opencv", HealthState.ABSENT, detail, "plug the camera in")
    assert fault_message(health) == ("camera: camera not found at /dev/video0 — "
                                     "plug the camera in")
    assert fault_message(Health("camera", "opencv", HealthState.FAULT, "black frames")) == \
        "camera: black frames"
