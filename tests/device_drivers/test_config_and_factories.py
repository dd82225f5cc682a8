"""Device configuration (backends are explicit, never defaulted) and the factories (a missing
real device is an error, never a simulated stand-in)."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from device_drivers import (
    CameraConfig,
    DeviceAbsent,
    DevicesConfig,
    PrinterConfig,
    ReaderConfig,
    ScannerConfig,
    SimulatedCamera,
    SimulatedPrinter,
    SimulatedReaderController,
    SimulatedScanner,
    make_camera,
    make_printer,
    make_reader,
    make_scanner,
    open_camera,
    open_reader,
)


def test_backend_is_required() -> None:
    for model in (CameraConfig, ReaderConfig, PrinterConfig, ScannerConfig):
        with pytest.raises(ValidationError, match="backend"):
            model()  # type: ignore[call-arg]


def test_every_device_must_be_configured() -> None:
    with pytest.raises(ValidationError, match="printer"):
        DevicesConfig.model_validate({
            "camera": {"backend": "simulated"}, "reader": {"backend": "simulated"},
            "scanner": {"backend": "simulated"}})


def test_real_backends_need_their_targets() -> None:
    with pytest.raises(ValidationError, match="needs a port"):
        ReaderConfig(backend="serial")
    with pytest.raises(ValidationError, match="needs a target"):
        PrinterConfig(backend="usb")
    with pytest.raises(ValidationError, match="needs a target"):
        ScannerConfig(backend="evdev")


def test_unknown_keys_and_backends_are_refused() -> None:
    with pytest.raises(ValidationError):
        CameraConfig(backend="webcam")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="exposure"):
        CameraConfig.model_validate({"backend": "opencv", "exposure": 10})


def test_kiosk_toml_section_validates() -> None:
    text = """
    [devices.camera]
    backend = "opencv"
    device = "/dev/v4l/by-id/usb-cam-video-index0"
    exposure_us = 8000
    burst_size = 7
    [devices.reader]
    backend = "serial"
    port = "/dev/ttyACM0"
    [devices.printer]
    backend = "usb"
    target = "/dev/usb/lp0"
    [devices.scanner]
    backend = "evdev"
    target = "/dev/input/by-id/usb-scanner-event-kbd"
    """
    cfg = DevicesConfig.model_validate(tomllib.loads(text)["devices"])
    assert cfg.camera.burst_size == 7 and cfg.reader.port == "/dev/ttyACM0"
    assert cfg.printer.paper_width_dots == 384


def test_simulated_constructor_builds_simulated_devices() -> None:
    cfg = DevicesConfig.simulated(camera_size=(640, 480))
    assert isinstance(make_camera(cfg.camera), SimulatedCamera)
    assert isinstance(make_reader(cfg.reader), SimulatedReaderController)
    assert isinstance(make_printer(cfg.printer), SimulatedPrinter)
    assert isinstance(make_scanner(cfg.scanner), SimulatedScanner)
    assert cfg.camera.width == 640
    healths = [make_camera(cfg.camera).health(), make_reader(cfg.reader).health(),
               make_printer(cfg.printer).health(), make_scanner(cfg.scanner).health()]
    assert [h.state for h in healths] == ["simulated"] * 4
    assert all(h.ok for h in healths)


def test_configured_real_devices_that_are_missing_raise() -> None:
    with pytest.raises(DeviceAbsent):
        open_camera(CameraConfig(backend="opencv", device="/dev/video98"))
    with pytest.raises(DeviceAbsent):
        open_reader(ReaderConfig(backend="serial", port="/dev/ttyACM98"))
    health = make_reader(ReaderConfig(backend="serial", port="/dev/ttyACM98")).health()
    assert health.state == "absent" and not health.ok and health.fix
