"""A scanner on a serial port (USB CDC "virtual COM" mode, or RS-232): codes end with CR or LF.

Wiring: the scanner's USB cable to the Pi, scanner set to USB-COM mode; ``target`` is its port
(/dev/ttyACM1, or a stable /dev/serial/by-id/... link). Bytes are UTF-8.
"""

from __future__ import annotations

import codecs
import contextlib
import time
from collections import deque
from pathlib import Path
from typing import Any

import serial

from device_drivers.config import ScannerConfig
from device_drivers.errors import DeviceAbsent
from device_drivers.scanner.base import Scanner


class SerialScanner(Scanner):
    """A serial-line scanner."""

    backend = "serial"

    def __init__(self, config: ScannerConfig) -> None:
        super().__init__(config)
        self._port: Any = None
        self._chars: deque[str] = deque()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._last_cr = False

    def _open(self) -> None:
        port = str(self.config.target)
        if port.startswith("/dev/") and not Path(port).exists():
            raise DeviceAbsent(f"scanner not found at {port}",
                               fix="check the scanner's USB cable (ls /dev/ttyACM*), or "
                                   "correct devices.scanner.target")
        try:
            self._port = serial.serial_for_url(port, baudrate=self.config.baud, timeout=0.02)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceAbsent(f"cannot open scanner port {port}: {exc}",
                               fix="check the scanner's cable and that no other program "
                                   "holds the port") from exc
        self._chars.clear()

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _take(self, data: bytes) -> None:
        for ch in self._decoder.decode(data):
            if ch == "\n" and self._last_cr:
                self._last_cr = False
                continue  # CR LF is one end-of-code
            self._last_cr = ch == "\r"
            self._chars.append("\n" if ch in "\r\n" else ch)

    def _next_char(self, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while not self._chars:
            if time.monotonic() > deadline:
                return None
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise DeviceAbsent(f"scanner {self.config.target} went away: {exc}",
                                   fix="check the scanner's USB cable") from exc
            if data:
                self._take(data)
        return self._chars.popleft()
