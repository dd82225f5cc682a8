"""Bad input gets a clear error and never a call: frames, files, the CLI, the kit."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from device_drivers.strip_sim import render_scene
from gateway.kits import Kit
from gateway.scoring import FrameError, ImageFileError, load_frame, score
from nongan.cli import main

from .conftest import scene


@pytest.fixture(scope="module")
def frame(kit: Kit) -> np.ndarray:
    return render_scene(scene(kit, 1, 0.6))


@pytest.mark.parametrize("make,match", [
    (lambda f: [], "no frames"),
    (lambda f: f, "sequence of frames"),
    (lambda f: [f.astype(np.uint16) * 257], "16-bit"),
    (lambda f: [f.astype(np.float32)], "float32"),
    (lambda f: [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)], "grey"),
    (lambda f: [f[:, :, :1]], "grey"),
    (lambda f: [cv2.cvtColor(f, cv2.COLOR_BGR2BGRA)], "expected height x width x 3"),
    (lambda f: [cv2.resize(f, (640, 480))], "640x480; this reader's frames are 1280x960"),
    (lambda f: [f, f[:, :1000]], "1000x960"),
    (lambda f: [np.zeros((0, 0, 3), np.uint8)], "empty"),
    (lambda f: ["frame.png"], "not an image array"),
    (lambda f: [f] * 33, "at most 32"),
])
def test_bad_frames_raise(kit: Kit, frame: np.ndarray, make, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FrameError, match=match):
        score(make(frame), kit)


def test_other_sizes_when_allowed(kit: Kit, frame: np.ndarray) -> None:
    bigger = cv2.copyMakeBorder(frame, 20, 20, 40, 40, cv2.BORDER_REPLICATE)
    assert score([bigger], kit, expected_size=None).t_c_ratio == pytest.approx(0.6, abs=0.03)


@pytest.fixture
def files(tmp_path: Path, frame: np.ndarray) -> dict[str, Path]:
    _, jpg = cv2.imencode(".jpg", frame)
    _, png = cv2.imencode(".png", frame)
    out = {
        "empty": tmp_path / "empty.jpg",
        "truncated_jpeg": tmp_path / "cut.jpg",
        "truncated_png": tmp_path / "cut.png",
        "garbage": tmp_path / "garbage.png",
        "grey": tmp_path / "grey.png",
        "deep": tmp_path / "deep.png",
        "small": tmp_path / "small.png",
        "good": tmp_path / "good.png",
    }
    out["empty"].write_bytes(b"")
    out["truncated_jpeg"].write_bytes(jpg.tobytes()[: len(jpg) // 2])
    out["truncated_png"].write_bytes(png.tobytes()[: len(png) // 2])
    out["garbage"].write_bytes(b"this is not an image at all" * 10)
    cv2.imwrite(str(out["grey"]), cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(out["deep"]), frame.astype(np.uint16) * 257)
    cv2.imwrite(str(out["small"]), cv2.resize(frame, (320, 240)))
    out["good"].write_bytes(png.tobytes())
    return out


@pytest.mark.parametrize("name,match", [
    ("empty", "empty file"), ("truncated_jpeg", "truncated JPEG"),
    ("truncated_png", "truncated PNG"), ("garbage", "not an image"),
])
def test_unreadable_files(files: dict[str, Path], name: str, match: str) -> None:
    with pytest.raises(ImageFileError, match=match):
        load_frame(files[name])


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageFileError, match="no such file"):
        load_frame(tmp_path / "nope.png")
    with pytest.raises(ImageFileError, match="folder"):
        load_frame(tmp_path)


@pytest.mark.parametrize("name,match", [
    ("grey", "grey"), ("deep", "16-bit"), ("small", "320x240"),
])
def test_readable_but_unscorable_files(kit: Kit, files: dict[str, Path], name: str,
                                       match: str) -> None:
    with pytest.raises(FrameError, match=match):
        score([load_frame(files[name])], kit)


@pytest.mark.parametrize("name", ["empty", "truncated_jpeg", "truncated_png", "garbage",
                                  "grey", "deep", "small"])
def test_cli_refuses_with_exit_2_and_no_call(files: dict[str, Path], name: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(files[name]), "--kit", "gold-procymidone-v1", "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("nongan score: ")


def test_cli_refuses_a_bad_kit_catalogue(files: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from gateway.kits import DEFAULT_PATH

    bad = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_PATH, bad)
    kits = bad / "kits.toml"
    kits.write_text(kits.read_text(encoding="utf-8").replace(
        "cutoff_low = 0.80, cutoff_high = 1.00", "cutoff_low = 1.50, cutoff_high = 1.00", 1),
        encoding="utf-8")
    assert main(["score", str(files["good"]), "--kit", "gold-procymidone-v1",
                 "--catalogue", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "kit catalogue is invalid" in err and "cutoff_low 1.5 is above" in err
    assert main(["score", str(files["good"]), "--kit", "no-such-kit"]) == 2
    assert "no kit 'no-such-kit'" in capsys.readouterr().err
    assert main(["score", str(files["good"]), "--kit", "gold-procymidone-v1",
                 "--lot", "NOPE"]) == 2
