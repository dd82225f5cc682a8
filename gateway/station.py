"""The strip station: one test of one cassette, from "insert the strip" to recorded readings.

``StripStation.readiness`` says whether a kit can be tested now and, if not, why (no stock,
expired, exhausted, calibration overdue or failed, a device fault) in words a person can act
on. ``StripStation.run`` takes a strip from stock, waits for the cassette, holds it in the tray
for the kit's incubation time (reporting a countdown), captures a burst, scores every window
the test needs (OpenCV off the event loop), saves the first frame as the strip image and
records one reading per window in the ledger. The tray is opened again whatever happens.
A burst the scorer would refuse for its exposure is taken again, darker or brighter
(``gateway.scoring.exposure_advice``), while the cassette is still lit in the closed tray.

Everything blocking (serial, camera, OpenCV, SQLite) runs in ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from device_drivers import Camera, CameraSettingsError, DeviceError, ReaderController
from protocol import StripReading

from .calibration import CalibrationBook
from .clock import KioskClock
from .errors import StationError
from .health_watch import DiskGuard, fault_message
from .kit_stock import KitStockBook, KitUnavailable, TakenStrip
from .kits import Catalogue, Kit, UnknownCodeError
from .readings import ReadingBook, RecordedReading
from .scoring import ScoreResult, ScoringError, exposure_advice, score_windows
from .settings import StationSection

log = logging.getLogger(__name__)

RECAPTURES = 2  # bursts taken again at the advised exposure before the scorer refuses one


class Phase(StrEnum):
    INSERT = "insert"          # waiting for the cassette in the tray
    INCUBATING = "incubating"  # the tray holds it for the kit's time
    CAPTURING = "capturing"
    SCORING = "scoring"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Phase
    remaining_s: float | None = None
    total_s: float | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a test cannot start: a stable code (for the screen's catalogue), the detail, and
    the kit it concerns (None for the kiosk's own refusals: calibration, devices, disk)."""

    code: str  # no_stock, expired, exhausted, unknown_lot, calibration_*, device_fault, disk_full
    detail: str
    kit_id: str | None = None


class StationRefused(StationError):
    """The kit, the calibration or a device stops the test (``refusals`` say which)."""

    code = "refused"
    translation_key = "error.refused"

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        super().__init__("; ".join(r.detail for r in refusals))
        self.refusals = list(refusals)


class CassetteTimeout(StationError, TimeoutError):
    """Nobody put a cassette in the tray in time (the strip was already taken from stock)."""

    code = "no_cassette"
    translation_key = "error.no_cassette"


@dataclass(frozen=True, slots=True)
class TestRequest:
    __test__ = False  # not a pytest class

    kit_id: str
    analytes: Sequence[str]
    product_code: str
    session_id: str | None = None
    producer_id: str | None = None
    attempt: int = 1
    operator: str = "self"


@dataclass(frozen=True)
class StationResult:
    readings: list[RecordedReading]
    scores: list[ScoreResult]
    image_path: Path | None


ProgressCallback = Callable[[Progress], None]


class StripStation:
    def __init__(
        self,
        *,
        settings: StationSection,
        catalogue: Catalogue,
        camera: Camera,
        reader: ReaderController,
        stock: KitStockBook,
        calibrations: CalibrationBook,
        readings: ReadingBook,
        clock: KioskClock,
        images_dir: Path,
        timezone: ZoneInfo,
        disk: DiskGuard | None = None,
    ) -> None:
        self.settings = settings
        self.timezone = timezone  # kit expiry dates are days where the kiosk stands
        self.catalogue = catalogue
        self.camera = camera
        self.reader = reader
        self.stock = stock
        self.calibrations = calibrations
        self.readings = readings
        self.clock = clock
        self.images_dir = images_dir
        self.disk = disk

    def _today(self) -> date:
        return self.clock.today(self.timezone)

    # ------------------------------------------------------------------ readiness

    def readiness(self, kit_id: str) -> list[Refusal]:
        """Everything that stops a test of this kit now (empty: ready). Blocking."""
        refusals: list[Refusal] = []
        if self.disk is not None and (reason := self.disk.refusal()) is not None:
            refusals.append(Refusal("disk_full", reason))
        try:
            strip = self.stock.check(kit_id, self._today())
        except KitUnavailable as exc:
            refusals.append(Refusal(exc.code, str(exc), kit_id))
        else:
            try:
                self.catalogue.kit(kit_id, strip.lot)
            except UnknownCodeError as exc:
                refusals.append(Refusal("unknown_lot", str(exc), kit_id))
        calibration = self.calibrations.current(self.settings.reader_id, load_flat_field=False)
        if not calibration.usable:
            detail = {
                "none": "the reader has never been calibrated",
                "overdue": f"the reader's calibration of {calibration.calibrated_at:%Y-%m-%d} "
                           "is overdue" if calibration.calibrated_at else "overdue",
                "failed": "the reader's last calibration failed: "
                          + "; ".join(calibration.problems),
            }.get(calibration.state, calibration.state)
            refusals.append(Refusal(f"calibration_{calibration.state}", detail))
        for device in (self.camera, self.reader):
            health = device.health()
            if not health.ok:
                refusals.append(Refusal("device_fault", fault_message(health)))
        return refusals

    # ------------------------------------------------------------------ one test

    async def run(self, request: TestRequest, progress: ProgressCallback | None = None, *,
                  cassette_deadline: Callable[[], float] | None = None) -> StationResult:
        """Run one cassette through the reader and record its readings.

        Args:
            request: what to test.
            progress: called on the event loop at each phase and each second of incubation.
            cassette_deadline: read at each poll while waiting for the cassette, the loop time
                after which to give up (so the kiosk's session can extend the wait when the
                person asks for more time); default ``cassette_timeout_s`` from the start.

        Raises:
            StationRefused: the kit, the calibration or a device stops the test.
            CassetteTimeout: no cassette arrived within the configured time.
            device_drivers.DeviceError: a device failed mid-test (the strip is spent).
            gateway.scoring.ScoringError: the frames could not be scored at all.
        """
        report = progress or (lambda p: None)
        refusals = await asyncio.to_thread(self.readiness, request.kit_id)
        if refusals:
            raise StationRefused(refusals)
        try:
            strip = await asyncio.to_thread(
                self.stock.take_strip, request.kit_id, self._today(),
                session_id=request.session_id, purpose=f"test attempt {request.attempt}",
            )
        except KitUnavailable as exc:  # taken by someone else since readiness
            raise StationRefused([Refusal(exc.code, str(exc), request.kit_id)]) from exc
        kit = self.catalogue.kit(request.kit_id, strip.lot)
        try:
            frames, temperature = await self._cycle(kit, report, cassette_deadline)
        finally:
            with contextlib.suppress(DeviceError):
                await asyncio.to_thread(self.reader.set_led, 0.0)
                await asyncio.to_thread(self.reader.open_tray)
        # The calibration as it stands when the frames were taken: one that went overdue or
        # failed during the incubation is what the readings must carry (and flag).
        calibration = await asyncio.to_thread(self.calibrations.current,
                                              self.settings.reader_id)
        report(Progress(Phase.SCORING))
        windows = [i for i, analyte in enumerate(kit.analytes) if analyte in request.analytes]
        if not windows:
            raise StationRefused([Refusal("kit_mismatch",
                                          f"kit {kit.id} tests none of {list(request.analytes)}",
                                          kit.id)])
        scores = await asyncio.to_thread(
            score_windows, frames, kit, windows=windows, flat_field=calibration.flat_field,
            expected_size=self.camera.resolution, lossless=self.camera.lossless,
        )
        image_path = await asyncio.to_thread(self._save_image, frames[0],
                                             scores[0].frames_sha256[0])
        recorded = []
        for result in scores:
            reading = self._reading(request, kit, strip, result, calibration.state,
                                    calibration.calibrated_at, temperature)
            recorded.append(await asyncio.to_thread(self.readings.record, reading))
        report(Progress(Phase.DONE))
        return StationResult(recorded, scores, image_path)

    async def _cycle(self, kit: Kit, report: ProgressCallback,
                     cassette_deadline: Callable[[], float] | None = None
                     ) -> tuple[list[np.ndarray], float | None]:
        """Wait for the cassette, hold and incubate it, light it and capture a burst."""
        report(Progress(Phase.INSERT))
        await asyncio.to_thread(self.reader.open_tray)
        started = asyncio.get_running_loop().time()
        fixed = started + self.settings.cassette_timeout_s
        while not await asyncio.to_thread(self.reader.wait_for_cassette, True, 0.5):
            now = asyncio.get_running_loop().time()
            if now > (cassette_deadline() if cassette_deadline is not None else fixed):
                raise CassetteTimeout(f"no cassette in the tray after {now - started:.0f} s")
        await asyncio.to_thread(self.reader.close_tray)
        if self.settings.incubation_temperature_c is not None:
            await asyncio.to_thread(self.reader.set_heater,
                                    self.settings.incubation_temperature_c)
        incubation = kit.incubation_s * self.settings.incubation_time_scale
        loop = asyncio.get_running_loop()
        end = loop.time() + incubation
        while (remaining := end - loop.time()) > 0:
            report(Progress(Phase.INCUBATING, remaining, incubation))
            await asyncio.sleep(min(1.0, remaining))
        report(Progress(Phase.CAPTURING))
        await asyncio.to_thread(self.reader.set_led, self.settings.led_level)
        frames = await asyncio.to_thread(self.camera.capture_burst)
        frames = await self._with_headroom(kit, frames)
        temperature = await asyncio.to_thread(lambda: self.reader.temperature_c)
        if self.settings.incubation_temperature_c is not None:
            await asyncio.to_thread(self.reader.set_heater, None)
        return frames, temperature

    async def _with_headroom(self, kit: Kit, frames: list[np.ndarray]) -> list[np.ndarray]:
        """The burst, or one taken again at the exposure the scorer advises when it would
        refuse this one as over- or under-exposed (the camera's exposure is restored after).
        A camera that cannot change its exposure keeps the burst it took."""
        camera = self.camera
        try:
            for _ in range(RECAPTURES):
                scale = await asyncio.to_thread(exposure_advice, frames, kit,
                                                expected_size=camera.resolution)
                if scale is None:
                    break
                target = camera.exposure_scale * scale
                try:
                    await asyncio.to_thread(camera.set_exposure_scale, target)
                except (CameraSettingsError, ValueError) as exc:
                    log.warning("burst badly exposed, but the exposure cannot change: %s", exc)
                    break
                log.info("burst badly exposed: taking it again at %.2f x the exposure", target)
                frames = await asyncio.to_thread(camera.capture_burst)
        except ScoringError:
            pass  # frames the scorer cannot read at all: the reading says so
        finally:
            if camera.exposure_scale != 1.0:
                try:
                    await asyncio.to_thread(camera.set_exposure_scale, 1.0)
                except DeviceError as exc:
                    log.error("could not restore the camera's exposure: %s", exc)
        return frames

    def _save_image(self, frame: np.ndarray, sha256: str) -> Path:
        """Keep the strip image, named by its frame hash (which every reading carries)."""
        self.images_dir.mkdir(parents=True, exist_ok=True)
        path = self.images_dir / f"{sha256}.png"
        if not cv2.imwrite(str(path), frame):
            raise OSError(f"could not write the strip image {path}")
        return path

    def _reading(self, request: TestRequest, kit: Kit, strip: TakenStrip, result: ScoreResult,
                 calibration_state: str, calibrated_at: datetime | None,
                 temperature: float | None) -> StripReading:
        return StripReading.model_validate({
            **result.reading_fields(),
            "reading_id": uuid.uuid4().hex,
            "session_id": request.session_id,
            "producer_id": request.producer_id,
            "product_code": request.product_code,
            "analyte_code": kit.analytes[result.window],
            "kit_id": kit.id,
            "kit_lot": strip.lot,
            "kit_expires_on": strip.expires_on,
            "attempt": request.attempt,
            "reader_id": self.settings.reader_id,
            "calibration": {"state": calibration_state, "calibrated_at": calibrated_at},
            "temperature_c": temperature,
            "operator": request.operator,
            "scored_at": self.clock.now().time,
        })


__all__ = [
    "CassetteTimeout",
    "Phase",
    "Progress",
    "Refusal",
    "ScoringError",
    "StationRefused",
    "StationResult",
    "StripStation",
    "TestRequest",
]
