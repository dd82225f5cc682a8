"""Ways bytes reach a printer: a serial port, the kernel's USB printer device, or a file.

Each transport does two things (python-escpos's narrow ``_raw`` idea): ``write`` bytes, and
``query`` — send a real-time status request and return the one-byte answer, or None when no
answer came (or the transport cannot read at all, like a plain file).
"""

from __future__ import annotations

import contextlib
import os
import select
import time
from pathlib import Path
from typing import Protocol

import serial

from device_drivers.errors import DeviceAbsent, PrinterOffline


class Transport(Protocol):
    can_query: bool

    def write(self, data: bytes) -> None: ...

    def query(self, request: bytes, timeout_s: float) -> int | None: ...

    def close(self) -> None: ...


def _absent(target: str, what: str) -> DeviceAbsent:
    return DeviceAbsent(f"printer not found at {target} ({what})",
                        fix="check the printer's cable and power, or correct "
                            "devices.printer.target")


class SerialTransport:
    """A printer on a serial port (RS-232 adapter or a USB CDC printer)."""

    can_query = True

    def __init__(self, port: str, baud: int, write_timeout_s: float = 10.0) -> None:
        if port.startswith("/dev/") and not Path(port).exists():
            raise _absent(port, "no such port")
        try:
            self._port = serial.serial_for_url(port, baudrate=baud, timeout=0.05,
                                               write_timeout=write_timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise _absent(port, str(exc)) from exc
        self.name = port

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise PrinterOffline(f"printer on {self.name} stopped taking data: {exc}",
                                 fix="check the printer's cable and power; the receipt may "
                                     "be incomplete: reprint it") from exc

    def query(self, request: bytes, timeout_s: float) -> int | None:
        try:
            self._port.reset_input_buffer()
            self._port.write(request)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                got = self._port.read(1)
                if got:
                    return got[0]
        except (serial.SerialException, OSError):
            return None
        return None

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()


class UsbLpTransport:
    """A USB printer through the kernel's usblp driver (/dev/usb/lp0), read and write."""

    can_query = True

    def __init__(self, path: str) -> None:
        if not Path(path).exists():
            raise _absent(path, "no such device; is the printer on and plugged in?")
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            raise _absent(path, exc.strerror or str(exc)) from exc
        self.name = path

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 30.0
        try:
            while view:
                _, ready, _ = select.select([], [self._fd], [], 1.0)
                if not ready:
                    if time.monotonic() > deadline:
                        raise OSError("printer accepted no data for 30 s")
                    continue
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            raise PrinterOffline(f"printer on {self.name} stopped taking data: {exc}",
                                 fix="check the printer's cable, power and paper; the receipt "
                                     "may be incomplete: reprint it") from exc

    def query(self, request: bytes, timeout_s: float) -> int | None:
        try:
            os.write(self._fd, request)
            ready, _, _ = select.select([self._fd], [], [], timeout_s)
            if not ready:
                return None
            data = os.read(self._fd, 1)
        except OSError:
            return None
        return data[0] if data else None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class FileTransport:
    """Append the job to a file (a spool file, or a write-only device). No status."""

    can_query = False

    def __init__(self, path: str) -> None:
        parent = Path(path).parent
        if not parent.is_dir():
            raise _absent(path, f"directory {parent} does not exist")
        self.name = path

    def write(self, data: bytes) -> None:
        try:
            with open(self.name, "ab") as handle:
                handle.write(data)
        except OSError as exc:
            raise PrinterOffline(f"cannot write to {self.name}: {exc}",
                                 fix="check the file's permissions and the disk") from exc

    def query(self, request: bytes, timeout_s: float) -> int | None:
        return None

    def close(self) -> None:
        pass
