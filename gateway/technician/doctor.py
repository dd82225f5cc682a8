"""``nongan doctor``'s engine: every check of a kiosk, on site or from the cloud.

``run_doctor(settings)`` is what the command runs on site: it opens the kiosk's database
read-mostly (it never creates one), loads the catalogue, opens the configured devices (taking
the device lock for real ones; simulated devices are this process's own), connects to the
broker, and closes everything again. ``diagnostics_command(...)`` is the same checks inside
the running gateway, answering the cloud's ``diagnostics`` command: it uses the gateway's own
database and devices (passively, see ``check_devices``) and its link's state for the broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from protocol import AlarmSeverity, Command

from ..alarms import ActiveAlarm, read_active_alarms
from ..calibration import CalibrationBook, CalibrationState
from ..clock import KioskClock, kernel_clock_synchronised
from ..devices import KioskDevices
from ..kit_stock import KitBox, KitStockBook
from ..kits import Catalogue, KitCatalogueError, load_catalogue
from ..outbox import read_clock_floor, read_stats
from ..settings import GatewaySettings
from ..storage import KioskDatabase, StorageError, database_path
from ..update.version import firmware_expected
from .check_devices import device_checks
from .check_host import DiskLimits, clock_check, disk_check, settings_checks
from .check_link import OutboxLimits, outbox_checks, probe_broker
from .check_software import software_checks
from .check_station import NO_KIT_BOX, StockLimits, calibration_check, kit_checks
from .report import Check, DoctorReport, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DoctorLimits:
    """Every threshold the doctor uses (defaults documented in docs/technician.md)."""

    outbox: OutboxLimits = field(default_factory=OutboxLimits)
    disk: DiskLimits | None = None  # None: the kiosk's own storage settings
    stock: StockLimits = field(default_factory=StockLimits)
    broker_timeout_s: float = 5.0


def expected_firmware() -> str | None:
    """The reader firmware version this software ships (its release's, or the checkout's)."""
    return firmware_expected()


def alarm_checks(active: list[ActiveAlarm]) -> list[Check]:
    """Alarms the running kiosk raised and has not cleared (disk, devices)."""
    if not active:
        return [Check("alarms", "active alarms", Status.OK, "none")]
    return [
        Check("alarms", f"{a.code}{f' ({a.subject})' if a.subject else ''}",
              Status.FAULT if a.severity is AlarmSeverity.FAULT else Status.WARNING,
              f"raised {a.raised_at:%Y-%m-%d %H:%M} UTC: {a.message}",
              "the kiosk clears it by itself when the condition ends")
        for a in active
    ]


def kiosk_checks(settings: GatewaySettings, db: KioskDatabase | None,
                 catalogue: Catalogue | None, *, now: datetime, kernel_synced: bool,
                 limits: DoctorLimits) -> list[Check]:
    """The checks that need only the database and the catalogue (software, outbox, clock,
    disk, calibration, kits, settings)."""
    checks: list[Check] = []
    data_dir = settings.device.data_dir
    interval = timedelta(days=settings.station.calibration_interval_days)
    reader_id = settings.station.reader_id
    # Without a database nothing was ever stamped, calibrated or stocked.
    floor: datetime | None = None
    calibration = CalibrationState("none")
    boxes: list[KitBox] = []
    if db is None:
        checks.append(Check("outbox", "database", Status.WARNING,
                            f"no kiosk database at {database_path(data_dir)} yet",
                            "start the kiosk once (nongan gateway run) or check device.data_dir"))
    else:
        checks += outbox_checks(read_stats(db), now, limits.outbox)
        checks += alarm_checks(read_active_alarms(db))
        floor = read_clock_floor(db)
        book = CalibrationBook(db, data_dir / "calibration", interval=interval)
        calibration = book.current(reader_id, now, load_flat_field=False)
        boxes = KitStockBook(db).boxes()
    checks.append(clock_check(now=now, kernel_synced=kernel_synced,
                              trusted=settings.clock.trust_system_clock, floor=floor))
    checks.append(disk_check(data_dir, limits.disk or DiskLimits.from_settings(settings)))
    checks.append(calibration_check(reader_id, calibration, interval))
    if catalogue is not None:
        checks += kit_checks(boxes, catalogue, settings.clock.local_date(now), limits.stock)
    else:
        if not boxes:
            checks.append(NO_KIT_BOX)
        checks.append(Check("kits", "catalogue", Status.FAULT,
                            "the kit catalogue did not load (see the note below)",
                            "fix kits.catalogue in the settings, or reinstall nongan"))
    checks += software_checks(settings, db)
    checks += settings_checks(settings)
    return checks


def run_doctor(settings: GatewaySettings, *, limits: DoctorLimits | None = None,
               check_broker: bool = True, now: datetime | None = None,
               kernel_synced: Callable[[], bool] = kernel_clock_synchronised) -> DoctorReport:
    """Check a kiosk on site (``nongan doctor``). Blocking.

    Args:
        settings: the kiosk's validated settings.
        limits: thresholds (defaults if None).
        check_broker: connect to the broker (False to skip the network, e.g. offline tests).
        now: the time to judge ages against (default: now).
        kernel_synced: the kernel clock sync probe (a seam for tests).
    """
    limits = limits or DoctorLimits()
    now = now or datetime.now(UTC)
    notes: list[str] = []
    data_dir = settings.device.data_dir
    db: KioskDatabase | None = None
    catalogue: Catalogue | None = None
    devices: KioskDevices | None = None
    checks: list[Check] = []
    try:
        if database_path(data_dir).exists():
            try:
                db = KioskDatabase.in_folder(data_dir)
            except StorageError as exc:
                checks.append(Check("outbox", "database", Status.FAULT, str(exc),
                                    "check the disk and the file's permissions"))
        try:
            catalogue = load_catalogue(settings.kits.catalogue)
        except KitCatalogueError as exc:
            notes.append(f"kit catalogue: {exc}")
        if settings.devices is not None:
            devices = KioskDevices.from_config(settings.devices,
                                               lock_path=data_dir / "devices.lock")
            devices.open_all()
            if any(getattr(settings.devices, n).backend == "simulated" for n in devices.all):
                notes.append("simulated devices are this command's own, not the running "
                             "kiosk's: they show what the configuration builds")
        checks += device_checks(devices, firmware_expected=expected_firmware(), active=True)
        checks += kiosk_checks(settings, db, catalogue, now=now, kernel_synced=kernel_synced(),
                               limits=limits)
        if check_broker:
            checks.append(probe_broker(settings.broker, f"{settings.device.id}-doctor",
                                       timeout_s=limits.broker_timeout_s))
    finally:
        if devices is not None:
            devices.close_all()
        if db is not None:
            db.close()
    return DoctorReport(settings.device.id, now, _ordered(checks), notes)


AREAS = ("devices", "software", "calibration", "kits", "outbox", "broker", "clock", "disk",
         "settings")


def _ordered(checks: list[Check]) -> list[Check]:
    return sorted(checks, key=lambda c: AREAS.index(c.area) if c.area in AREAS else len(AREAS))


@dataclass
class LiveKiosk:
    """The running gateway's parts the ``diagnostics`` command looks at."""

    settings: GatewaySettings
    db: KioskDatabase
    catalogue: Catalogue
    clock: KioskClock
    devices: KioskDevices | None
    link_state: Callable[[], Any]  # returns gateway.link.LinkState


def diagnostics_report(kiosk: LiveKiosk, limits: DoctorLimits | None = None) -> DoctorReport:
    """The doctor's checks inside the running gateway (blocking; devices passively)."""
    limits = limits or DoctorLimits()
    now = datetime.now(UTC)
    checks = device_checks(kiosk.devices, firmware_expected=expected_firmware(), active=False)
    checks += kiosk_checks(kiosk.settings, kiosk.db, kiosk.catalogue, now=now,
                           kernel_synced=kernel_clock_synchronised(), limits=limits)
    state = kiosk.link_state()
    where = f"{kiosk.settings.broker.host}:{kiosk.settings.broker.port}"
    if state.connected:
        checks.append(Check("broker", where, Status.OK,
                            f"connected ({state.connects} connection(s) since start, "
                            f"{state.published} record(s) published)"))
    else:  # pragma: no cover - the command arrived over this very link
        checks.append(Check("broker", where, Status.WARNING,
                            f"not connected: {state.last_error or 'unknown'}"))
    return DoctorReport(kiosk.settings.device.id, now, _ordered(checks),
                        ["answered by the running kiosk: camera, printer and scanner were not "
                         "exercised"])


def diagnostics_command(kiosk: LiveKiosk, limits: DoctorLimits | None = None
                        ) -> Callable[[Command], Awaitable[dict[str, Any]]]:
    """A handler for the cloud's ``diagnostics`` command (``MqttLink.commands``)."""

    async def handle(command: Command) -> dict[str, Any]:
        report = await asyncio.to_thread(diagnostics_report, kiosk, limits)
        return report.as_dict()

    return handle


__all__ = [
    "DoctorLimits",
    "LiveKiosk",
    "diagnostics_command",
    "diagnostics_report",
    "expected_firmware",
    "kiosk_checks",
    "run_doctor",
]
