"""A release's self-check: what passes, and each way it fails, with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.devices import KioskDevices
from gateway.settings import GatewaySettings
from gateway.technician.calibrate import Step
from gateway.technician.measure import CalibrationLimits
from gateway.technician.report import Status
from gateway.technician.sim_cards import SimulatedCards
from gateway.update.selfcheck import card_reading, empty_tray, run_selfcheck
from gateway.update.version import software_version
from nongan.cli import main
from tests.support.mosquitto import Mosquitto
from tests.technician.conftest import settings_file


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[tuple[KioskDevices, GatewaySettings]]:
    _, settings = settings_file(tmp_path)
    assert settings.devices is not None
    devs = KioskDevices.from_config(settings.devices)
    devs.open_all()
    yield devs, settings
    devs.close_all()


def _faults(report_checks: list) -> list[str]:  # type: ignore[type-arg]
    return [f"{c.name}: {c.detail}" for c in report_checks if c.status is Status.FAULT]


@pytest.mark.mosquitto
def test_this_release_passes_on_a_simulated_kiosk(tmp_path: Path, mosquitto: Mosquitto) -> None:
    _, settings = settings_file(tmp_path, broker_url=mosquitto.url,
                                     update={"require_link": True})
    report = run_selfcheck(settings, expect_version=software_version())
    assert _faults(report.checks) == []
    names = [c.name for c in report.checks]
    assert {"version", "database", "kit catalogue", "calibration card (simulated): focus",
            "calibration card (simulated): exposure", "reader firmware"} <= set(names)
    assert any(c.area == "broker" and c.status is Status.OK for c in report.checks)


def test_it_fails_on_another_version_and_without_the_link(tmp_path: Path) -> None:
    _, settings = settings_file(tmp_path, update={"require_link": True})
    report = run_selfcheck(settings, expect_version="9.9.9")
    faults = _faults(report.checks)
    assert f"version: running {software_version()}, expected 9.9.9" in faults
    assert any(f.startswith("127.0.0.1:1: not reachable") for f in faults), faults
    assert report.exit_code == 1


def test_a_broken_measurement_fails_the_card_reading(
        devices: tuple[KioskDevices, GatewaySettings]) -> None:
    devs, settings = devices
    checks = card_reading(devs, settings, CalibrationLimits(max_edge_px=0.5))
    assert [c.name for c in checks if c.status is Status.FAULT] == [
        "calibration card (simulated): focus"]


def test_the_empty_tray_reading_of_a_real_kiosk(
        devices: tuple[KioskDevices, GatewaySettings]) -> None:
    """What a kiosk with a real camera reads (here through the simulated devices, showing the
    empty tray lit by the LED): the light follows the LED, steadily."""
    devs, settings = devices
    led = settings.station.led_level
    SimulatedCards(devs.camera, devs.reader, led_level=led)(Step.REMOVE_CARD)  # type: ignore[arg-type]
    findings = empty_tray(devs, led, CalibrationLimits())
    assert [(f.check, f.passed) for f in findings] == [("LED response", True), ("flicker", True)]
    # Light from outside (an open lid): the light does not follow the LED.
    SimulatedCards(devs.camera, devs.reader, led_level=led,  # type: ignore[arg-type]
                   follow_led=False)(Step.REMOVE_CARD)
    findings = empty_tray(devs, led, CalibrationLimits())
    assert findings[0].check == "LED response" and not findings[0].passed
    assert devs.reader.status().led == 0.0, "the LED is off again"


def test_selfcheck_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = settings_file(tmp_path)
    assert main(["update", "selfcheck", "--config", str(config), "--json", "--no-link",
                 "--expect-version", software_version()]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] in ("ok", "warning") and report["counts"]["fault"] == 0
    assert main(["update", "selfcheck", "--config", str(config), "--json", "--no-link",
                 "--expect-version", "0.0.1"]) == 1

