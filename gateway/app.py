"""The gateway's composition: one object that owns the kiosk's parts and their lifetimes.

``Gateway.open(settings)`` builds the database, identity, outbox, reading log, issuer and MQTT
link from validated settings; ``await gateway.run()`` runs the long-lived tasks in one
``TaskGroup`` (a task that dies takes the gateway down loudly rather than leaving a silent dead
worker); ``gateway.close()`` releases the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from device_drivers import DeviceError
from protocol import CommandName

from .alarms import AlarmBook
from .calibration import CalibrationBook
from .clock import KioskClock
from .cloud_trust import CloudTrust
from .devices import KioskDevices
from .health_watch import DiskGuard, HealthWatch
from .identity import DeviceIdentity
from .issuance import CertificateIssuer
from .kit_stock import KitStockBook
from .kits import Catalogue, load_catalogue
from .link import CommandHandler, LinkState, MqttLink
from .outbox import Outbox, read_clock_floor
from .producers import ProducerRegistry
from .readings import ReadingLog
from .sealing import MessageSealer
from .session import KioskSession, LotLedger, SessionConfig, SessionParts, feed_scanner
from .settings import GatewaySettings
from .station import StripStation
from .storage import KioskDatabase
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
    db: KioskDatabase
    sealer: MessageSealer
    outbox: Outbox
    readings: ReadingLog
    issuer: CertificateIssuer
    telemetry: TelemetryCollector
    link: MqttLink
    catalogue: Catalogue
    stock: KitStockBook
    calibrations: CalibrationBook
    alarms: AlarmBook
    disk: DiskGuard
    producers: ProducerRegistry
    lots: LotLedger
    session: KioskSession
    devices: KioskDevices | None = None
    station: StripStation | None = None

    @classmethod
    def open(cls, settings: GatewaySettings, *, clock: KioskClock | None = None,
             commands: Mapping[str, CommandHandler] | None = None) -> Gateway:
        """Build the kiosk's parts from validated settings.

        Args:
            clock: the kiosk's clock (default: the system's, as the settings say).
            commands: commands answered beside the built-in ones (``diagnostics``), or
                replacing them, by name; the link's table is fixed once built.
        """
        data_dir: Path = settings.device.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        clock = clock or KioskClock(trust_system_clock=settings.clock.trust_system_clock)
        identity = DeviceIdentity.load_or_create(data_dir, settings.device.id)
        db = KioskDatabase(data_dir / "kiosk.db")
        floor = read_clock_floor(db)
        if floor is not None:
            clock.raise_floor(floor)
        sealer = MessageSealer(identity, clock)
        outbox = Outbox(db, sealer)
        issuer = CertificateIssuer(
            db, outbox, clock,
            station_id=settings.device.station_id,
            place_code=settings.device.place_code,
            public_base_url=settings.cloud.public_base_url,
            timezone=settings.clock.zone(),
        )
        readings = ReadingLog(db, outbox)
        catalogue = load_catalogue(settings.kits.catalogue)
        stock = KitStockBook(db)
        calibrations = CalibrationBook(
            db, data_dir / "calibration",
            interval=timedelta(days=settings.station.calibration_interval_days),
        )
        alarms = AlarmBook(db, outbox)
        disk = DiskGuard(data_dir, warn_mb=settings.storage.disk_warn_mb,
                         refuse_mb=settings.storage.disk_refuse_mb)
        devices = station = None
        if settings.devices is not None:
            devices = KioskDevices.from_config(settings.devices,
                                               lock_path=data_dir / "devices.lock")
            devices.open_all()  # failures are reported by health(), never fatal here
            station = StripStation(
                settings=settings.station, catalogue=catalogue, camera=devices.camera,
                reader=devices.reader, stock=stock, calibrations=calibrations,
                readings=readings, clock=clock, images_dir=data_dir / "images", disk=disk,
                timezone=settings.clock.zone(),
            )
        producers = ProducerRegistry(db, outbox, clock, device_id=identity.device_id,
                                     station_id=settings.device.station_id,
                                     pin_attempts=settings.session.pin_attempts,
                                     pin_max_failures=settings.session.pin_max_failures)
        lots = LotLedger(db, outbox)
        recovered = lots.recover()  # sessions a power cut or crash left open
        if recovered:
            log.warning("%d session(s) were cut short by a restart: reported as abandoned",
                        recovered)
        session = KioskSession(SessionParts(
            config=SessionConfig.from_settings(settings), catalogue=catalogue,
            producers=producers, lots=lots, issuer=issuer, station=station,
            printer=devices.printer if devices is not None else None,
        ))
        sw = software_version()
        firmware = reader_firmware(devices)
        trust = CloudTrust(db, identity.device_id, settings.cloud.signing_keys, alarms)
        if not settings.cloud.signing_keys:
            log.error("cloud.signing_keys is empty: this kiosk trusts no cloud message and will "
                      "keep every record unacknowledged (put the key enrolment printed there)")
        telemetry = TelemetryCollector(outbox, data_dir, software_version=sw,
                                       firmware_version=firmware,
                                       extra=lambda: {**_kiosk_telemetry(stock, calibrations,
                                                                         devices, settings),
                                                      **trust.telemetry()})
        link_state = LinkState()
        answers: dict[str, CommandHandler] = {
            CommandName.DIAGNOSTICS: diagnostics_command(
                LiveKiosk(settings, db, catalogue, clock, devices, lambda: link_state)),
            **(commands or {}),
        }
        link = MqttLink(
            settings.broker, settings.link, outbox, sealer,
            trust=trust,
            software_version=sw,
            firmware_version=firmware,
            station_id=settings.device.station_id,
            telemetry=telemetry,
            roster=lambda roster: asyncio.to_thread(producers.apply_roster, roster),
            commands=answers,
            state=link_state,
        )
        return cls(settings, clock, identity, db, sealer, outbox, readings, issuer, telemetry,
                   link, catalogue, stock, calibrations, alarms, disk, producers, lots, session,
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
            pruned = await asyncio.to_thread(self.outbox.prune, retention)
            if pruned:
                log.info("pruned %d acknowledged outbox records", pruned)
            await asyncio.sleep(PRUNE_INTERVAL_S)

    async def _watch_health(self) -> None:
        watch = HealthWatch(self.alarms, self.disk, self.devices)
        while True:
            await asyncio.to_thread(watch.check)
            await asyncio.sleep(self.settings.storage.health_check_interval_s)

    def close(self) -> None:
        if self.devices is not None:
            self.devices.close_all()
        with contextlib.suppress(Exception):
            self.db.close()


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
