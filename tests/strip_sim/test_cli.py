"""``nongan simulate strip`` writes a scene file and says what the truth is."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from nongan.cli import main


def test_writes_a_png_with_its_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    out, truth = tmp_path / "scene.png", tmp_path / "truth.json"
    rc = main(["simulate", "strip", "--tc", "0.5", "--seed", "4", "--random", "-o", str(out),
               "--truth", str(truth)])
    assert rc == 0
    image = cv2.imread(str(out))
    assert image.shape == (960, 1280, 3)
    spec = json.loads(truth.read_text())
    assert spec["seed"] == 4 and spec["lines"][0]["t_od"] == pytest.approx(0.3)
    assert "T/C 0.500" in capsys.readouterr().out


def test_card_defect_and_overrides(tmp_path: Path) -> None:
    out = tmp_path / "card.jpg"
    assert main(["simulate", "strip", "--cassette", "card3", "--tc", "0.1", "0.5", "1.0",
                 "--rotation", "2", "--lossless", "-o", str(out)]) == 0
    assert cv2.imread(str(out)) is not None
    assert main(["simulate", "strip", "--random", "--defect", "glare", "-o",
                 str(tmp_path / "g.png")]) == 0


def test_kiosk_camera_frames(tmp_path: Path) -> None:
    plain, kiosk = tmp_path / "plain.png", tmp_path / "kiosk.png"
    assert main(["simulate", "strip", "--lossless", "--truth", str(tmp_path / "p.json"),
                 "-o", str(plain)]) == 0
    assert main(["simulate", "strip", "--kiosk-camera", "--truth", str(tmp_path / "k.json"),
                 "-o", str(kiosk)]) == 0
    assert json.loads((tmp_path / "k.json").read_text())["camera"]["bayer"] is True
    a, b = cv2.imread(str(plain)), cv2.imread(str(kiosk))
    assert a.shape == b.shape and not np.array_equal(a, b)  # the same scene, demosaiced


@pytest.mark.parametrize("argv", [
    ["--cassette", "card4", "--tc", "0.1", "0.2"],  # 2 values for 4 windows
    ["--defect", "glare"],  # a defect needs --random
])
def test_bad_options_exit_2(tmp_path: Path, argv: list[str],
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "strip", *argv, "-o", str(tmp_path / "x.png")]) == 2
    assert "nongan simulate strip:" in capsys.readouterr().err


def test_unwritable_output(tmp_path: Path) -> None:
    assert main(["simulate", "strip", "-o", str(tmp_path / "scene.unknown")]) == 2


def test_negative_frame_index_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    out = tmp_path / "x.png"
    assert main(["simulate", "strip", "--frame-index", "-1", "-o", str(out)]) == 2
    assert "--frame-index" in capsys.readouterr().err
    assert not out.exists()


def test_truth_in_a_new_folder_is_written(tmp_path: Path) -> None:
    out, truth = tmp_path / "scene.png", tmp_path / "new" / "truth.json"
    assert main(["simulate", "strip", "-o", str(out), "--truth", str(truth)]) == 0
    assert json.loads(truth.read_text())["seed"] == 0


def test_unwritable_truth_is_a_clear_error_before_the_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = tmp_path / "scene.png"
    assert main(["simulate", "strip", "-o", str(out), "--truth",
                 str(blocker / "truth.json")]) == 2
    assert "cannot write --truth" in capsys.readouterr().err
    assert not out.exists()
