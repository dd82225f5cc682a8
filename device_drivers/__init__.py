"""Device interfaces (camera, reader controller, printer, scanner), each with a real backend
and a simulated one chosen explicitly by configuration, and the strip-scene simulator.
Imports nothing of ours.

Typical use::

    from device_drivers import DevicesConfig, open_camera

    devices = DevicesConfig.simulated()          # or DevicesConfig(**settings.devices)
    with open_camera(devices.camera) as camera:
        frames = camera.capture_burst()
"""

from device_drivers.camera import Camera, SimulatedCamera
from device_drivers.config import (
    CameraConfig,
    DevicesConfig,
    PrinterConfig,
    ReaderConfig,
    ScannerConfig,
)
from device_drivers.errors import (
    CameraError,
    CameraSettingsError,
    DeviceAbsent,
    DeviceError,
    DeviceFault,
    DeviceTimeout,
    IncompleteScan,
    PrinterOffline,
    PrinterOutOfPaper,
    ProtocolMismatch,
    ReaderError,
    ReaderReset,
)
from device_drivers.factory import (
    make_camera,
    make_printer,
    make_reader,
    make_scanner,
    open_camera,
    open_printer,
    open_reader,
    open_scanner,
)
from device_drivers.health import Health, HealthState
from device_drivers.printer import Printer, ReceiptContent, SimulatedPrinter, render_receipt
from device_drivers.reader import (
    FirmwareInfo,
    ReaderController,
    ReaderStatus,
    SimulatedReaderController,
)
from device_drivers.scanner import Scanner, SimulatedScanner

__all__ = [
    "Camera",
    "CameraConfig",
    "CameraError",
    "CameraSettingsError",
    "DeviceAbsent",
    "DeviceError",
    "DeviceFault",
    "DeviceTimeout",
    "DevicesConfig",
    "FirmwareInfo",
    "Health",
    "HealthState",
    "IncompleteScan",
    "Printer",
    "PrinterConfig",
    "PrinterOffline",
    "PrinterOutOfPaper",
    "ProtocolMismatch",
    "ReaderConfig",
    "ReaderController",
    "ReaderError",
    "ReaderReset",
    "ReaderStatus",
    "ReceiptContent",
    "Scanner",
    "ScannerConfig",
    "SimulatedCamera",
    "SimulatedPrinter",
    "SimulatedReaderController",
    "SimulatedScanner",
    "make_camera",
    "make_printer",
    "make_reader",
    "make_scanner",
    "open_camera",
    "open_printer",
    "open_reader",
    "open_scanner",
    "render_receipt",
]
