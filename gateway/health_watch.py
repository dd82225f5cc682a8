"""Watching the kiosk's own health: disk space against watermarks, and devices.

Disk: below ``storage.disk_warn_mb`` free a ``disk_low`` warning is raised; below
``storage.disk_refuse_mb`` a ``disk_full`` fault is raised and the station refuses new tests,
well before SQLite itself would fail — a ledger record is never dropped for want of space, the
kiosk stops making new ones instead. Devices: a device that stops being healthy raises
``device_fault`` for it, cleared when it recovers (once each way, not on every poll).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from device_drivers import Health
from protocol import AlarmSeverity

from .alarms import AlarmBook
from .devices import KioskDevices

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DiskState:
    free_bytes: int
    total_bytes: int
    level: str  # "ok", "low", "full"


class DiskGuard:
    def __init__(self, folder: Path, *, warn_mb: float, refuse_mb: float,
                 usage: Callable[[Path], tuple[int, int]] | None = None) -> None:
        self.folder = folder
        self.warn_bytes = int(warn_mb * MB)
        self.refuse_bytes = int(refuse_mb * MB)
        self._usage = usage or _disk_usage

    def state(self) -> DiskState:
        free, total = self._usage(self.folder)
        level = ("full" if free < self.refuse_bytes else
                 "low" if free < self.warn_bytes else "ok")
        return DiskState(free, total, level)

    def refusal(self) -> str | None:
        """Why no new test may start for lack of space, or None."""
        state = self.state()
        if state.level == "full":
            return (f"only {state.free_bytes // MB} MB of storage left (the kiosk keeps "
                    f"{self.refuse_bytes // MB} MB in reserve): call the technician to free "
                    "space or replace the storage card")
        return None


def _disk_usage(folder: Path) -> tuple[int, int]:
    usage = shutil.disk_usage(folder)
    return usage.free, usage.total


class HealthWatch:
    def __init__(self, alarms: AlarmBook, disk: DiskGuard,
                 devices: KioskDevices | None) -> None:
        self.alarms = alarms
        self.disk = disk
        self.devices = devices

    def check(self) -> None:
        """One round of checks; raises and clears alarms as conditions change. Blocking."""
        state = self.disk.state()
        free_mb = state.free_bytes // MB
        if state.level == "full":
            self.alarms.raise_alarm(
                "disk_full", f"{free_mb} MB free: new tests are refused until space is freed",
                severity=AlarmSeverity.FAULT)
        else:
            self.alarms.clear_alarm("disk_full", f"{free_mb} MB free")
        if state.level == "low":
            self.alarms.raise_alarm("disk_low", f"{free_mb} MB free: free space soon")
        else:
            self.alarms.clear_alarm("disk_low", f"{free_mb} MB free")
        if self.devices is None:
            return
        for health in self.devices.health():
            if health.ok:
                self.alarms.clear_alarm("device_fault", f"{health.device} is back",
                                        subject=health.device)
            else:
                self.alarms.raise_alarm("device_fault", fault_message(health)[:500],
                                        subject=health.device, severity=AlarmSeverity.FAULT)


def fault_message(health: Health) -> str:
    """``device: detail — fix``, naming the fix once whether or not the detail already ends
    with it (``Health.from_error``'s detail may carry the error's own " — fix")."""
    message = f"{health.device}: {health.detail}"
    if health.fix and not health.detail.endswith(health.fix):
        message += f" — {health.fix}"
    return message
