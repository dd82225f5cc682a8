"""The QR scanner for producer cards and kit boxes: keyboard-wedge (evdev) or serial."""

from device_drivers.scanner.base import Scanner
from device_drivers.scanner.evdev_backend import EvdevScanner
from device_drivers.scanner.keymap import KeyDecoder
from device_drivers.scanner.serial_backend import SerialScanner
from device_drivers.scanner.simulated import SimulatedScanner

__all__ = ["EvdevScanner", "KeyDecoder", "Scanner", "SerialScanner", "SimulatedScanner"]
