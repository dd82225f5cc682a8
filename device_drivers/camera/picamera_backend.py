"""The Raspberry Pi camera (CSI) through picamera2, with auto exposure and auto white balance
off. picamera2 comes from Debian (python3-picamera2) and is imported only in here, so nothing
else needs it installed.

Wiring: a Pi camera module on the Pi's CSI connector; ``device`` is the camera number (0).
"""

from __future__ import annotations

import contextlib
from typing import Any

from device_drivers.camera.base import Camera, Frame
from device_drivers.config import CameraConfig
from device_drivers.errors import CameraSettingsError, DeviceAbsent


class PiCamera(Camera):
    """A Pi camera module with fixed exposure, gain and colour gains."""

    backend = "picamera"

    def __init__(self, config: CameraConfig) -> None:
        super().__init__(config)
        self._cam: Any = None

    def _open(self) -> None:
        try:
            from picamera2 import Picamera2  # Debian package, Raspberry Pi only
        except ImportError as exc:
            raise DeviceAbsent(
                "camera backend 'picamera' needs picamera2, which is not installed",
                fix="on Raspberry Pi OS: sudo apt install python3-picamera2, and create the "
                    "virtual environment with --system-site-packages") from exc
        cfg = self.config
        try:
            index = int(cfg.device)
        except (TypeError, ValueError) as exc:
            raise DeviceAbsent(
                f"camera backend 'picamera' takes a camera number, not {cfg.device!r}",
                fix="set devices.camera.device to the Pi camera's number (0), or use "
                    "backend 'opencv' for a USB camera") from exc
        if index >= len(Picamera2.global_camera_info()):
            raise DeviceAbsent(f"no Pi camera number {index}",
                               fix="check the camera's ribbon cable (rpicam-hello --list-cameras)")
        try:
            cam = Picamera2(index)
        except Exception as exc:  # picamera2 raises RuntimeError and others when busy
            raise DeviceAbsent(
                f"cannot open Pi camera {index}: {exc}",
                fix="stop the other program using the camera (rpicam-hello, rpicam-still, "
                    "another kiosk process), then try again; if it persists, reboot") from exc
        try:
            # "RGB888" is stored B, G, R: OpenCV's order.
            cam.configure(cam.create_still_configuration(
                main={"size": (cfg.width, cfg.height), "format": "RGB888"}, buffer_count=2))
            cam.set_controls({
                "AeEnable": False,
                "AwbEnable": False,
                "ExposureTime": self.exposure_us,
                "AnalogueGain": cfg.gain,
                "ColourGains": tuple(cfg.colour_gains),
            })
            cam.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                cam.close()
            raise CameraSettingsError(
                f"Pi camera {index} refused the fixed settings "
                f"({cfg.width}x{cfg.height}, exposure {self.exposure_us} µs, gain {cfg.gain:g}): "
                f"{exc}",
                fix="set devices.camera width/height, exposure and gain to values this camera "
                    "supports (rpicam-hello --list-cameras)") from exc
        self._cam = cam

    def _apply_exposure(self) -> None:
        try:
            self._cam.set_controls({"ExposureTime": self.exposure_us})
        except Exception as exc:  # picamera2 raises assorted errors for refused controls
            raise CameraSettingsError(
                f"Pi camera refused the exposure {self.exposure_us} µs: {exc}",
                fix="check devices.camera.exposure_us against the camera's range "
                    "(rpicam-hello --list-cameras)") from exc

    @property
    def lossless(self) -> bool:
        return True  # RGB888 straight from the ISP: never compressed

    def _close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            cam.stop()
            cam.close()

    def _read(self) -> Frame | None:
        if self._cam is None:
            return None
        try:
            frame: Frame = self._cam.capture_array("main")
            return frame
        except Exception:  # the library raises assorted errors when the camera goes away
            return None
