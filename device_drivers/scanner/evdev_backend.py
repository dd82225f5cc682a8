"""A keyboard-wedge scanner read through evdev: the scanner "types" each code and presses
Enter. The device is grabbed so the keystrokes do not also land in the kiosk's browser.

Wiring: the scanner's USB cable to the Pi; ``target`` is its event node, best the stable
/dev/input/by-id/usb-...-event-kbd link. evdev (the ``pi`` extra) is imported only in here.
"""

from __future__ import annotations

import contextlib
import select
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device_drivers.config import ScannerConfig
from device_drivers.errors import DeviceAbsent
from device_drivers.scanner.base import Scanner
from device_drivers.scanner.keymap import KeyDecoder

EV_KEY = 1


def _evdev_device(path: str) -> Any:
    try:
        import evdev  # the [pi] extra
    except ImportError as exc:
        raise DeviceAbsent("scanner backend 'evdev' needs the evdev package, not installed",
                           fix="pip install 'nongan[pi]' on the kiosk") from exc
    return evdev.InputDevice(path)


class EvdevScanner(Scanner):
    """A keyboard-wedge scanner.

    Args:
        config: ``backend="evdev"`` and ``target``.
        device_factory: opens the input device (``evdev.InputDevice``); a seam for tests.
    """

    backend = "evdev"

    def __init__(self, config: ScannerConfig,
                 device_factory: Callable[[str], Any] = _evdev_device) -> None:
        super().__init__(config)
        self._factory = device_factory
        self._dev: Any = None
        self._decoder = KeyDecoder()
        self._chars: deque[str] = deque()

    def _open(self) -> None:
        path = str(self.config.target)
        if not Path(path).exists():
            raise DeviceAbsent(f"scanner not found at {path}",
                               fix="check the scanner's USB cable (ls /dev/input/by-id), or "
                                   "correct devices.scanner.target")
        try:
            dev = self._factory(path)
        except PermissionError as exc:
            raise DeviceAbsent(f"no permission to read {path}",
                               fix="add the kiosk user to the 'input' group") from exc
        except OSError as exc:
            raise DeviceAbsent(f"cannot open scanner {path}: {exc}",
                               fix="check the scanner's USB cable") from exc
        if self.config.grab:
            try:
                dev.grab()
            except OSError as exc:
                dev.close()
                raise DeviceAbsent(f"scanner {path} is held by another program: {exc}",
                                   fix="stop the other program reading the scanner") from exc
        self._dev = dev
        self._decoder = KeyDecoder()
        self._chars.clear()

    def _close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            if self.config.grab:
                with contextlib.suppress(OSError):
                    dev.ungrab()
            dev.close()

    def _next_char(self, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while not self._chars:
            remaining = deadline - time.monotonic()
            if remaining < 0:
                return None
            ready, _, _ = select.select([self._dev.fd], [], [], remaining)
            if not ready:
                return None
            try:
                events = list(self._dev.read())
            except BlockingIOError:
                continue
            except OSError as exc:
                raise DeviceAbsent(f"scanner {self.config.target} went away: {exc}",
                                   fix="check the scanner's USB cable") from exc
            for event in events:
                if event.type == EV_KEY:
                    ch = self._decoder.feed(event.code, event.value)
                    if ch is not None:
                        self._chars.append(ch)
        return self._chars.popleft()
