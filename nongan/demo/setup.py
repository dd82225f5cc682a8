"""The demo acts as the station's technician once: kit boxes scanned into stock, the reader
calibrated — through the same paths a technician uses on a real kiosk.

Each kit with a usable lot in the catalogue gets one box: its label (the maker's GS1 code, raw
with GS separators as a scanner sends it, for kits whose catalogue entry lists a GTIN; the
nongan NGK1 label otherwise) is scanned through the kiosk's simulated scanner and registered
by ``gateway.kit_labels``. The reader is calibrated by ``gateway.technician.calibrate`` with
the rendered calibration card lit by the simulated reader's LED. A restart scans the same
labels again, which changes nothing (the boxes carry serials), and keeps a usable calibration.
"""

from __future__ import annotations

import asyncio

from gateway.kit_labels import format_gs1, format_local, parse_label, register_label
from gateway.technician.calibrate import CalibrationResult, calibrate
from gateway.technician.sim_cards import SimulatedCards
from gateway.testing import SimulatedKiosk

DEMO_BOX_STRIPS = 500


class DemoSetupError(Exception):
    """The demo's technician step failed (a refused box, a failed calibration)."""


def box_labels(kiosk: SimulatedKiosk) -> list[str]:
    """One label per kit with a usable lot: what the demo's kit boxes carry."""
    today = kiosk.settings.clock.today()
    catalogue = kiosk.catalogue
    labels = []
    for index, kit in enumerate(sorted(catalogue.kits.values(), key=lambda k: k.id)):
        lots = catalogue.usable_lots(kit.id, today)
        if not lots:
            continue
        lot, serial = lots[0], f"DEMO{index + 1:04d}"
        if kit.gtins:
            labels.append(format_gs1(kit.gtins[0], lot.lot, lot.expires_on,
                                     strips=DEMO_BOX_STRIPS, serial=serial))
        else:
            labels.append(format_local(kit.id, lot.lot, lot.expires_on, DEMO_BOX_STRIPS,
                                       serial))
    return labels


def stock_kits(kiosk: SimulatedKiosk) -> int:
    """Scan every demo box's label through the simulated scanner; returns boxes added."""
    today = kiosk.settings.clock.today()
    added = 0
    for label in box_labels(kiosk):
        # The kiosk's session reads the same scanner for producer cards: take it for the scan.
        with kiosk.scanner_lock:
            kiosk.scan(label)
            code = kiosk.scanner.read_code(timeout_s=1.0)
        if code is None:
            raise DemoSetupError(f"the simulated scanner lost the label {label!r}")
        registration = register_label(kiosk.books.stock, kiosk.catalogue, parse_label(code),
                                      today=today)
        added += registration.new
    return added


def calibrate_reader(kiosk: SimulatedKiosk) -> CalibrationResult:
    """``nongan calibrate``'s procedure on the demo kiosk's simulated camera and reader."""
    camera, reader = kiosk.camera, kiosk.reader
    station = kiosk.settings.station
    result = calibrate(camera, reader, kiosk.books.calibrations, reader_id=station.reader_id,
                       led_level=station.led_level,
                       place=SimulatedCards(camera, reader, led_level=station.led_level))
    if not result.passed:
        raise DemoSetupError("the demo reader's calibration failed: "
                             + "; ".join(result.problems))
    return result


async def prepare(kiosk: SimulatedKiosk) -> None:
    await asyncio.to_thread(stock_kits, kiosk)
    state = await asyncio.to_thread(kiosk.books.calibrations.current,
                                    kiosk.settings.station.reader_id)
    if not state.usable:
        await asyncio.to_thread(calibrate_reader, kiosk)
