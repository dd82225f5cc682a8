"""Host checks: the clock (kernel sync state, not behind the persisted floor), disk space,
and settings that only make sense for a simulation."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from ..health_watch import MB, DiskGuard
from ..settings import GatewaySettings, StorageSection
from .report import Check, Status

NTP_FIX = ("check network time: timedatectl status (NTP service active?); a kiosk without "
           "network needs its RTC battery")


def clock_check(*, now: datetime, kernel_synced: bool, trusted: bool,
                floor: datetime | None) -> Check:
    """The wall clock against the kernel's sync state and the persisted clock floor.

    Args:
        now: the wall clock now (UTC).
        kernel_synced: what the kernel says (``gateway.clock.kernel_clock_synchronised``).
        trusted: ``clock.trust_system_clock`` is set (development and the demo).
        floor: the latest synchronised time this kiosk ever stamped, if any.
    """
    if floor is not None and now < floor:
        return Check("clock", "wall clock", Status.FAULT,
                     f"reads {now:%Y-%m-%d %H:%M} UTC, earlier than a synchronised time this "
                     f"kiosk already stamped ({floor:%Y-%m-%d %H:%M} UTC): the clock was set "
                     "back or lost its time (records are stamped 'not synchronised')",
                     NTP_FIX)
    if kernel_synced:
        return Check("clock", "wall clock", Status.OK,
                     f"synchronised (kernel), {now:%Y-%m-%d %H:%M} UTC")
    if trusted:
        return Check("clock", "wall clock", Status.WARNING,
                     "not synchronised by the kernel, but trusted by the settings "
                     "(clock.trust_system_clock)",
                     "fine for the demo; a kiosk should let NTP decide: set "
                     "clock.trust_system_clock = false")
    return Check("clock", "wall clock", Status.WARNING,
                 "not synchronised: records carry time_synced = false until it is", NTP_FIX)


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


_STORAGE_DEFAULTS = StorageSection()


@dataclass(frozen=True)
class DiskLimits:
    """Free space below which the data disk is worth a warning or a fault: the kiosk's own
    ``storage.disk_warn_mb`` and ``storage.disk_refuse_mb`` (below the latter the station
    refuses new tests), judged by the kiosk's own ``DiskGuard``, so the doctor and the kiosk
    agree. The defaults are ``StorageSection``'s."""

    warn_mb: float = _STORAGE_DEFAULTS.disk_warn_mb
    refuse_mb: float = _STORAGE_DEFAULTS.disk_refuse_mb

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> DiskLimits:
        return cls(warn_mb=settings.storage.disk_warn_mb,
                   refuse_mb=settings.storage.disk_refuse_mb)

    def guard(self, folder: Path, usage: Callable[[Path], tuple[int, int]] | None = None
              ) -> DiskGuard:
        """The kiosk's disk guard for ``folder`` with these limits."""
        return DiskGuard(folder, warn_mb=self.warn_mb, refuse_mb=self.refuse_mb, usage=usage)


def disk_check(data_dir: Path, limits: DiskLimits = DiskLimits(),
               usage: Callable[[Path], DiskUsage] | None = None) -> Check:
    """Free space on the disk holding the kiosk's data (database, strip images).

    Args:
        data_dir: the kiosk's data folder (its nearest existing parent is measured).
        limits: warning and fault thresholds.
        usage: how to measure a folder's disk (a seam for tests; default shutil.disk_usage).
    """
    where = data_dir
    while not where.exists() and where != where.parent:
        where = where.parent
    measure = usage or (lambda folder: DiskUsage(*shutil.disk_usage(folder)))
    guard = limits.guard(where, usage=lambda folder: _free_total(measure(folder)))
    try:
        disk = guard.state()
    except OSError as exc:
        return Check("disk", str(data_dir), Status.FAULT, f"cannot read disk usage: {exc}",
                     "check that the data folder's disk is mounted")
    free, total = disk.free_bytes, disk.total_bytes
    share = free / total if total else 0.0
    detail = f"{free / 1024**3:.1f} GiB free of {total / 1024**3:.1f} GiB ({share:.0%})"
    if disk.level == "full":
        return Check("disk", str(data_dir), Status.FAULT,
                     f"{detail}: below {guard.refuse_bytes // MB} MB the kiosk "
                     "refuses new tests",
                     f"free space now: delete old strip images ({data_dir}/images) after they "
                     "reached the cloud, or replace the storage card with a larger one")
    if disk.level == "low":
        return Check("disk", str(data_dir), Status.WARNING,
                     f"{detail}: below {guard.warn_bytes // MB} MB",
                     "plan to free space: old strip images, logs (journalctl --vacuum-size)")
    return Check("disk", str(data_dir), Status.OK, detail)


def _free_total(disk: DiskUsage) -> tuple[int, int]:
    return disk.free, disk.total


def settings_checks(settings: GatewaySettings) -> list[Check]:
    """Settings that are legal but only right for a simulation, or leave the kiosk deaf."""
    checks = []
    if not settings.cloud.signing_keys:
        checks.append(Check("settings", "cloud signing key", Status.FAULT,
                            "no cloud key is pinned: the kiosk acts on no ack, roster or "
                            "command, and keeps every record unacknowledged",
                            "put the key `nongan bridge device add` printed in "
                            "cloud.signing_keys"))
    scale = settings.station.incubation_time_scale
    if scale != 1.0:
        checks.append(Check("settings", "incubation time", Status.WARNING,
                            f"shortened to {scale:g} of each kit's time (simulation only)",
                            "set station.incubation_time_scale = 1 on a kiosk"))
    return checks
