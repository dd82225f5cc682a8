"""The camera's one exposure control: a burst taken again at a multiple of the configured
exposure (the kiosk's head-room re-capture), on the OpenCV backend and the simulated camera."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device_drivers.camera.base import Camera, Frame
from device_drivers.camera.simulated import SimulatedCamera, reexpose
from device_drivers.config import CameraConfig
from device_drivers.errors import CameraSettingsError
from tests.device_drivers.test_camera import H, ScriptedCapture, W, _opencv


def test_opencv_takes_the_scaled_exposure_and_restores_it() -> None:
    cap = ScriptedCapture()
    cam = _opencv([cap])
    with cam:
        cam.capture_burst()
        cam.set_exposure_scale(0.5)
        assert cap.props[cv2.CAP_PROP_EXPOSURE] == 40  # 8000 µs x 0.5, in 100 µs units
        assert cam.exposure_us == 4000 and cam.applied["exposure_us"] == 4000
        assert len(cam.capture_burst()) == 4
        cam.set_exposure_scale(1.0)
        assert cap.props[cv2.CAP_PROP_EXPOSURE] == 80 and cam.exposure_us == 8000


def test_opencv_reopening_keeps_the_scaled_exposure() -> None:
    first, second = ScriptedCapture(frames=3), ScriptedCapture()
    cam = _opencv([first, second])
    with cam:
        cam.set_exposure_scale(0.6)
        cam.capture_burst()  # the first capture stops: the camera is opened again
    assert second.props[cv2.CAP_PROP_EXPOSURE] == 48


def test_opencv_that_will_not_change_keeps_its_exposure() -> None:
    cap = ScriptedCapture()
    cam = _opencv([cap])
    with cam:
        cap.refuse[cv2.CAP_PROP_EXPOSURE] = 80
        with pytest.raises(CameraSettingsError, match="will not change its exposure"):
            cam.set_exposure_scale(0.5)
        assert cam.exposure_scale == 1.0 and cam.exposure_us == 8000


def test_scale_out_of_range_is_refused() -> None:
    cam = SimulatedCamera(CameraConfig(backend="simulated", width=W, height=H))
    for bad in (0.0, 0.05, 5.0):
        with pytest.raises(ValueError, match="outside"):
            cam.set_exposure_scale(bad)
    assert cam.exposure_scale == 1.0


def test_a_backend_without_exposure_control_says_so() -> None:
    class Fixed(Camera):
        backend = "fixed"

        def _open(self) -> None:
            pass

        def _close(self) -> None:
            pass

        def _read(self) -> Frame | None:
            return np.full((H, W, 3), 90, np.uint8)

    cam = Fixed(CameraConfig(backend="simulated", width=W, height=H, warmup_frames=0))
    cam.set_exposure_scale(0.5)  # closed: applied at opening (it has nothing to apply)
    cam.set_exposure_scale(1.0)
    with cam, pytest.raises(CameraSettingsError, match="cannot change its exposure"):
        cam.set_exposure_scale(0.5)
    assert cam.exposure_scale == 1.0


def test_simulated_exposure_aware_scene_renders_at_the_scale() -> None:
    cam = SimulatedCamera(CameraConfig(backend="simulated", width=W, height=H,
                                       warmup_frames=1))
    seen: list[float] = []

    def scene(index: int, scale: float) -> np.ndarray:
        seen.append(scale)
        return np.full((H, W, 3), 100, np.uint8)

    cam.show(scene, lossless=True, exposure_aware=True)
    with cam:
        cam.capture()
        cam.set_exposure_scale(0.7)
        cam.capture()
    assert seen[0] == 1.0 and seen[-1] == 0.7
    assert seen.count(0.7) == 2  # the frame in flight was thrown away, then the capture
    with pytest.raises(ValueError, match="callable"):
        cam.show(np.zeros((H, W, 3), np.uint8), exposure_aware=True)


def test_simulated_plain_scene_is_reexposed_in_linear_light() -> None:
    frame = np.full((H, W, 3), 188, np.uint8)  # about 0.5 linear
    cam = SimulatedCamera(CameraConfig(backend="simulated", width=W, height=H))
    cam.show(frame)
    with cam:
        cam.set_exposure_scale(0.5)
        darker = cam.capture()
    assert np.array_equal(darker, reexpose(frame, 0.5))
    assert 130 <= int(darker[0, 0, 0]) <= 140  # 0.25 linear is about 137 in sRGB
    assert np.array_equal(reexpose(frame, 1.0), frame)
    assert int(reexpose(frame, 3.0)[0, 0, 0]) == 255  # what clips, clips


def test_opencv_camera_sending_jpeg_is_a_fault_so_the_kiosk_refuses_to_test() -> None:
    # Veil glare cannot be told from a clean strip on JPEG colours (docs/scoring.md).
    with _opencv([ScriptedCapture()], pixel_format="MJPG") as cam:
        health = cam.health()
    assert health.state == "fault" and not health.ok
    assert "compressed" in health.detail and 'pixel_format = "YUYV"' in health.fix
    with _opencv([ScriptedCapture()]) as cam:
        assert cam.health().ok and "uncompressed" in cam.health().detail
