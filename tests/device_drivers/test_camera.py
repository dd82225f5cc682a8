"""The camera: checked frames and bursts on the simulated camera, the OpenCV backend's fixed
settings and failure handling through a scripted capture, and missing devices."""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np
import pytest

from device_drivers.camera import OpenCVCamera, PiCamera, SimulatedCamera, average
from device_drivers.config import CameraConfig
from device_drivers.errors import CameraError, CameraSettingsError, DeviceAbsent

W, H = 64, 48


def _scene(level: int = 120) -> np.ndarray:
    img = np.full((H, W, 3), level, np.uint8)
    img[:, 30:34] = (40, 40, 200)  # a red line
    return img


def _sim(**overrides: Any) -> SimulatedCamera:
    return SimulatedCamera(CameraConfig(backend="simulated", width=W, height=H, burst_size=5,
                                        warmup_frames=0, **overrides))


def test_burst_from_a_callable_scene_gets_successive_frame_indices() -> None:
    cam = _sim()
    seen: list[int] = []

    def scene(index: int) -> np.ndarray:
        seen.append(index)
        return _scene(100 + index)

    cam.show(scene)
    with cam:
        frames = cam.capture_burst()
    assert seen == [0, 1, 2, 3, 4]
    assert [int(f[0, 0, 0]) for f in frames] == [100, 101, 102, 103, 104]
    assert average(frames)[0, 0, 0] == pytest.approx(102.0)


def test_frames_are_copies_of_a_still_scene() -> None:
    cam = _sim()
    img = _scene()
    cam.show(img)
    with cam:
        frame = cam.capture()
    frame[:] = 0
    assert img.max() == 200, "a caller's edits must not reach the scene"


def test_black_frames_are_retried_then_refused() -> None:
    cam = _sim(frame_retries=2)
    cam.show(_scene())
    with cam:
        cam.black_frames(2)
        assert len(cam.capture_burst(3)) == 3, "two black frames are within the retries"
        cam.black_frames(3)
        with pytest.raises(CameraError, match="frame 1 of 1 unusable after 3 tries: frame is "
                                              "black") as caught:
            cam.capture()
        assert "LED" in caught.value.fix


def test_wrong_size_scene_is_refused() -> None:
    cam = _sim(frame_retries=0)
    cam.show(np.full((H * 2, W, 3), 99, np.uint8))
    with cam, pytest.raises(CameraError, match=f"frame is {W}x{H * 2}x3, expected {W}x{H}"):
        cam.capture()


def test_unplugged_mid_burst_is_a_clear_error() -> None:
    cam = _sim()
    cam.show(_scene())
    with cam:
        cam.unplug_after(2)
        with pytest.raises(DeviceAbsent, match="stopped delivering frames after 2 of 5") as caught:
            cam.capture_burst()
        assert "USB cable" in caught.value.fix
    assert cam.health().state == "absent"


def test_a_glitch_mid_burst_is_retried_with_a_whole_new_burst() -> None:
    cam = _sim()
    cam.show(lambda i: _scene(100 + i))
    with cam:
        cam.unplug_after(3, replug_after=1)
        frames = cam.capture_burst()
    assert len(frames) == 5
    # the three frames before the glitch were discarded: the burst is one continuous run
    assert [int(f[0, 0, 0]) for f in frames] == [103, 104, 105, 106, 107]


def test_simulated_health() -> None:
    cam = _sim()
    assert cam.health().state == "simulated"
    cam.show(_scene())
    health = cam.health()
    assert health.state == "simulated" and health.ok and f"{W}x{H}" in health.detail
    cam.black_frames(10)
    assert cam.health().state == "fault"


# -- OpenCV backend, through a scripted capture ------------------------------------------------


class ScriptedCapture:
    """Stands in for cv2.VideoCapture: stores set() values, optionally refusing some."""

    def __init__(self, opened: bool = True, refuse: dict[int, float] | None = None,
                 frames: int | None = None) -> None:
        self.opened = opened
        self.props: dict[int, float] = {}
        self.refuse = refuse or {}
        self.frames_left = frames
        self.released = False

    def isOpened(self) -> bool:  # OpenCV's name
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = self.refuse.get(prop, value)
        return prop not in self.refuse

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.frames_left is not None:
            if self.frames_left <= 0:
                return False, None
            self.frames_left -= 1
        w = int(self.props[cv2.CAP_PROP_FRAME_WIDTH])
        h = int(self.props[cv2.CAP_PROP_FRAME_HEIGHT])
        return True, np.full((h, w, 3), 90, np.uint8)

    def release(self) -> None:
        self.released = True


def _opencv(captures: list[ScriptedCapture], **overrides: Any) -> OpenCVCamera:
    queue = list(captures)
    opened: list[tuple[Any, int]] = []

    def factory(device: Any, api: int) -> ScriptedCapture:
        opened.append((device, api))
        return queue.pop(0)

    cfg = CameraConfig(backend="opencv", device=0, width=W, height=H, burst_size=4,
                       warmup_frames=2, exposure_us=8000, gain=2.0, white_balance_k=5000,
                       **overrides)
    cam = OpenCVCamera(cfg, capture_factory=factory)
    cam.opened_with = opened  # type: ignore[attr-defined]
    return cam


def test_opencv_fixes_exposure_gain_and_white_balance() -> None:
    cap = ScriptedCapture()
    cam = _opencv([cap])
    with cam:
        assert len(cam.capture_burst()) == 4
    assert cam.opened_with == [(0, cv2.CAP_V4L2)]  # type: ignore[attr-defined]
    assert cap.props[cv2.CAP_PROP_AUTO_EXPOSURE] == 1
    assert cap.props[cv2.CAP_PROP_EXPOSURE] == 80  # 100 µs units
    assert cap.props[cv2.CAP_PROP_GAIN] == 2.0
    assert cap.props[cv2.CAP_PROP_AUTO_WB] == 0
    assert cap.props[cv2.CAP_PROP_WB_TEMPERATURE] == 5000
    assert cam.applied["exposure_us"] == 8000
    assert cap.released


def test_opencv_asks_for_uncompressed_frames_and_knows_when_it_gets_them() -> None:
    cap = ScriptedCapture()
    with _opencv([cap]) as cam:
        assert cap.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter.fourcc(*"YUYV")
        assert cam.pixel_format == "YUYV" and cam.lossless


def test_opencv_camera_that_sends_jpeg_is_not_lossless() -> None:
    # A camera that keeps sending MJPG whatever is asked, and one configured for it.
    mjpg = cv2.VideoWriter.fourcc(*"MJPG")
    with _opencv([ScriptedCapture(refuse={cv2.CAP_PROP_FOURCC: mjpg})]) as cam:
        assert cam.pixel_format == "MJPG" and not cam.lossless
    with _opencv([ScriptedCapture()], pixel_format="MJPG") as cam:
        assert not cam.lossless
    # One that reports no format at all is taken as compressed.
    with _opencv([ScriptedCapture(refuse={cv2.CAP_PROP_FOURCC: 0})]) as cam:
        assert cam.pixel_format == "" and not cam.lossless


def test_simulated_camera_is_lossless_only_when_told() -> None:
    cam = SimulatedCamera(CameraConfig(backend="simulated", width=W, height=H))
    frame = np.full((H, W, 3), 90, np.uint8)
    cam.show(frame)
    assert not cam.lossless
    cam.show(frame, lossless=True)
    assert cam.lossless


def test_opencv_refuses_a_camera_that_keeps_auto_exposure() -> None:
    cap = ScriptedCapture(refuse={cv2.CAP_PROP_AUTO_EXPOSURE: 3})
    cam = _opencv([cap])
    with pytest.raises(CameraSettingsError, match="auto exposure stays on") as caught:
        cam.open()
    assert "manual exposure" in caught.value.fix
    assert cap.released and not cam.is_open


def test_opencv_refuses_a_size_the_camera_does_not_give() -> None:
    cam = _opencv([ScriptedCapture(refuse={cv2.CAP_PROP_FRAME_WIDTH: 640})])
    with pytest.raises(CameraSettingsError, match=f"gives 640x{H} in YUYV") as caught:
        cam.open()
    assert "pixel_format to MJPG" in caught.value.fix


def test_opencv_unplugged_mid_burst() -> None:
    # two warm-up frames, two good frames, then nothing; and it does not come back
    cam = _opencv([ScriptedCapture(frames=4), ScriptedCapture(opened=False)])
    with cam, pytest.raises(DeviceAbsent, match="after 2 of 4"):
        cam.capture_burst()


def test_opencv_recovers_from_a_glitch_by_reopening() -> None:
    cam = _opencv([ScriptedCapture(frames=3), ScriptedCapture()])
    with cam:
        assert len(cam.capture_burst()) == 4


def test_missing_video_device_is_absent() -> None:
    cam = OpenCVCamera(CameraConfig(backend="opencv", device="/dev/video97"))
    with pytest.raises(DeviceAbsent, match="camera not found at /dev/video97"):
        cam.open()
    assert cam.health().state == "absent"


def test_unopenable_index_is_absent_with_real_opencv() -> None:
    cam = OpenCVCamera(CameraConfig(backend="opencv", device=63))
    with pytest.raises(DeviceAbsent, match="cannot open camera 63"):
        cam.open()


def test_picamera_without_picamera2_says_how_to_install() -> None:
    import importlib.util

    if importlib.util.find_spec("picamera2") is not None:
        pytest.skip("picamera2 is installed here: this test is about its absence")
    with pytest.raises(DeviceAbsent, match="needs picamera2") as caught:
        PiCamera(CameraConfig(backend="picamera", device=0)).open()
    assert "python3-picamera2" in caught.value.fix


# -- Pi camera backend, through a stub picamera2 module -----------------------------------------


class _StubPicamera2:
    """Stands in for picamera2.Picamera2; class attributes script its failures."""

    cameras = 1
    busy = False
    refuse: str | None = None  # "configure", "set_controls" or "start"
    made: ClassVar[list[_StubPicamera2]] = []

    def __init__(self, index: int) -> None:
        if self.busy:
            raise RuntimeError("Failed to acquire camera: Device or resource busy")
        self.index = index
        self.closed = False
        self.started = False
        self.controls: dict[str, Any] = {}
        self.size = (0, 0)
        _StubPicamera2.made.append(self)

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return [{"Num": n} for n in range(_StubPicamera2.cameras)]

    def _maybe_refuse(self, step: str) -> None:
        if self.refuse == step:
            raise RuntimeError(f"{step} failed: invalid argument")

    def create_still_configuration(self, main: dict[str, Any], buffer_count: int) -> Any:
        return main

    def configure(self, config: dict[str, Any]) -> None:
        self._maybe_refuse("configure")
        self.size = config["size"]

    def set_controls(self, controls: dict[str, Any]) -> None:
        self._maybe_refuse("set_controls")
        self.controls = controls

    def start(self) -> None:
        self._maybe_refuse("start")
        self.started = True

    def capture_array(self, name: str) -> np.ndarray:
        return np.full((self.size[1], self.size[0], 3), 90, np.uint8)

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def stub_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[_StubPicamera2]:
    import sys
    import types

    module = types.ModuleType("picamera2")
    module.Picamera2 = _StubPicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setattr(_StubPicamera2, "cameras", 1)
    monkeypatch.setattr(_StubPicamera2, "busy", False)
    monkeypatch.setattr(_StubPicamera2, "refuse", None)
    monkeypatch.setattr(_StubPicamera2, "made", [])
    return _StubPicamera2


def _picam(device: Any = 0) -> PiCamera:
    return PiCamera(CameraConfig(backend="picamera", device=device, width=W, height=H,
                                 burst_size=2, warmup_frames=1))


def test_picamera_fixes_its_settings_and_captures(stub_picamera2: type[_StubPicamera2]) -> None:
    with _picam() as cam:
        assert len(cam.capture_burst()) == 2
        made = stub_picamera2.made[0]
        assert made.controls["AeEnable"] is False and made.controls["AwbEnable"] is False
    assert made.closed


def test_picamera_frames_are_lossless(stub_picamera2: type[_StubPicamera2]) -> None:
    with _picam() as cam:
        assert cam.lossless  # RGB888 from the ISP: the scorer may use its colours


def test_picamera_given_a_device_path_is_absent_with_a_fix(
        stub_picamera2: type[_StubPicamera2]) -> None:
    with pytest.raises(DeviceAbsent, match="takes a camera number") as caught:
        _picam("/dev/video0").open()
    assert "devices.camera.device" in caught.value.fix
    assert _picam("/dev/video0").health().state == "absent"


def test_picamera_that_is_busy_is_absent_with_a_fix(
        stub_picamera2: type[_StubPicamera2]) -> None:
    stub_picamera2.busy = True
    with pytest.raises(DeviceAbsent, match="busy") as caught:
        _picam().open()
    assert "other program" in caught.value.fix


@pytest.mark.parametrize("step", ["configure", "set_controls", "start"])
def test_picamera_refusing_its_settings_is_a_settings_error(
        stub_picamera2: type[_StubPicamera2], step: str) -> None:
    stub_picamera2.refuse = step
    cam = _picam()
    with pytest.raises(CameraSettingsError, match=f"{step} failed") as caught:
        cam.open()
    assert caught.value.fix
    assert stub_picamera2.made[0].closed and not cam.is_open


# -- threads ---------------------------------------------------------------------------------------


class _OneThreadCamera(SimulatedCamera):
    """Fails the test if two threads are ever inside the device at once (like VideoCapture)."""

    def __init__(self, config: CameraConfig) -> None:
        super().__init__(config)
        self.inside = 0
        self.overlaps = 0

    def _read(self) -> np.ndarray | None:
        import time

        self.inside += 1
        if self.inside > 1:
            self.overlaps += 1
        time.sleep(0.002)
        try:
            return super()._read()
        finally:
            self.inside -= 1


def test_health_checks_never_overlap_a_burst() -> None:
    import threading

    cam = _OneThreadCamera(CameraConfig(backend="simulated", width=W, height=H, burst_size=5,
                                        warmup_frames=1))
    cam.show(_scene())
    errors: list[BaseException] = []

    def bursts() -> None:
        try:
            for _ in range(10):
                assert len(cam.capture_burst()) == 5
        except BaseException as exc:
            errors.append(exc)

    def checks() -> None:
        for _ in range(10):
            if not cam.health().ok:
                errors.append(AssertionError("health not ok"))

    with cam:
        threads = [threading.Thread(target=bursts), threading.Thread(target=checks),
                   threading.Thread(target=checks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert cam.overlaps == 0
