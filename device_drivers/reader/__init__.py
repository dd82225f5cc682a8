"""The reader controller: the board that drives the LED light, the strip tray, the cassette
sensor and the heater, over the JSON-lines protocol of hardware/PROTOCOL.md."""

from device_drivers.reader.base import ReaderController
from device_drivers.reader.model import FirmwareInfo, ReaderStatus
from device_drivers.reader.serial_backend import SerialReaderController
from device_drivers.reader.simulated import SimulatedReaderController

__all__ = [
    "FirmwareInfo",
    "ReaderController",
    "ReaderStatus",
    "SerialReaderController",
    "SimulatedReaderController",
]
