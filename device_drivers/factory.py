"""Opening devices from their configuration: one function per device, no fallbacks.

Each factory builds the backend the configuration names and opens it. A configured real device
that is missing raises :class:`~device_drivers.errors.DeviceAbsent` with a fix in words; the
simulated backend is only ever used when the configuration says ``backend = "simulated"``.
Backends that need optional libraries (picamera2, evdev) import them only when opened.
"""

from __future__ import annotations

from device_drivers.camera import Camera, OpenCVCamera, PiCamera, SimulatedCamera
from device_drivers.config import CameraConfig, PrinterConfig, ReaderConfig, ScannerConfig
from device_drivers.printer import Printer, SimulatedPrinter
from device_drivers.printer.transports import FileTransport, SerialTransport, UsbLpTransport
from device_drivers.reader import (
    ReaderController,
    SerialReaderController,
    SimulatedReaderController,
)
from device_drivers.scanner import EvdevScanner, Scanner, SerialScanner, SimulatedScanner


def make_camera(cfg: CameraConfig) -> Camera:
    """The configured camera, not yet opened."""
    if cfg.backend == "opencv":
        return OpenCVCamera(cfg)
    if cfg.backend == "picamera":
        return PiCamera(cfg)
    if cfg.backend == "simulated":
        return SimulatedCamera(cfg)
    raise ValueError(f"unknown camera backend {cfg.backend!r}")


def make_reader(cfg: ReaderConfig) -> ReaderController:
    """The configured reader controller, not yet opened."""
    if cfg.backend == "serial":
        return SerialReaderController(cfg)
    if cfg.backend == "simulated":
        return SimulatedReaderController(cfg)
    raise ValueError(f"unknown reader backend {cfg.backend!r}")


def make_printer(cfg: PrinterConfig) -> Printer:
    """The configured printer, not yet opened."""
    target = str(cfg.target)
    if cfg.backend == "serial":
        return Printer(cfg, lambda: SerialTransport(target, cfg.baud))
    if cfg.backend == "usb":
        return Printer(cfg, lambda: UsbLpTransport(target))
    if cfg.backend == "file":
        return Printer(cfg, lambda: FileTransport(target))
    if cfg.backend == "simulated":
        return SimulatedPrinter(cfg)
    raise ValueError(f"unknown printer backend {cfg.backend!r}")


def make_scanner(cfg: ScannerConfig) -> Scanner:
    """The configured scanner, not yet opened."""
    if cfg.backend == "evdev":
        return EvdevScanner(cfg)
    if cfg.backend == "serial":
        return SerialScanner(cfg)
    if cfg.backend == "simulated":
        return SimulatedScanner(cfg)
    raise ValueError(f"unknown scanner backend {cfg.backend!r}")


def open_camera(cfg: CameraConfig) -> Camera:
    """Open the configured camera; raise DeviceAbsent if a real one is missing."""
    return make_camera(cfg).open()


def open_reader(cfg: ReaderConfig) -> ReaderController:
    """Open the configured reader controller (handshake included)."""
    return make_reader(cfg).open()


def open_printer(cfg: PrinterConfig) -> Printer:
    """Open the configured printer's transport."""
    return make_printer(cfg).open()


def open_scanner(cfg: ScannerConfig) -> Scanner:
    """Open the configured scanner (grabbing a keyboard-wedge device)."""
    return make_scanner(cfg).open()
