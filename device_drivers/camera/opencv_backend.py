"""A USB (UVC) camera through OpenCV's V4L2 backend, with exposure, gain and white balance
fixed: auto exposure and auto white balance off, values from the configuration, checked by
reading them back.

Wiring: a UVC camera on the Pi's USB, looking down on the strip tray; ``device`` is its
/dev/videoN node (prefer a stable /dev/v4l/by-id/... path) or an index.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from device_drivers.camera.base import Camera, Frame
from device_drivers.config import CameraConfig
from device_drivers.errors import CameraSettingsError, DeviceAbsent
from device_drivers.health import Health, HealthState

# V4L2 through OpenCV: CAP_PROP_AUTO_EXPOSURE takes V4L2_EXPOSURE_MANUAL (1) or
# V4L2_EXPOSURE_APERTURE_PRIORITY (3); exposure_absolute counts 100 µs steps.
V4L2_EXPOSURE_MANUAL = 1
V4L2_EXPOSURE_UNIT_US = 100
COMPRESSED_FORMATS = frozenset({"MJPG", "JPEG"})


def fourcc_text(value: float) -> str:
    """The four characters of a V4L2 pixel format code as OpenCV reports it."""
    code = int(value)
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")

CaptureFactory = Callable[[Any, int], Any]


class OpenCVCamera(Camera):
    """A V4L2 camera with fixed settings.

    Args:
        config: ``backend="opencv"``.
        capture_factory: builds the capture (``cv2.VideoCapture``); a seam for tests.
    """

    backend = "opencv"

    def __init__(self, config: CameraConfig,
                 capture_factory: CaptureFactory = cv2.VideoCapture) -> None:
        super().__init__(config)
        self._factory = capture_factory
        self._cap: Any = None
        self.applied: dict[str, float] = {}
        self.pixel_format = ""  # as the camera reports it after opening

    def _open(self) -> None:
        cfg = self.config
        device = cfg.device
        if isinstance(device, str) and device.startswith("/dev/") and not Path(device).exists():
            raise DeviceAbsent(f"camera not found at {device}",
                               fix="check the camera's USB cable (ls /dev/video* "
                                   "/dev/v4l/by-id), or correct devices.camera.device")
        cap = self._factory(device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise DeviceAbsent(f"cannot open camera {device} (V4L2)",
                               fix="check the camera's USB cable and that no other program "
                                   "uses it")
        self._cap = cap
        try:
            self._apply_settings()
        except BaseException:
            self._close()
            raise

    def _apply_settings(self) -> None:
        cfg, cap = self.config, self._cap
        wanted = {
            # The pixel format first: V4L2 picks the frame sizes it offers in that format.
            cv2.CAP_PROP_FOURCC: cv2.VideoWriter.fourcc(*cfg.pixel_format),
            cv2.CAP_PROP_FRAME_WIDTH: cfg.width,
            cv2.CAP_PROP_FRAME_HEIGHT: cfg.height,
            cv2.CAP_PROP_BUFFERSIZE: 1,  # the newest frame, not one from before the LED changed
            cv2.CAP_PROP_AUTO_EXPOSURE: V4L2_EXPOSURE_MANUAL,
            cv2.CAP_PROP_EXPOSURE: self.exposure_us / V4L2_EXPOSURE_UNIT_US,
            cv2.CAP_PROP_GAIN: cfg.gain,
            cv2.CAP_PROP_AUTO_WB: 0,
            cv2.CAP_PROP_WB_TEMPERATURE: cfg.white_balance_k,
        }
        for prop, value in wanted.items():
            cap.set(prop, value)
        got = {
            "width": cap.get(cv2.CAP_PROP_FRAME_WIDTH),
            "height": cap.get(cv2.CAP_PROP_FRAME_HEIGHT),
            "auto_exposure": cap.get(cv2.CAP_PROP_AUTO_EXPOSURE),
            "exposure_us": cap.get(cv2.CAP_PROP_EXPOSURE) * V4L2_EXPOSURE_UNIT_US,
            "gain": cap.get(cv2.CAP_PROP_GAIN),
            "auto_wb": cap.get(cv2.CAP_PROP_AUTO_WB),
            "wb_temperature_k": cap.get(cv2.CAP_PROP_WB_TEMPERATURE),
        }
        self.applied = got
        self.pixel_format = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        if (int(got["width"]), int(got["height"])) != (cfg.width, cfg.height):
            raise CameraSettingsError(
                f"camera {cfg.device} gives {int(got['width'])}x{int(got['height'])} in "
                f"{self.pixel_format or cfg.pixel_format}, the configuration asks for "
                f"{cfg.width}x{cfg.height}",
                fix="set devices.camera width/height to a size the camera supports in that "
                    "pixel format (v4l2-ctl --list-formats-ext), or set "
                    "devices.camera.pixel_format to MJPG if it offers the size only as JPEG")
        if not self.config.strict_controls:
            return
        refused = []
        if int(got["auto_exposure"]) != V4L2_EXPOSURE_MANUAL:
            refused.append("auto exposure stays on")
        if int(got["auto_wb"]) != 0:
            refused.append("auto white balance stays on")
        if abs(got["exposure_us"] - self.exposure_us) > V4L2_EXPOSURE_UNIT_US:
            refused.append(f"exposure is {got['exposure_us']:.0f} µs, not {self.exposure_us}")
        if refused:
            raise CameraSettingsError(
                f"camera {cfg.device} will not hold fixed settings: {'; '.join(refused)}",
                fix="use a UVC camera with manual exposure and white balance (check with "
                    "v4l2-ctl --list-ctrls); readings from auto settings are not comparable")

    def _apply_exposure(self) -> None:
        cap = self._cap
        cap.set(cv2.CAP_PROP_EXPOSURE, self.exposure_us / V4L2_EXPOSURE_UNIT_US)
        got = cap.get(cv2.CAP_PROP_EXPOSURE) * V4L2_EXPOSURE_UNIT_US
        self.applied["exposure_us"] = got
        if self.config.strict_controls and abs(got - self.exposure_us) > V4L2_EXPOSURE_UNIT_US:
            raise CameraSettingsError(
                f"camera {self.config.device} will not change its exposure to "
                f"{self.exposure_us} µs (it reports {got:.0f} µs)",
                fix="use a UVC camera with manual exposure (v4l2-ctl --list-ctrls)")

    @property
    def lossless(self) -> bool:
        """Uncompressed frames: the camera reported a pixel format, and not a JPEG one (a
        camera that reports none is taken as compressed: the cautious reading)."""
        return bool(self.pixel_format) and self.pixel_format not in COMPRESSED_FORMATS

    def health(self) -> Health:
        """As every camera's, and a fault when the frames come compressed: on JPEG colours
        veil glare over a line cannot be told from a clean strip (docs/scoring.md), so the
        kiosk does not test with such a camera."""
        health = super().health()
        if health.ok and not self.lossless:
            return Health("camera", self.backend, HealthState.FAULT,
                          f"{self.name} sends compressed frames "
                          f"({self.pixel_format or 'format not reported'}): readings from "
                          "JPEG frames are not certified",
                          fix='set devices.camera.pixel_format = "YUYV" and a width/height '
                              "the camera offers uncompressed (v4l2-ctl --list-formats-ext)")
        return health

    def _close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()

    def _read(self) -> Frame | None:
        if self._cap is None:
            return None
        ok, frame = self._cap.read()
        return frame if ok else None
