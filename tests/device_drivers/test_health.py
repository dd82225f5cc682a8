"""Health reports built from device errors."""

from __future__ import annotations

from device_drivers.errors import DeviceAbsent, ReaderError
from device_drivers.health import Health, HealthState


def test_health_from_an_error_names_the_fix_once() -> None:
    exc = DeviceAbsent("camera not found at /dev/video97", fix="replug it")
    health = Health.from_error("camera", "opencv", exc)
    assert health.state is HealthState.ABSENT
    assert health.detail == "camera not found at /dev/video97"
    assert health.fix == "replug it"
    assert "replug it" not in health.detail


def test_health_from_a_fault_keeps_the_message() -> None:
    exc = ReaderError("reader board refused 'tray': tray_jammed: stuck", code="tray_jammed",
                      fix="free the tray")
    health = Health.from_error("reader", "serial", exc)
    assert health.state is HealthState.FAULT
    assert health.detail == "reader board refused 'tray': tray_jammed: stuck"
    assert health.fix == "free the tray"
