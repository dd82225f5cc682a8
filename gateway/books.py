"""The kiosk database and the books kept in it, as one typed part of the gateway.

Everything here is a table in ``kiosk.db`` (``KioskDatabase``), most with the outbox: a record
and its ledger message commit in one transaction. The gateway opens them together
(``KioskBooks.open``) and hands each consumer the books it needs, not the whole gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .alarms import AlarmBook
from .calibration import CalibrationBook
from .clock import KioskClock
from .identity import DeviceIdentity
from .issuance import CertificateIssuer
from .kit_stock import KitStockBook
from .lots import LotBook
from .outbox import Outbox, read_clock_floor
from .producers import ProducerBook
from .readings import ReadingBook
from .sealing import MessageSealer
from .settings import GatewaySettings
from .storage import KioskDatabase


@dataclass(frozen=True)
class KioskBooks:
    db: KioskDatabase
    sealer: MessageSealer
    outbox: Outbox
    readings: ReadingBook
    issuer: CertificateIssuer
    producers: ProducerBook
    lots: LotBook
    alarms: AlarmBook
    stock: KitStockBook
    calibrations: CalibrationBook

    @classmethod
    def open(cls, settings: GatewaySettings, identity: DeviceIdentity,
             clock: KioskClock) -> KioskBooks:
        """Open the kiosk database (migrating it) and every book kept in it.

        The clock's floor is raised to the last synchronised time the database holds first,
        so that no record is stamped earlier than one already made.
        """
        device = settings.device
        db = KioskDatabase.in_folder(device.data_dir)
        floor = read_clock_floor(db)
        if floor is not None:
            clock.raise_floor(floor)
        sealer = MessageSealer(identity, clock)
        outbox = Outbox(db, sealer)
        return cls(
            db=db,
            sealer=sealer,
            outbox=outbox,
            readings=ReadingBook(db, outbox),
            issuer=CertificateIssuer(
                db, outbox, clock, station_id=device.station_id, place_code=device.place_code,
                public_base_url=settings.cloud.public_base_url, timezone=settings.clock.zone()),
            producers=ProducerBook(
                db, outbox, clock, device_id=identity.device_id,
                station_id=device.station_id, pin_attempts=settings.session.pin_attempts,
                pin_max_failures=settings.session.pin_max_failures),
            lots=LotBook(db, outbox),
            alarms=AlarmBook(db, outbox),
            stock=KitStockBook(db),
            calibrations=CalibrationBook(
                db, device.data_dir / "calibration",
                interval=timedelta(days=settings.station.calibration_interval_days)),
        )

    def close(self) -> None:
        self.db.close()
