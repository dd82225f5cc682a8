"""The reader calibration procedure (``nongan calibrate``): white card, LED, focus target.

The technician's calibration card is blank white on one side and carries black bars (the
focus target) on the other. The procedure, with the reader's LED at the station's level:

1. white side up in the tray: a burst at the LED level (flat field, white reference,
   exposure, clipping, flicker, uniformity, spots) and a short one at half the level (does
   the light follow the LED?);
2. bars up: a burst for the focus check.

The result is stored per reader with its date in the ``CalibrationBook`` — passed or failed,
with every figure and the problems in words — and the flat field of a pass is what the scorer
divides by. A failed calibration makes the reader unusable (the station refuses to test)
until a calibration passes. A device that fails mid-procedure stores nothing: the previous
calibration stands, and the error says what to fix.

Blocking (serial, camera, OpenCV): call it from a worker thread in async code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np

from device_drivers import Camera, DeviceError, ReaderController

from ..calibration import CalibrationBook
from ..scoring import FlatFieldError, make_flat_field
from . import measure
from .measure import CalibrationLimits, Finding

HALF_LEVEL_FRAMES = 2
FOCUS_FRAMES = 3


class Step(StrEnum):
    """What the technician is asked to do; ``place`` callbacks act on it."""

    WHITE_CARD = "white_card"
    FOCUS_TARGET = "focus_target"
    REMOVE_CARD = "remove_card"


INSTRUCTIONS = {
    Step.WHITE_CARD: "Put the calibration card in the tray, blank white side up.",
    Step.FOCUS_TARGET: "Turn the calibration card over: black bars up, in the middle.",
    Step.REMOVE_CARD: "Take the calibration card out of the tray.",
}

Place = Callable[[Step], None]


@dataclass(frozen=True)
class CalibrationResult:
    """One calibration attempt: the verdict, every check, and what is stored."""

    reader_id: str
    passed: bool
    findings: list[Finding]
    figures: dict[str, Any]
    performed_at: datetime
    flat_field: np.ndarray | None = field(default=None, repr=False)
    record_id: int | None = None

    @property
    def problems(self) -> list[str]:
        return [f.problem for f in self.findings if not f.passed and f.problem]


def capture(camera: Camera, reader: ReaderController, *, led_level: float, place: Place,
            white_frames: int | None = None) -> dict[str, list[np.ndarray]]:
    """Run the card through the reader and capture the bursts (no analysis).

    Raises:
        device_drivers.DeviceError: the camera or reader failed; the LED is switched off and
            the tray opened again whatever happens.
    """
    if not 0 < led_level <= 1:
        raise ValueError(f"LED level must be in (0, 1], not {led_level}")
    n_white = max(3, white_frames or camera.config.burst_size)
    try:
        reader.open_tray()
        place(Step.WHITE_CARD)
        reader.close_tray()
        reader.set_led(led_level)
        white = camera.capture_burst(n_white)
        reader.set_led(led_level / 2)
        half = camera.capture_burst(HALF_LEVEL_FRAMES)
        reader.set_led(0.0)
        reader.open_tray()
        place(Step.FOCUS_TARGET)
        reader.close_tray()
        reader.set_led(led_level)
        focus = camera.capture_burst(FOCUS_FRAMES)
    finally:
        with contextlib.suppress(DeviceError):
            reader.set_led(0.0)
        with contextlib.suppress(DeviceError):
            reader.open_tray()
    place(Step.REMOVE_CARD)
    return {"white": white, "half": half, "focus": focus}


def analyse(frames: dict[str, list[np.ndarray]], limits: CalibrationLimits
            ) -> tuple[list[Finding], np.ndarray | None, dict[str, Any]]:
    """Every check on the captured bursts; returns the findings, the flat field (None when
    it cannot be made) and the white reference."""
    white = measure.linear(frames["white"])
    half = measure.linear(frames["half"])
    findings = [*measure.exposure(white, limits), measure.led_response(white, half, limits),
                measure.flicker(frames["white"], limits)]
    # Uniformity and spots are judged on the card's own light map, so a light too uneven to
    # make a flat field from is still named for what it is.
    light_map = measure.light_map(white)
    findings += [measure.uniformity(light_map, limits), measure.spots(light_map, limits)]
    flat: np.ndarray | None = None
    try:
        flat = make_flat_field(frames["white"])
    except FlatFieldError as exc:
        if all(f.passed for f in findings):  # otherwise the failures above say why
            findings.append(Finding("flat field", False, None, "not made",
                                    "a usable white card",
                                    f"the white card's image cannot serve as a flat field "
                                    f"({exc}): check the card and the light"))
    findings.append(measure.focus(frames["focus"], limits))
    extra = {"white_reference_bgr": [round(v, 4) for v in measure.white_reference(white, limits)]}
    return findings, flat, extra


def calibrate(camera: Camera, reader: ReaderController, book: CalibrationBook, *,
              reader_id: str, led_level: float, place: Place = lambda step: None,
              limits: CalibrationLimits | None = None, white_frames: int | None = None,
              now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> CalibrationResult:
    """Calibrate one reader and store the result (passed or failed) in ``book``.

    Args:
        camera: the open camera over the tray.
        reader: the open reader controller (LED and tray).
        book: where calibrations are kept.
        reader_id: the reader's id (``station.reader_id``).
        led_level: the LED level tests use (``station.led_level``).
        place: called at each step for the person (or the simulation) to act on the card;
            it returns when the card is in place.
        limits: pass/fail thresholds.
        white_frames: frames of the white card (default: the camera's burst size, at least 3).
        now: the clock that dates the calibration.

    Raises:
        device_drivers.DeviceError: a device failed; nothing is stored.
    """
    limits = limits or CalibrationLimits()
    frames = capture(camera, reader, led_level=led_level, place=place,
                     white_frames=white_frames)
    findings, flat, extra = analyse(frames, limits)
    passed = all(f.passed for f in findings)
    performed_at = now()
    width, height = camera.resolution
    figures: dict[str, Any] = {
        "checks": [f.as_dict() for f in findings],
        **extra,
        "led_level": led_level,
        "frames": {name: len(burst) for name, burst in frames.items()},
        "camera": {"backend": camera.backend, "width": width, "height": height,
                   "exposure_us": camera.config.exposure_us, "gain": camera.config.gain},
        "reader": {"backend": reader.backend, "firmware": _firmware(reader)},
        "limits": limits.as_dict(),
    }
    problems = [f.problem for f in findings if not f.passed and f.problem]
    record_id = book.record(reader_id, passed=passed, figures=figures, problems=problems,
                            flat_field=flat if passed else None, performed_at=performed_at)
    return CalibrationResult(reader_id, passed, findings, figures, performed_at,
                             flat if passed else None, record_id)


def _firmware(reader: ReaderController) -> str | None:
    try:
        return reader.info.fw
    except DeviceError:
        return None
