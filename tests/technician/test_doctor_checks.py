"""Each of the doctor's checks at ok, warning and fault, on values and on simulated devices."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from device_drivers import DevicesConfig
from gateway.calibration import CalibrationState
from gateway.devices import KioskDevices
from gateway.kit_stock import KitBox
from gateway.outbox import OutboxStats
from gateway.technician.check_devices import device_checks
from gateway.technician.check_host import (
    DiskLimits,
    DiskUsage,
    clock_check,
    disk_check,
    settings_checks,
)
from gateway.technician.check_link import outbox_checks
from gateway.technician.check_station import calibration_check, kit_checks
from gateway.technician.report import Check, DoctorReport, Status
from tests.gateway.conftest import kiosk_settings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
KIT, LOT = "gold-procymidone-v1", "DEMO-2026A"


def statuses(checks: list[Check]) -> dict[str, Status]:
    return {c.name: c.status for c in checks}


# ------------------------------------------------------------------ outbox

def stats(unacked=0, age=None, acked=5, last=5):
    oldest = NOW - age if age is not None else None
    return OutboxStats(pending=unacked, sent=0, unacked=unacked, unacked_bytes=unacked * 200,
                       oldest_unacked_created_at=oldest, last_seq=last, acked_seq=acked)


@pytest.mark.parametrize("args,expected", [
    ({}, {"depth": Status.OK, "acknowledgements": Status.OK}),
    ({"unacked": 3, "age": timedelta(minutes=2)},
     {"depth": Status.OK, "oldest unacknowledged": Status.OK}),
    ({"unacked": 3, "age": timedelta(hours=2)}, {"oldest unacknowledged": Status.WARNING}),
    ({"unacked": 3, "age": timedelta(days=4)}, {"oldest unacknowledged": Status.FAULT}),
    ({"unacked": 6000, "age": timedelta(minutes=1)}, {"depth": Status.WARNING}),
    ({"acked": 9, "last": 5}, {"acknowledgements": Status.FAULT}),
])
def test_outbox(args, expected):
    found = statuses(outbox_checks(stats(**args), NOW))
    for name, status in expected.items():
        assert found[name] is status, found


@pytest.mark.parametrize("connected,acked,oldest,expected", [
    (None, None, timedelta(hours=5), Status.OK),  # not connected: the broker line says why
    (timedelta(minutes=2), None, timedelta(hours=5), Status.OK),  # just connected
    (timedelta(hours=1), timedelta(minutes=1), timedelta(hours=5), Status.OK),  # ack moving
    (timedelta(hours=1), timedelta(hours=2), timedelta(hours=5), Status.FAULT),
    (timedelta(hours=1), None, timedelta(minutes=20), Status.FAULT),
])
def test_an_ack_that_does_not_move_while_connected_is_a_fault(connected, acked, oldest,
                                                                expected):
    waiting = stats(53, oldest, acked=30, last=83)
    waiting = OutboxStats(**{**{f: getattr(waiting, f) for f in waiting.__slots__},
                             "acked_at": NOW - acked if acked else None,
                             "link_connected_since": NOW - connected if connected else None})
    [check] = [c for c in outbox_checks(waiting, NOW) if c.name == "ack progress"]
    assert check.status is expected, check
    if expected is Status.FAULT:
        assert "53 record(s) wait beyond seq 30 (of 83)" in check.detail
        assert "dead-letters" in check.fix


def test_an_old_outbox_says_what_is_at_stake():
    [check] = [c for c in outbox_checks(stats(3, timedelta(days=4)), NOW)
               if c.name == "oldest unacknowledged"]
    assert "4 days" in check.detail and "verified" in check.detail and check.fix


# ------------------------------------------------------------------ clock and disk

@pytest.mark.parametrize("synced,trusted,floor,expected", [
    (True, False, None, Status.OK),
    (False, False, None, Status.WARNING),
    (False, True, None, Status.WARNING),
    (True, False, NOW - timedelta(days=1), Status.OK),
    (True, True, NOW + timedelta(days=30), Status.FAULT),
])
def test_clock(synced, trusted, floor, expected):
    check = clock_check(now=NOW, kernel_synced=synced, trusted=trusted, floor=floor)
    assert check.status is expected
    if expected is not Status.OK:
        assert check.fix


def test_a_clock_behind_its_floor_says_both_times():
    check = clock_check(now=NOW, kernel_synced=True, trusted=False,
                        floor=datetime(2026, 12, 25, 8, 0, tzinfo=UTC))
    assert "2026-11-24 12:00" in check.detail and "2026-12-25 08:00" in check.detail


GIB = 1024**3


@pytest.mark.parametrize("free,total,expected", [
    (50 * GIB, 64 * GIB, Status.OK),
    (1100 * 1024**2, 4 * GIB, Status.OK),
    (900 * 1024**2, 64 * GIB, Status.WARNING),   # under storage.disk_warn_mb (1024)
    (200 * 1024**2, 64 * GIB, Status.FAULT),     # under storage.disk_refuse_mb (256)
])
def test_disk(tmp_path, free, total, expected):
    limits = DiskLimits.from_settings(kiosk_settings(tmp_path))
    check = disk_check(tmp_path, limits, usage=lambda p: DiskUsage(total, total - free, free))
    assert check.status is expected, check
    if expected is Status.FAULT:
        assert "refuses new tests" in check.detail


def test_disk_unreadable_is_a_fault(tmp_path):
    def broken(path: Path) -> DiskUsage:
        raise OSError("I/O error")

    assert disk_check(tmp_path / "missing" / "kiosk", usage=broken).status is Status.FAULT


def test_the_real_disk_is_measured(tmp_path):
    assert "GiB free" in disk_check(tmp_path).detail


def test_a_shortened_incubation_is_flagged(tmp_path):
    assert settings_checks(kiosk_settings(tmp_path)) == []
    settings = kiosk_settings(tmp_path, devices=DevicesConfig.simulated().model_dump(),
                              station={"incubation_time_scale": 0.01})
    assert [c.status for c in settings_checks(settings)] == [Status.WARNING]


# ------------------------------------------------------------------ calibration

INTERVAL = timedelta(days=30)


@pytest.mark.parametrize("state,expected,words", [
    (CalibrationState("none"), Status.FAULT, "never calibrated"),
    (CalibrationState("failed", NOW, problems=["the image is blurred"]), Status.FAULT,
     "the image is blurred"),
    (CalibrationState("overdue", NOW - timedelta(days=40)), Status.FAULT, "overdue"),
    (CalibrationState("due_soon", NOW - timedelta(days=26)), Status.WARNING, "due by"),
    (CalibrationState("ok", NOW - timedelta(days=2)), Status.OK, "next due 2026-12-22"),
])
def test_calibration(state, expected, words):
    check = calibration_check("reader-1", state, INTERVAL)
    assert check.status is expected and words in check.detail
    if expected is not Status.OK:
        assert "nongan calibrate" in check.fix


# ------------------------------------------------------------------ kits

def box(code="B1", kit=KIT, lot=LOT, expires=date(2027, 6, 30), total=50, left=50):
    return KitBox(code, kit, lot, expires, total, left)


def test_no_stock_at_all_is_a_warning(catalogue):
    assert [c.status for c in kit_checks([], catalogue, TODAY)] == [Status.WARNING]


def test_healthy_kits_share_one_line(catalogue):
    checks = kit_checks([box(), box("B2", "gold-chlorpyrifos-v1")], catalogue, TODAY)
    assert [(c.name, c.status) for c in checks] == [("2 kit(s)", Status.OK)]
    assert "at least 50 strips" in checks[0].detail


@pytest.mark.parametrize("boxes,name,expected,words", [
    ([box(left=0)], KIT, Status.FAULT, "used up"),
    ([box(expires=date(2026, 11, 1))], KIT, Status.FAULT, "all expired"),
    ([box(expires=date(2026, 11, 1)), box("B2")], "box B1", Status.WARNING, "expired on"),
    ([box(expires=date(2026, 12, 1))], KIT, Status.WARNING, "expires in 7 day(s)"),
    ([box(left=4)], KIT, Status.WARNING, "running low"),
    ([box(lot="GONE-1")], "box B1", Status.FAULT, "not in the kit catalogue"),
])
def test_kit_trouble(catalogue, boxes, name, expected, words):
    checks = {c.name: c for c in kit_checks(boxes, catalogue, TODAY)}
    assert checks[name].status is expected and words in checks[name].detail, checks
    assert checks[name].fix


# ------------------------------------------------------------------ devices

@pytest.fixture
def devices():
    kiosk = KioskDevices.from_config(DevicesConfig.simulated(camera_size=(320, 240)))
    kiosk.open_all()
    yield kiosk
    kiosk.close_all()


def test_no_devices_configured_is_a_warning():
    assert [c.status for c in device_checks(None, firmware_expected="1.0.0")] == [
        Status.WARNING]


def test_simulated_devices_are_warnings_never_ok(devices):
    checks = statuses(device_checks(devices, firmware_expected="1.0.0"))
    assert set(checks.values()) == {Status.WARNING}
    assert set(checks) == {"camera (simulated)", "reader (simulated)", "printer (simulated)",
                           "scanner (simulated)", "reader firmware"}


def test_device_faults(devices):
    devices.camera.unplug()
    devices.printer.run_out_of_paper()
    devices.reader.jam_tray()
    devices.reader.move_tray("in")
    time.sleep(0.3)  # the simulated tray's travel time
    checks = {c.name: c for c in device_checks(devices, firmware_expected=None)}
    assert checks["camera (simulated)"].status is Status.FAULT
    assert "not found" in checks["camera (simulated)"].detail
    assert checks["printer (simulated)"].status is Status.FAULT
    assert "paper" in checks["printer (simulated)"].fix
    assert checks["reader (simulated)"].status is Status.FAULT
    assert "tray_jammed" in checks["reader (simulated)"].detail


def test_paper_low_is_a_warning(devices):
    devices.printer.paper_low()
    [printer] = [c for c in device_checks(devices, firmware_expected=None)
                 if c.name.startswith("printer")]
    assert printer.status is Status.WARNING and "roll" in printer.fix


def test_passive_checks_do_not_touch_the_camera(devices):
    devices.camera.show(lambda i: pytest.fail("the camera was asked for a frame"))
    checks = statuses(device_checks(devices, firmware_expected=None, active=False))
    assert checks["camera (simulated)"] is Status.WARNING  # simulated, opened at start
    assert checks["reader (simulated)"] is Status.WARNING
    devices.open_errors["printer"] = "printer not found at /dev/usb/lp0"
    checks = statuses(device_checks(devices, firmware_expected=None, active=False))
    assert checks["printer (simulated)"] is Status.FAULT


# ------------------------------------------------------------------ the report

def test_the_report_exits_non_zero_only_on_a_fault():
    ok = Check("disk", "d", Status.OK, "fine")
    warn = Check("clock", "c", Status.WARNING, "meh", "fix it")
    fault = Check("kits", "k", Status.FAULT, "bad", "fix it")
    assert DoctorReport("k1", NOW, [ok]).exit_code == 0
    assert DoctorReport("k1", NOW, [ok, warn]).exit_code == 0
    report = DoctorReport("k1", NOW, [ok, warn, fault])
    assert report.exit_code == 1 and report.status is Status.FAULT
    assert report.as_dict()["counts"] == {"ok": 1, "warning": 1, "fault": 1}
    assert report.as_dict()["checks"][2] == {"area": "kits", "name": "k", "status": "fault",
                                             "detail": "bad", "fix": "fix it"}
