"""``nongan score``: the reading in words or JSON, the annotated image, a burst."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from device_drivers.strip_sim import render_scene
from gateway.kits import Kit
from nongan.cli import main

from .conftest import scene


@pytest.fixture(scope="module")
def image(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "scene.png"
    cv2.imwrite(str(path), render_scene(scene(kit, 7, 0.5)))
    return path


def test_json_reading(image: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(image), str(image), "--kit", "gold-procymidone-v1",
                 "--lot", "DEMO-2026A", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kit_id"] == "gold-procymidone-v1" and out["lot"] == "DEMO-2026A"
    (r,) = out["readings"]
    assert r["call"] == "positive" and r["frame_count"] == 2
    assert r["t_c_ratio"] == pytest.approx(0.5, abs=0.03)


def test_text_and_annotation(image: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out_png = tmp_path / "out" / "annotated.png"
    assert main(["score", str(image), "--kit", "gold-procymidone-v1",
                 "--annotate", str(out_png)]) == 0
    assert "POSITIVE" in capsys.readouterr().out
    annotated = cv2.imread(str(out_png))
    assert annotated.shape == (960, 1280, 3)
    assert main(["score", str(image), "--kit", "gold-procymidone-v1",
                 "--annotate", str(tmp_path / "x.gif")]) == 2


def test_flat_field_file(image: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat.npy"
    np.save(flat, np.ones((960, 1280, 3), np.float32))
    assert main(["score", str(image), "--kit", "gold-procymidone-v1", "--flat-field",
                 str(flat)]) == 0
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"nonsense")
    assert main(["score", str(image), "--kit", "gold-procymidone-v1", "--flat-field",
                 str(bad)]) == 2


def test_empty_flat_field_file_is_a_clear_error(image: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.npy"
    empty.write_bytes(b"")
    assert main(["score", str(image), "--kit", "gold-procymidone-v1", "--flat-field",
                 str(empty)]) == 2
    assert "empty or cut short" in capsys.readouterr().err


def test_frames_of_another_size_are_refused_unless_any_size(
        kit: Kit, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.scoring import DEFAULT_SIZE

    small = tmp_path / "small.png"
    frame = render_scene(scene(kit, 7, 0.5))
    cv2.imwrite(str(small), cv2.resize(frame, (DEFAULT_SIZE[0] // 2, DEFAULT_SIZE[1] // 2)))
    assert main(["score", str(small), "--kit", "gold-procymidone-v1"]) == 2
    assert main(["score", str(small), "--kit", "gold-procymidone-v1", "--any-size",
                 "--px-per-mm", "6"]) == 0


def test_reading_the_catalogue_does_not_load_the_simulator() -> None:
    import subprocess
    import sys

    code = ("import sys, gateway.kits\n"
            "assert 'cv2' not in sys.modules and 'device_drivers' not in sys.modules\n"
            "from gateway.kits import sim_geometry\n"
            "assert callable(sim_geometry) and 'device_drivers' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(("suffix", "flags", "lossless"), [
    (".png", [], True), (".jpg", [], False), (".png", ["--compressed"], False)])
def test_colours_are_trusted_only_for_frames_that_never_were_jpeg(
        kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str,
        flags: list[str], lossless: bool) -> None:
    import gateway.scoring.cli as cli

    seen: list[bool] = []
    real = cli.score_windows

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["lossless"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "score_windows", spy)
    path = tmp_path / f"scene{suffix}"
    cv2.imwrite(str(path), render_scene(scene(kit, 7, 0.5)))
    assert main(["score", str(path), "--kit", "gold-procymidone-v1", *flags]) == 0
    assert seen == [lossless]
