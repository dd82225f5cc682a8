"""The gateway's composition: one object that owns the kiosk's parts and their lifetimes.

``Gateway.open(settings)`` builds the kiosk's parts from validated settings: its identity and
clock, the kiosk database and the books kept in it (``KioskBooks``: outbox, readings,
certificates, producers, lots, alarms, kit stock, calibrations), the devices and the strip
station, the session, the telemetry and the MQTT link. Each consumer is handed the parts it
needs (the screen the session, the demo a ``gateway.testing.SimulatedKiosk``, the doctor's
command a ``LiveKiosk``), not the whole gateway. ``await gateway.run()`` runs the long-lived
tasks in one ``TaskGroup`` (a task that dies takes the gateway down loudly rather than leaving
a silent dead worker); ``gateway.close()`` releases the devices and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from device_drivers import DeviceError
from protocol import CommandName

from .books import KioskBooks
from .calibration import CalibrationBook
from .clock import KioskClock
from .cloud_trust import CloudTrust
from .devices import KioskDevices
from .health_watch import DiskGuard, HealthWatch
from .identity import DeviceIdentity
from .kit_stock import KitStockBook
from .kits import Catalogue, load_catalogue
from .link import CommandHandler, LinkState, MqttLink
from .session import KioskSession, SessionConfig, SessionParts, feed_scanner
from .settings import GatewaySettings
from .station import StripStation
from .technician.doctor import LiveKiosk, diagnostics_command
from .telemetry import TelemetryCollector

log = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 3600.0


def software_version() -> str:
    try:
        return version("nongan")
    except PackageNotFoundError:  # running from a checkout without installing
        return "0+unknown"


@dataclass
class Gateway:
    settings: GatewaySettings
    clock: KioskClock
    identity: DeviceIdentity
    catalogue: Catalogue
    books: KioskBooks
    disk: DiskGuard
    session: KioskSession
    telemetry: TelemetryCollector
    link: MqttLink
    devices: KioskDevices | None = None
    station: StripStation | None = None

    @classmethod
    def open(cls, settings: GatewaySettings, *, clock: KioskClock | None = None,
             devices: KioskDevices | None = None,
             commands: Mapping[str, CommandHandler] | None = None) -> Gateway:
        """Build the kiosk's parts from validated settings.

        Args:
            clock: the kiosk's clock (default: the system's, as the settings say).
            devices: the kiosk's devices, already built (a ``SimulatedKiosk``'s); default:
                those ``settings.devices`` configures, or none.
            commands: commands answered beside the built-in ones (``diagnostics``), or
                replacing them, by name; the link's table is fixed once built.
        """
        data_dir = settings.device.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        clock = clock or KioskClock(trust_system_clock=settings.clock.trust_system_clock)
        identity = DeviceIdentity.load_or_create(data_dir, settings.device.id)
        books = KioskBooks.open(settings, identity, clock)
        catalogue = load_catalogue(settings.kits.catalogue)
        disk = DiskGuard(data_dir, warn_mb=settings.storage.disk_warn_mb,
                         refuse_mb=settings.storage.disk_refuse_mb)
        station = None
        if devices is None and settings.devices is not None:
            devices = KioskDevices.from_config(settings.devices,
                                               lock_path=data_dir / "devices.lock")
        if devices is not None:
            devices.open_all()  # failures are reported by health(), never fatal here
            station = StripStation(
                settings=settings.station, catalogue=catalogue, camera=devices.camera,
                reader=devices.reader, stock=books.stock, calibrations=books.calibrations,
                readings=books.readings, clock=clock, images_dir=data_dir / "images",
                disk=disk, timezone=settings.clock.zone(),
            )
        recovered = books.lots.recover()  # sessions a power cut or crash left open
        if recovered:
            log.warning("%d session(s) were cut short by a restart: reported as abandoned",
                        recovered)
        session = KioskSession(SessionParts(
            config=SessionConfig.from_settings(settings), catalogue=catalogue,
            producers=books.producers, lots=books.lots, issuer=books.issuer, station=station,
            printer=devices.printer if devices is not None else None,
        ))
        sw = software_version()
        firmware = reader_firmware(devices)
        trust = CloudTrust(books.db, identity.device_id, settings.cloud.signing_keys,
                           books.alarms)
        if not settings.cloud.signing_keys:
            log.error("cloud.signing_keys is empty: this kiosk trusts no cloud message and will "
                      "keep every record unacknowledged (put the key enrolment printed there)")
        stock, calibrations = books.stock, books.calibrations
        telemetry = TelemetryCollector(books.outbox, data_dir, software_version=sw,
                                       firmware_version=firmware,
                                       extra=lambda: {**_kiosk_telemetry(stock, calibrations,
                                                                         devices, settings),
                                                      **trust.telemetry()})
        link_state = LinkState()
        answers: dict[str, CommandHandler] = {
            CommandName.DIAGNOSTICS: diagnostics_command(
                LiveKiosk(settings, books.db, catalogue, clock, devices, lambda: link_state)),
            **(commands or {}),
        }
        producers = books.producers
        link = MqttLink(
            settings.broker, settings.link, books.outbox, books.sealer,
            trust=trust,
            software_version=sw,
            firmware_version=firmware,
            station_id=settings.device.station_id,
            telemetry=telemetry,
            roster=lambda roster: asyncio.to_thread(producers.apply_roster, roster),
            commands=answers,
            state=link_state,
        )
        return cls(settings, clock, identity, catalogue, books, disk, session, telemetry, link,
                   devices, station)

    async def run(self) -> None:
        """Run until cancelled; on cancellation the link says a graceful goodbye."""
        link_task = asyncio.create_task(self.link.run(), name="nongan-gateway-link")
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._watch(link_task), name="nongan-gateway-watch")
                tasks.create_task(self._prune_forever(), name="nongan-gateway-prune")
                tasks.create_task(self._watch_health(), name="nongan-gateway-health")
                tasks.create_task(self.session.run_timers(), name="nongan-session-timers")
                if self.devices is not None:
                    tasks.create_task(feed_scanner(self.devices.scanner, self.session,
                                                   self.devices.scanner_lock),
                                      name="nongan-session-scanner")
        finally:
            await self.link.stop(link_task)

    @staticmethod
    async def _watch(task: asyncio.Task[None]) -> None:
        # The link never returns normally; if it raises, re-raise here to stop the gateway.
        await asyncio.shield(task)

    async def _prune_forever(self) -> None:
        retention = timedelta(days=self.settings.link.acked_retention_days)
        while True:
            pruned = await asyncio.to_thread(self.books.outbox.prune, retention)
            if pruned:
                log.info("pruned %d acknowledged outbox records", pruned)
            await asyncio.sleep(PRUNE_INTERVAL_S)

    async def _watch_health(self) -> None:
        watch = HealthWatch(self.books.alarms, self.disk, self.devices)
        while True:
            await asyncio.to_thread(watch.check)
            await asyncio.sleep(self.settings.storage.health_check_interval_s)

    def close(self) -> None:
        if self.devices is not None:
            self.devices.close_all()
        with contextlib.suppress(Exception):
            self.books.close()


def reader_firmware(devices: KioskDevices | None) -> Callable[[], str | None]:
    """The reader firmware version for status and telemetry, from the reader's cached handshake
    (no I/O): None with no devices, a reader that is not open, or one that cannot say."""

    def firmware() -> str | None:
        if devices is None or not devices.reader.is_open:
            return None
        try:
            return devices.reader.info.fw
        except DeviceError:
            return None

    return firmware


def _kiosk_telemetry(stock: KitStockBook, calibrations: CalibrationBook,
                     devices: KioskDevices | None, settings: GatewaySettings) -> dict[str, Any]:
    """Kit stock, calibration and device states for the telemetry snapshot."""
    calibration = calibrations.current(settings.station.reader_id, load_flat_field=False)
    fields: dict[str, Any] = {
        "kits": [k.model_dump(mode="json") for k in stock.summary()],
        "calibration_state": calibration.state,
        "calibrated_at": calibration.calibrated_at,
    }
    if devices is not None:
        fields["devices"] = {h.device: h.state.value for h in devices.health()}
    return fields
