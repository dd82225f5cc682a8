"""The technician's commands end to end through ``nongan``'s command line: exit codes and
what they print, on a kiosk settings file with simulated devices (and a serial scanner and
reader where the test needs a real backend)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from device_drivers import DevicesConfig
from gateway.device_lock import DeviceLock
from gateway.kit_labels import GS, format_gs1, format_local
from gateway.kit_stock import KitStockBook
from gateway.storage import KioskDatabase
from nongan.cli import main as nongan
from tests.support.pty_device import raw_pty
from tests.technician.conftest import settings_file

GTIN, KIT, LOT, EXPIRES = "02990000000019", "gold-procymidone-v1", "DEMO-2026A", date(2027, 6, 30)


@pytest.fixture
def config(tmp_path) -> Path:
    return settings_file(tmp_path)[0]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = nongan(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


# ------------------------------------------------------------------ doctor

def test_doctor_on_a_new_kiosk_finds_faults_and_says_what_to_do(capsys, config):
    status, out, _ = run(capsys, "doctor", "--config", str(config), "--no-broker")
    assert status == 1
    assert "never calibrated" in out and "nongan calibrate" in out
    assert "no kit box is registered" in out
    assert "SIMULATED" in out
    assert "FAULT:" in out


def test_calibrate_then_stock_then_doctor_is_clean(capsys, config):
    status, out, _ = run(capsys, "calibrate", "--config", str(config))
    assert status == 0, out
    assert "PASSED" in out and "rendered by the strip simulator" in out
    for check in ("exposure", "LED response", "uniformity", "spots", "focus"):
        assert check in out
    label = format_gs1(GTIN, LOT, EXPIRES, strips=50, serial="B1")
    status, out, _ = run(capsys, "kits", "add", "--config", str(config), "--label", label)
    assert status == 0 and f"added: {GTIN}/{LOT}/B1" in out
    status, out, _ = run(capsys, "doctor", "--config", str(config), "--no-broker", "--json")
    report = json.loads(out)
    assert status == 0, report
    assert report["counts"]["fault"] == 0
    by_area = {c["area"]: c for c in report["checks"]}
    assert by_area["calibration"]["status"] == "ok"
    assert by_area["kits"]["status"] == "ok" and "50 strips" in by_area["kits"]["detail"]


def test_doctor_with_a_bad_settings_file(capsys, tmp_path):
    bad = tmp_path / "gateway.toml"
    bad.write_text("[device]\nid = 'X'\n")
    status, _, err = run(capsys, "doctor", "--config", str(bad))
    assert status == 2 and "device" in err


def test_doctor_connects_to_the_broker(capsys, tmp_path):
    from tests.support.net import free_port

    path, _ = settings_file(tmp_path, broker_url=f"mqtt://127.0.0.1:{free_port()}")
    status, out, _ = run(capsys, "doctor", "--config", str(path), "--json")
    [broker] = [c for c in json.loads(out)["checks"] if c["area"] == "broker"]
    assert broker["status"] == "warning" and "not reachable" in broker["detail"]
    assert status == 1  # a new kiosk: never calibrated (an unreachable broker only warns)


# ------------------------------------------------------------------ calibrate

def test_calibrate_with_a_missing_reader_board_stores_nothing(capsys, tmp_path):
    devices = DevicesConfig.simulated(camera_size=(640, 480)).model_dump()
    devices["reader"] = {"backend": "serial", "port": str(tmp_path / "ttyACM9"),
                         "handshake_timeout_s": 0.5, "reconnect_s": 0}
    path, settings = settings_file(tmp_path, devices=devices)
    status, _, err = run(capsys, "calibrate", "--config", str(path), "--yes")
    assert status == 1
    assert "did not run" in err and "nothing was stored" in err
    db = KioskDatabase(settings.device.data_dir / "kiosk.db")
    try:
        assert db.read().__enter__().execute("SELECT count(*) FROM calibrations").fetchone()[0] == 0
    finally:
        db.close()


def test_calibrate_json(capsys, config):
    status, out, _ = run(capsys, "calibrate", "--config", str(config), "--json")
    result = json.loads(out)
    assert status == 0 and result["passed"] is True and result["problems"] == []
    assert {c["check"] for c in result["figures"]["checks"]} >= {"focus", "exposure"}


def test_devices_held_by_the_kiosk_service_are_not_touched(capsys, tmp_path):
    devices = DevicesConfig.simulated(camera_size=(640, 480)).model_dump()
    devices["reader"] = {"backend": "serial", "port": "/dev/ttyACM-not-here"}
    path, settings = settings_file(tmp_path, devices=devices)
    service = DeviceLock(settings.device.data_dir / "devices.lock").acquire()
    try:
        status, out, _ = run(capsys, "doctor", "--config", str(path), "--no-broker", "--json")
        [reader] = [c for c in json.loads(out)["checks"] if c["name"] == "reader (serial)"]
        assert reader["status"] == "fault"
        assert f"in use by process {os.getpid()}" in reader["detail"]
        assert "systemctl stop" in reader["fix"]
        status, _, err = run(capsys, "calibrate", "--config", str(path), "--yes")
        assert status == 1 and "in use by process" in err
    finally:
        service.release()


# ------------------------------------------------------------------ kits

def test_kits_add_typed_list_and_retire(capsys, config):
    status, out, _ = run(capsys, "kits", "add", "--config", str(config), "--kit", KIT,
                         "--lot", LOT, "--expires", "2027-06-30", "--strips", "20",
                         "--serial", "T1")
    assert status == 0 and f"added: {KIT}/{LOT}/T1" in out
    status, out, _ = run(capsys, "kits", "add", "--config", str(config), "--label",
                         format_local(KIT, LOT, EXPIRES, 5))
    assert status == 0
    status, out, _ = run(capsys, "kits", "list", "--config", str(config), "--json")
    listed = {b["box_code"]: b for b in json.loads(out)}
    assert listed[f"{KIT}/{LOT}/T1"]["strips_left"] == 20
    assert listed[f"{KIT}/{LOT}/#1"]["status"] == "ok"
    status, out, _ = run(capsys, "kits", "list", "--config", str(config))
    assert status == 0 and f"{KIT}/{LOT}/T1" in out and "20 / 20" in out
    status, out, _ = run(capsys, "kits", "retire", "--config", str(config), f"{KIT}/{LOT}/T1")
    assert status == 0 and "retired" in out
    status, _, err = run(capsys, "kits", "retire", "--config", str(config), f"{KIT}/{LOT}/T1")
    assert status == 1 and "retired on" in err


@pytest.mark.parametrize("argv,status,words", [
    (["--label", format_gs1(GTIN, "NOT-A-LOT", EXPIRES, strips=5)], 1, "update the kit catalogue"),
    (["--label", "(01)02990000000019(17)270630"], 1, "scan the label again"),
    (["--label", format_gs1(GTIN, LOT, EXPIRES)], 1, "--strips"),
    (["--kit", KIT, "--lot", LOT], 2, "all of --kit"),
    (["--kit", KIT, "--lot", LOT, "--expires", "30/06/2027", "--strips", "5"], 2, "YYYY-MM-DD"),
])
def test_kits_add_refusals(capsys, config, argv, status, words):
    got, _, err = run(capsys, "kits", "add", "--config", str(config), *argv)
    assert got == status and words in err
    db = KioskDatabase(Path(str(config)).parent / "kiosk.db")
    try:
        assert KitStockBook(db).boxes() == []
    finally:
        db.close()


def test_kits_list_warns_of_expiry(capsys, config, tmp_path):
    db = KioskDatabase(config.parent / "kiosk.db")
    try:
        KitStockBook(db).register_box(box_code="OLD", kit_id=KIT, lot="DEMO-2024X",
                                      expires_on=date(2025, 3, 31), strips=5)
    finally:
        db.close()
    status, out, _ = run(capsys, "kits", "list", "--config", str(config))
    assert status == 0 and "EXPIRED" in out


@pytest.fixture
def scanner_pty() -> Iterator[tuple[int, str]]:
    with raw_pty() as pair:
        yield pair


def test_kits_scan_reads_the_configured_scanner(capsys, tmp_path, scanner_pty):
    master, port = scanner_pty
    devices = DevicesConfig.simulated(camera_size=(640, 480)).model_dump()
    devices["scanner"] = {"backend": "serial", "target": port, "char_timeout_s": 0.2}
    path, _ = settings_file(tmp_path, devices=devices)
    raw = format_gs1(GTIN, LOT, EXPIRES, strips=50, serial="S1")
    assert GS in raw
    scans = (raw + "\r\n" + raw + "\r\n"  # the same box twice
             + "(01)02990000000019(17)2706\r\n").encode()  # then half a code
    # The scanner is opened (and its stale input flushed) first; then a person scans.
    person = threading.Timer(0.5, os.write, (master, scans))
    person.start()
    try:
        status, out, err = run(capsys, "kits", "scan", "--config", str(path), "--timeout", "2")
    finally:
        person.join()
    assert f"added: {GTIN}/{LOT}/S1" in out
    assert "already registered" in out and "nothing changed" in out
    assert "refused" in err and "scan the label again" in err
    assert "no more scans" in out
    assert status == 1  # one code was refused


def test_kits_scan_refuses_a_simulated_scanner(capsys, config):
    status, _, err = run(capsys, "kits", "scan", "--config", str(config), "--timeout", "0.1")
    assert status == 2 and "kits add --label" in err


def test_prompts_without_a_terminal_say_so():
    from device_drivers import DeviceError
    from gateway.technician.calibrate import Step
    from gateway.technician.calibrate_run import prompt_place

    asked: list[str] = []
    prompt_place(asked.append)(Step.WHITE_CARD)
    assert "white side up" in asked[0] and "Enter" in asked[0]

    def closed(text: str) -> str:
        raise EOFError

    with pytest.raises(DeviceError, match="input is closed") as caught:
        prompt_place(closed)(Step.FOCUS_TARGET)
    assert "--yes" in caught.value.fix


# ------------------------------------------------------------------ gateway status

def test_status_with_a_wrong_config_creates_nothing(capsys, tmp_path):
    path, settings = settings_file(tmp_path)
    data_dir = settings.device.data_dir
    status, out, err = run(capsys, "gateway", "status", "--config", str(path))
    assert status == 1 and out == ""
    assert str(data_dir / "kiosk.db") in err and "--config" in err
    assert not (data_dir / "kiosk.db").exists()
    assert not (data_dir / "identity").exists()
    KioskDatabase(data_dir / "kiosk.db").close()  # a database, but still no key
    status, _, err = run(capsys, "gateway", "status", "--config", str(path))
    assert status == 1 and str(data_dir / "identity" / "device.key") in err
    assert not (data_dir / "identity").exists()


def test_status_of_a_kiosk_that_has_run(capsys, tmp_path):
    from gateway.identity import DeviceIdentity

    path, settings = settings_file(tmp_path)
    data_dir = settings.device.data_dir
    identity = DeviceIdentity.load_or_create(data_dir, settings.device.id)
    KioskDatabase(data_dir / "kiosk.db").close()
    status, out, _ = run(capsys, "gateway", "status", "--config", str(path))
    report = json.loads(out)
    assert status == 0 and report["device_id"] == settings.device.id
    assert report["public_key"] == identity.public_key and report["outbox"]["last_seq"] == 0
