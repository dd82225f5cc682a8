"""The kiosk's devices as one set: built from settings, opened without crashing the kiosk.

A configured real device that is missing must not silently become a simulator, nor stop the
gateway from starting (the screen must be able to say "call the technician"): opening failures
are kept and reported by ``health()``, and the station refuses to test while a device it needs
is not healthy.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from device_drivers import (
    Camera,
    DeviceError,
    DevicesConfig,
    Health,
    HealthState,
    Printer,
    ReaderController,
    Scanner,
    make_camera,
    make_printer,
    make_reader,
    make_scanner,
)

from .device_lock import DeviceLock, DevicesInUse

log = logging.getLogger(__name__)


@dataclass
class KioskDevices:
    config: DevicesConfig
    camera: Camera
    reader: ReaderController
    printer: Printer
    scanner: Scanner
    open_errors: dict[str, str] = field(default_factory=dict)
    lock: DeviceLock | None = None
    scanner_lock: threading.Lock = field(default_factory=threading.Lock)
    """Held by whoever reads the scanner in this process: the session's card feed between
    short reads, a technician's path (registering kit boxes) for a whole scan."""

    @classmethod
    def from_config(cls, config: DevicesConfig, *, lock_path: Path | None = None
                    ) -> KioskDevices:
        """The configured devices, not yet opened.

        Args:
            config: which backend each device uses.
            lock_path: the kiosk's device lock file (``gateway.device_lock``), taken by
                ``open_all`` when any device is real; None for no lock.
        """
        return cls(
            config=config,
            camera=make_camera(config.camera),
            reader=make_reader(config.reader),
            printer=make_printer(config.printer),
            scanner=make_scanner(config.scanner),
            lock=DeviceLock(lock_path) if lock_path is not None else None,
        )

    @property
    def real(self) -> list[str]:
        """The devices configured with a real (not simulated) backend."""
        return [name for name in self.all if getattr(self.config, name).backend != "simulated"]

    @property
    def all(self) -> dict[str, Camera | ReaderController | Printer | Scanner]:
        return {"camera": self.camera, "reader": self.reader, "printer": self.printer,
                "scanner": self.scanner}

    def open_all(self, only: Collection[str] | None = None) -> dict[str, str]:
        """Open every device (or ``only`` those named); returns {device: error} for those that
        would not open.

        With a lock file and real devices, the lock is taken first; if another process holds
        it, no real device is opened and each reports that process as its error.
        """
        self.open_errors = {}
        wanted = {n: d for n, d in self.all.items() if only is None or n in only}
        real = [n for n in self.real if n in wanted]
        if self.lock is not None and real:
            try:
                self.lock.acquire()
            except DevicesInUse as exc:
                log.error("%s", exc)
                self.open_errors = {name: str(exc) for name in real}
        for name, device in wanted.items():
            if name in self.open_errors:
                continue
            try:
                device.open()
            except DeviceError as exc:
                self.open_errors[name] = str(exc)
                log.error("%s did not open: %s", name, exc)
        return dict(self.open_errors)

    def health(self) -> list[Health]:
        reports = []
        for name, device in self.all.items():
            if name in self.open_errors and self.lock is not None and not self.lock.held:
                # Another process drives the devices: asking them anything would interfere.
                reports.append(Health(name, getattr(self.config, name).backend,
                                      HealthState.FAULT, self.open_errors[name],
                                      "stop the other program first (the kiosk service: "
                                      "sudo systemctl stop nongan-gateway)"))
                continue
            try:
                reports.append(device.health())
            except DeviceError as exc:  # a health check must never take the kiosk down
                reports.append(Health.from_error(name, getattr(self.config, name).backend,
                                                 exc))
        return reports

    def close_all(self) -> None:
        for device in self.all.values():
            with contextlib.suppress(DeviceError):
                device.close()
        if self.lock is not None:
            self.lock.release()
