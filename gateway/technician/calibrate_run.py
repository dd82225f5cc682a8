"""``nongan calibrate`` on a kiosk: open the camera and reader, guide the technician, store and
print the result.

With real devices the device lock is taken first (the kiosk service must be stopped: it drives
the same camera and board). With a simulated camera and reader — the demo's configuration —
this process opens its own simulated devices and shows them the rendered calibration card
(``sim_cards``), saying so; the result goes into the same kiosk database and calibration
folder the running demo reads, so its next test uses the new calibration.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta

from device_drivers import DeviceError, SimulatedCamera, SimulatedReaderController

from ..calibration import CalibrationBook
from ..devices import KioskDevices
from ..settings import GatewaySettings
from ..storage import KioskDatabase
from .calibrate import INSTRUCTIONS, Place, Step, calibrate
from .render import console, print_calibration
from .sim_cards import SimulatedCards


def prompt_place(ask: Callable[[str], str] = input) -> Place:
    """A ``place`` callback that tells the technician what to do and waits for Enter."""

    def place(step: Step) -> None:
        if step is Step.REMOVE_CARD:
            print(INSTRUCTIONS[step])
            return
        try:
            ask(f"{INSTRUCTIONS[step]} Then press Enter. ")
        except EOFError:
            raise DeviceError("nobody can answer: the command's input is closed",
                              fix="run it in a terminal, or pass --yes when a fixture "
                                  "places the card") from None

    return place


def announce(place: Place) -> Place:
    def say(step: Step) -> None:
        print(f"- {INSTRUCTIONS[step]}")
        place(step)

    return say


def run_calibrate(settings: GatewaySettings, *, assume_yes: bool = False,
                  as_json: bool = False) -> int:
    """Calibrate the kiosk's reader; returns the exit code (0 passed, 1 failed).

    Raises:
        device_drivers.DeviceError: the camera or reader is missing, busy or failed.
    """
    if settings.devices is None:
        raise DeviceError("no devices are configured in this settings file",
                          fix="add [devices.camera] and [devices.reader] sections")
    data_dir = settings.device.data_dir
    devices = KioskDevices.from_config(settings.devices, lock_path=data_dir / "devices.lock")
    errors = devices.open_all(only=("camera", "reader"))
    db: KioskDatabase | None = None
    try:
        if errors:
            name, message = next(iter(errors.items()))
            raise DeviceError(f"the {name} did not open: {message}",
                              fix="see nongan doctor for the device's state and fix")
        camera, reader = devices.camera, devices.reader
        station = settings.station
        if isinstance(camera, SimulatedCamera):
            if not isinstance(reader, SimulatedReaderController):
                raise DeviceError("a simulated camera with a real reader board cannot be "
                                  "calibrated", fix="simulate both, or neither")
            print("simulated camera and reader (this process's own): the calibration card is "
                  "rendered by the strip simulator", file=sys.stderr if as_json else sys.stdout)
            place: Place = SimulatedCards(camera, reader, led_level=station.led_level)
        elif assume_yes:
            place = lambda step: None  # noqa: E731 - a fixture places the card
        else:
            place = prompt_place()
        if not as_json:
            print(f"calibrating reader {station.reader_id}: {camera.name}, LED level "
                  f"{station.led_level:.2f}")
            place = announce(place)
        db = KioskDatabase.in_folder(data_dir)
        book = CalibrationBook(db, data_dir / "calibration",
                               interval=_interval(settings))
        result = calibrate(camera, reader, book, reader_id=station.reader_id,
                           led_level=station.led_level, place=place)
    finally:
        devices.close_all()
        if db is not None:
            db.close()
    due = result.performed_at + _interval(settings)
    if as_json:
        print(json.dumps({"reader_id": result.reader_id, "passed": result.passed,
                          "performed_at": result.performed_at.isoformat(),
                          "next_due": f"{due:%Y-%m-%d}", "problems": result.problems,
                          "figures": result.figures}, indent=2, ensure_ascii=False))
    else:
        print_calibration(result, console(), next_due=f"{due:%Y-%m-%d}")
    return 0 if result.passed else 1


def _interval(settings: GatewaySettings) -> timedelta:
    return timedelta(days=settings.station.calibration_interval_days)
