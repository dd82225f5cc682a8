"""A simulated camera for the demo and tests: it shows whatever scene it is given.

``show(scene)`` takes a BGR uint8 image, or a callable ``(frame_index) -> image`` — the strip
scene simulator (``device_drivers.strip_sim.render_scene(spec, frame_index=...)``) plugs in
through the callable, so every frame of a burst can carry fresh noise. ``frame_index`` counts
the frames rendered since ``show`` (warm-up and retried frames included).

Exposure: a scene shown with ``exposure_aware=True`` is a callable
``(frame_index, exposure_scale) -> image`` that renders itself at the camera's current
exposure (the strip simulator does, exactly); any other scene is re-exposed here, in linear
light, when the kiosk changes the exposure (an approximation: what the image clipped stays
clipped).

Faults for tests: :meth:`unplug` / :meth:`replug`, :meth:`unplug_after` (the cable comes out
mid-burst) and :meth:`black_frames`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from device_drivers.camera.base import Camera, Frame
from device_drivers.config import CameraConfig
from device_drivers.errors import CameraError, DeviceAbsent
from device_drivers.health import Health, HealthState

Scene = np.ndarray | Callable[[int], np.ndarray] | Callable[[int, float], np.ndarray]


def _srgb_luts() -> tuple[np.ndarray, np.ndarray]:
    v = np.arange(256, dtype=np.float64) / 255.0
    linear = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    x = np.linspace(0.0, 1.0, 4096)
    encode = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return linear, np.clip(np.round(encode * 255), 0, 255).astype(np.uint8)


_TO_LINEAR, _TO_SRGB = _srgb_luts()


def reexpose(frame: np.ndarray, scale: float) -> np.ndarray:
    """An 8-bit sRGB frame as if taken with ``scale`` times the exposure (linear light)."""
    linear = np.clip(_TO_LINEAR[frame] * scale, 0.0, 1.0)
    return _TO_SRGB[np.round(linear * (_TO_SRGB.size - 1)).astype(np.intp)]


class SimulatedCamera(Camera):
    """A camera that exists only in memory; its health says "simulated"."""

    backend = "simulated"

    def __init__(self, config: CameraConfig) -> None:
        super().__init__(config)
        self._lock = threading.Lock()
        self._scene: Scene | None = None
        self._lossless = False
        self._exposure_aware = False
        self.frame_index = 0
        self.frames_delivered = 0
        self._plugged = True
        self._unplug_in: int | None = None
        self._replug_after: int | None = None
        self._black = 0

    @property
    def name(self) -> str:
        return "simulated camera"

    # -- drivers for tests and the demo ------------------------------------------------------

    def show(self, scene: Scene, *, lossless: bool = False, exposure_aware: bool = False
             ) -> None:
        """Put a scene in front of the camera (an image or a frame_index -> image callable);
        ``lossless`` says its frames never went through JPEG (a strip_sim scene with
        ``jpeg_quality=None``), as a real camera's backend would know; ``exposure_aware``
        says the callable takes the exposure scale too and renders at it."""
        if exposure_aware and not callable(scene):
            raise ValueError("an exposure-aware scene is a (frame_index, exposure) callable")
        with self._lock:
            self._scene = scene
            self._lossless = lossless
            self._exposure_aware = exposure_aware
            self.frame_index = 0

    @property
    def lossless(self) -> bool:
        with self._lock:
            return self._lossless

    def unplug(self) -> None:
        with self._lock:
            self._plugged = False

    def replug(self) -> None:
        with self._lock:
            self._plugged = True
            self._unplug_in = None
            self._replug_after = None

    def unplug_after(self, frames: int, replug_after: int | None = None) -> None:
        """The cable comes out after ``frames`` more frames; with ``replug_after``, it is back
        after that many failed reads (a glitch), otherwise it stays out."""
        with self._lock:
            self._unplug_in = frames
            self._replug_after = replug_after

    def black_frames(self, count: int) -> None:
        """The next ``count`` frames are black (LED off, lid open, sensor fault)."""
        with self._lock:
            self._black = count

    # -- backend seam ------------------------------------------------------------------------

    def _open(self) -> None:
        if not self._plugged:
            raise DeviceAbsent("simulated camera is unplugged", fix="replug() it")

    def _close(self) -> None:
        pass

    def _apply_exposure(self) -> None:
        pass  # the next frames are rendered (or re-exposed) at exposure_scale

    def _read(self) -> Frame | None:
        with self._lock:
            if self._unplug_in is not None:
                if self._unplug_in == 0:
                    self._plugged = False
                    self._unplug_in = None
                else:
                    self._unplug_in -= 1
            if not self._plugged:
                if self._replug_after is not None:
                    self._replug_after -= 1
                    if self._replug_after <= 0:
                        self._plugged = True
                        self._replug_after = None
                return None
            scene = self._scene
            index = self.frame_index
            self.frame_index += 1
            black = self._black > 0
            if black:
                self._black -= 1
            aware = self._exposure_aware
        if scene is None:
            raise CameraError("the simulated camera has no scene to show",
                              fix="call show(scene) before capturing")
        scale = self.exposure_scale
        if aware:
            frame = scene(index, scale)  # type: ignore[call-arg,operator]
        else:
            frame = scene(index) if callable(scene) else scene  # type: ignore[call-arg]
            if scale != 1.0:
                frame = reexpose(frame, scale)
        self.frames_delivered += 1
        if black:
            return np.zeros_like(frame)
        return frame.copy()

    def health(self) -> Health:
        if self._scene is None and self._plugged:
            return Health("camera", self.backend, HealthState.SIMULATED,
                          "simulated camera, no scene shown yet")
        return super().health()
