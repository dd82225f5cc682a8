"""A new release's health check of itself (``nongan update selfcheck``), run by the guard.

It runs from the new release's own environment, with the kiosk service stopped (so it can take
the devices), and passes only if the new code can do a kiosk's work here:

- **version**: the code that runs is the release being checked;
- **database and catalogue**: the kiosk database opens (the new release's migrations apply)
  and the kit catalogue loads;
- **devices**: every configured device opens and reports healthy, and the reader board shakes
  hands and says which firmware it runs (the doctor's active checks);
- **a test reading**: with a simulated camera and reader, the calibration card is read
  through the whole calibration analysis (rendered by the strip simulator, lit by the
  simulated LED) and every check must pass; with a real camera, where nobody puts the card in
  the tray during an update, the empty tray is read at the LED level and at half of it (the
  light must follow the LED and be steady): the camera, the LED and the new capture and
  measuring code working together. Nothing is stored: the kiosk's calibration stands;
- **link**: the broker accepts the kiosk's connection (``update.require_link``).

Any failure is a fault, and the report says which check and why; the guard rolls back.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from device_drivers import DeviceError, SimulatedCamera, SimulatedReaderController

from ..devices import KioskDevices
from ..kits import KitCatalogueError, load_catalogue
from ..settings import GatewaySettings
from ..storage import KioskDatabase, StorageError
from ..technician.calibrate import analyse, capture
from ..technician.check_devices import device_checks
from ..technician.check_link import probe_broker
from ..technician.measure import CalibrationLimits, Finding, flicker, led_response, linear
from ..technician.report import Check, DoctorReport, Status
from ..technician.sim_cards import SimulatedCards
from .version import firmware_expected, software_version

AREA = "update"
EMPTY_TRAY_FRAMES = 3


def run_selfcheck(settings: GatewaySettings, *, expect_version: str | None = None,
                  check_link: bool | None = None) -> DoctorReport:
    """Check this release on this kiosk (blocking). ``report.status`` is FAULT on failure."""
    now = datetime.now(UTC)
    checks: list[Check] = []
    running = software_version()
    if expect_version is not None and running != expect_version:
        checks.append(Check(AREA, "version", Status.FAULT,
                            f"running {running}, expected {expect_version}"))
    else:
        checks.append(Check(AREA, "version", Status.OK, f"running {running}"))
    checks += _storage_checks(settings)
    devices: KioskDevices | None = None
    if settings.devices is None:
        checks.append(Check(AREA, "devices", Status.FAULT, "no devices configured"))
    else:
        data_dir = settings.device.data_dir
        devices = KioskDevices.from_config(settings.devices, lock_path=data_dir / "devices.lock")
        try:
            errors = devices.open_all()
            # A reader firmware other than the release's is a warning there, not a fault: the
            # firmware is flashed by its own command, and does not fail a release.
            checks += device_checks(devices, firmware_expected=firmware_expected(), active=True)
            if not errors:
                checks += card_reading(devices, settings)
        finally:
            devices.close_all()
    if check_link if check_link is not None else settings.update.require_link:
        link = probe_broker(settings.broker, f"{settings.device.id}-selfcheck", timeout_s=10.0)
        if link.status is not Status.OK:
            link = Check(link.area, link.name, Status.FAULT, link.detail, link.fix)
        checks.append(link)
    return DoctorReport(settings.device.id, now, checks,
                        [f"self-check of nongan {running}"])


def _storage_checks(settings: GatewaySettings) -> list[Check]:
    checks = []
    try:
        db = KioskDatabase.in_folder(settings.device.data_dir)
    except StorageError as exc:
        checks.append(Check(AREA, "database", Status.FAULT, str(exc)))
    else:
        db.close()
        checks.append(Check(AREA, "database", Status.OK, "opened and migrated"))
    try:
        catalogue = load_catalogue(settings.kits.catalogue)
    except KitCatalogueError as exc:
        checks.append(Check(AREA, "kit catalogue", Status.FAULT, str(exc)))
    else:
        checks.append(Check(AREA, "kit catalogue", Status.OK,
                            f"version {catalogue.version}, cut-offs {catalogue.limits_version}"))
    return checks


def card_reading(devices: KioskDevices, settings: GatewaySettings,
                 limits: CalibrationLimits | None = None) -> list[Check]:
    """The test reading (see the module's docstring); one check per measured figure."""
    limits = limits or CalibrationLimits()
    camera, reader = devices.camera, devices.reader
    led = settings.station.led_level
    try:
        if isinstance(camera, SimulatedCamera) and isinstance(reader, SimulatedReaderController):
            frames = capture(camera, reader, led_level=led,
                             place=SimulatedCards(camera, reader, led_level=led))
            findings, _, _ = analyse(frames, limits)
            what = "calibration card (simulated)"
        else:
            findings = empty_tray(devices, led, limits)
            what = "empty tray"
    except DeviceError as exc:
        return [Check(AREA, "test reading", Status.FAULT, f"the reading failed: {exc}",
                      exc.fix)]
    return [Check(AREA, f"{what}: {f.check}", Status.OK if f.passed else Status.FAULT,
                  f"{f.figure} (limit {f.limit})", f.problem or "") for f in findings]


def empty_tray(devices: KioskDevices, led: float, limits: CalibrationLimits) -> list[Finding]:
    """Read the empty tray at the LED level and at half of it: light follows LED, steadily."""
    camera, reader = devices.camera, devices.reader
    try:
        reader.close_tray()
        reader.set_led(led)
        full = camera.capture_burst(EMPTY_TRAY_FRAMES)
        reader.set_led(led / 2)
        half = camera.capture_burst(2)
    finally:
        with contextlib.suppress(DeviceError):
            reader.set_led(0.0)
        with contextlib.suppress(DeviceError):
            reader.open_tray()
    return [led_response(linear(full), linear(half), limits), flicker(full, limits)]
