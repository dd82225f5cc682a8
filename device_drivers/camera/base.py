"""The strip camera interface: fixed-settings frames and bursts, each frame checked.

A backend implements ``_open``, ``_close`` and ``_read`` (one raw frame, or None when the device
stopped delivering: unplugged, driver error), and ``_apply_exposure`` if it can change its
exposure time while open. This class adds what every backend needs: warm-up frames thrown away
after opening, a validity check on every frame (right size, not black), retries of a bad frame,
and one reopen when the camera vanishes mid-burst — after which the burst starts again, because
frames of one burst must come from one uninterrupted session.

The exposure stays fixed (the reading is quantitative), with one exception the kiosk makes:
:meth:`Camera.set_exposure_scale` re-takes a burst at a chosen multiple of the configured
exposure when the scorer found the first one over- or under-exposed (``exposure_advice``).
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from typing import Self

import numpy as np

from device_drivers.config import CameraConfig
from device_drivers.errors import CameraError, CameraSettingsError, DeviceAbsent, DeviceError
from device_drivers.health import Health
from device_drivers.lifecycle import OpenClose

log = logging.getLogger(__name__)

Frame = np.ndarray  # BGR, uint8, shape (height, width, 3)
EXPOSURE_SCALES = (0.1, 4.0)  # the range set_exposure_scale accepts


def frame_problem(frame: object, width: int, height: int, black_level: int) -> str | None:
    """Why a frame is unusable, or None when it is fine.

    Args:
        frame: what the backend returned.
        width: expected width in pixels.
        height: expected height in pixels.
        black_level: a frame whose brightest pixel is at or below this is black.
    """
    if not isinstance(frame, np.ndarray):
        return f"not an image ({type(frame).__name__})"
    if frame.dtype != np.uint8:
        return f"pixels are {frame.dtype}, not uint8"
    if frame.shape != (height, width, 3):
        return f"frame is {_shape(frame)}, expected {width}x{height} BGR"
    brightest = int(frame.max())
    if brightest <= black_level:
        return f"frame is black (brightest pixel {brightest} <= {black_level})"
    return None


def _shape(frame: np.ndarray) -> str:
    if frame.ndim == 3:
        return f"{frame.shape[1]}x{frame.shape[0]}x{frame.shape[2]}"
    if frame.ndim == 2:
        return f"{frame.shape[1]}x{frame.shape[0]} grey"
    return "x".join(str(n) for n in frame.shape)


def average(frames: list[Frame]) -> np.ndarray:
    """The per-pixel mean of a burst as float32 (for flat-field and white references)."""
    if not frames:
        raise ValueError("no frames to average")
    return np.asarray(np.mean(np.stack(frames), axis=0, dtype=np.float32))


class Camera(OpenClose):
    """The camera over the strip tray. Open it (or use ``with``) before capturing."""

    backend: str = "?"

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        # One thread at a time talks to the device: health checks (health watch, telemetry,
        # readiness) run in worker threads and may overlap a burst, and capture libraries
        # (OpenCV's VideoCapture) are not thread-safe. Reentrant: a burst reopens the camera.
        self._io_lock = threading.RLock()
        self._exposure_scale = 1.0

    # -- backend seam ------------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> None:
        """Open the device with fixed settings; raise DeviceAbsent or CameraSettingsError."""

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _read(self) -> Frame | None:
        """One frame as delivered, or None when the device stopped delivering."""

    def _apply_exposure(self) -> None:
        """Give the open device the exposure time :attr:`exposure_us`; raise
        CameraSettingsError if it will not take it. This default: it cannot."""
        raise CameraSettingsError(f"{self.name} cannot change its exposure time",
                                  fix="use a camera backend with exposure control")

    @property
    def name(self) -> str:
        """How the technician knows this camera (its device path or index)."""
        return f"{self.backend} camera {self.config.device}"

    # -- exposure ----------------------------------------------------------------------------

    @property
    def exposure_scale(self) -> float:
        """The exposure now, as a multiple of the configured one (1.0 unless re-capturing)."""
        return self._exposure_scale

    @property
    def exposure_us(self) -> int:
        """The exposure time frames are taken with now, in microseconds."""
        return max(1, round(self.config.exposure_us * self._exposure_scale))

    def set_exposure_scale(self, scale: float) -> None:
        """Take the following frames at ``scale`` times the configured exposure (1.0 restores
        it); the frames already in flight are thrown away, as after opening.

        Raises:
            ValueError: ``scale`` outside ``EXPOSURE_SCALES``.
            CameraSettingsError: the camera would not take the new exposure (the old one
                stays).
        """
        low, high = EXPOSURE_SCALES
        if not low <= scale <= high:
            raise ValueError(f"exposure scale {scale} is outside {low}-{high}")
        with self._io_lock:
            previous, self._exposure_scale = self._exposure_scale, float(scale)
            if not self._opened or scale == previous:
                return  # applied when the camera opens
            try:
                self._apply_exposure()
            except BaseException:
                self._exposure_scale = previous
                raise
            for _ in range(self.config.warmup_frames):  # exposed with the old time
                if self._read() is None:
                    break

    # -- life cycle --------------------------------------------------------------------------

    def open(self) -> Self:
        with self._io_lock:
            return super().open()

    def close(self) -> None:
        with self._io_lock:
            super().close()

    def _after_open(self) -> None:
        for _ in range(self.config.warmup_frames):
            if self._read() is None:
                raise DeviceAbsent(f"{self.name} opened but delivers no frames",
                                   fix="check the camera's USB cable and that no other program "
                                       "uses it")

    @property
    def lossless(self) -> bool:
        """Whether frames reach us without lossy compression, so the scorer may trust their
        colours pixel by pixel (``gateway.scoring.score(..., lossless=...)``). False unless a
        backend knows better."""
        return False

    @property
    def resolution(self) -> tuple[int, int]:
        """Width and height of every frame, in pixels."""
        return self.config.width, self.config.height

    # -- capture -----------------------------------------------------------------------------

    def capture(self) -> Frame:
        """One checked frame."""
        return self.capture_burst(1)[0]

    def capture_burst(self, count: int | None = None) -> list[Frame]:
        """``count`` checked frames in a row (default: the configured burst size).

        Raises:
            DeviceAbsent: the camera stopped delivering and did not come back on reopening.
            CameraError: a frame stayed invalid (black, wrong size) after the retries.
        """
        with self._io_lock:
            if not self._opened:
                raise DeviceError(f"{self.name} is not open", fix="call open() first")
            n = self.config.burst_size if count is None else count
            if n < 1:
                raise ValueError("a burst has at least one frame")
            try:
                return self._burst(n)
            except _Lost as lost:
                log.warning("%s stopped after %d of %d frames; reopening once", self.name,
                            lost.got, n)
                self._reopen(lost.got, n)
            try:
                return self._burst(n)
            except _Lost as lost:
                raise self._lost_error(lost.got, n) from None

    def _burst(self, n: int) -> list[Frame]:
        frames: list[Frame] = []
        for index in range(n):
            frames.append(self._checked_frame(index, n, len(frames)))
        return frames

    def _checked_frame(self, index: int, n: int, got: int) -> Frame:
        cfg = self.config
        problem = ""
        for _attempt in range(cfg.frame_retries + 1):
            frame = self._read()
            if frame is None:
                raise _Lost(got)
            found = frame_problem(frame, cfg.width, cfg.height, cfg.black_level)
            if found is None:
                return frame
            problem = found
            log.info("%s: frame %d of %d rejected: %s", self.name, index + 1, n, problem)
        fix = ("check that the LED light is on and nothing covers the lens"
               if "black" in problem else
               "set devices.camera width/height to a size this camera delivers")
        raise CameraError(f"{self.name}: frame {index + 1} of {n} unusable after "
                          f"{cfg.frame_retries + 1} tries: {problem}", fix=fix)

    def _reopen(self, got: int, n: int) -> None:
        self._close()
        self._opened = False
        try:
            self.open()
        except DeviceError:
            raise self._lost_error(got, n) from None

    def _lost_error(self, got: int, n: int) -> DeviceAbsent:
        return DeviceAbsent(
            f"{self.name} stopped delivering frames after {got} of {n} (unplugged?)",
            fix="check the camera's USB cable, then test again",
        )

    # -- health ------------------------------------------------------------------------------

    def health(self) -> Health:
        """Open if needed, capture one frame, report the state and what to do."""
        with self._io_lock:
            opened_here = not self._opened
            try:
                if opened_here:
                    self.open()
                frame = self.capture()
            except DeviceError as exc:
                return Health.from_error("camera", self.backend, exc)
            finally:
                if opened_here:
                    self.close()
            lossless = self.lossless  # known once the camera has been opened
        w, h = self.resolution
        frames = "uncompressed" if lossless else "compressed (read from green alone)"
        detail = (f"{w}x{h} {frames}, mean level {float(frame.mean()):.0f}, exposure "
                  f"{self.exposure_us} µs, gain {self.config.gain:g}")
        return Health.usable("camera", self.backend, detail)


class _Lost(Exception):
    def __init__(self, got: int) -> None:
        super().__init__(got)
        self.got = got
