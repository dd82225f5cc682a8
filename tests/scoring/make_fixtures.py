"""Regenerate the golden fixture scenes and their expected readings.

    .venv/bin/python -m tests.scoring.make_fixtures            # images and readings
    .venv/bin/python -m tests.scoring.make_fixtures --readings # re-pin readings only

Each fixture is rendered by the strip simulator (lossless, with sensor noise) and stored as
the camera would deliver it: JPEG at quality 92 (a noisy 1280x960 PNG is ~1.4 MB; these are
~70 KB), plus one noise-free PNG to exercise the PNG path. ``expected.json`` records the
truth and the reading the scorer gave when the fixtures were made; the golden test then pins
the scorer to those readings (within TOLERANCE) and checks them against the truth. Re-pin
only after checking that a change of reading is an improvement.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import cv2

from device_drivers.strip_sim import Defect, LineTruth, SceneSpec, random_scene, render_scene
from gateway.kits import load_catalogue, sim_geometry
from gateway.scoring import load_frame, score_windows

HERE = Path(__file__).with_name("fixtures")
TOLERANCE = 0.01
SINGLE, CARD4, CARD3 = "gold-procymidone-v1", "card-aquatic-4in1-v1", \
    "card-beta-agonists-3in1-v1"


def _lossless(spec: SceneSpec) -> SceneSpec:
    return replace(spec, camera=replace(spec.camera, jpeg_quality=None))


def fixtures() -> dict[str, tuple[str, SceneSpec]]:
    """name -> (kit id, scene)."""
    cat = load_catalogue()
    single = sim_geometry(cat.kit(SINGLE))
    card4 = sim_geometry(cat.kit(CARD4))
    card3 = sim_geometry(cat.kit(CARD3))

    def scene(seed: int, tc: float, c_od: float = 0.6, defect: Defect | None = None
              ) -> SceneSpec:
        return _lossless(random_scene(seed, cassette=single, defect=defect,
                                      lines=(LineTruth.from_ratio(c_od, tc),)))

    return {
        "negative_tc120": (SINGLE, scene(101, 1.2)),
        "positive_tc030": (SINGLE, scene(102, 0.3, 0.45)),
        "positive_no_t": (SINGLE, scene(103, 0.0, 0.7)),
        "suspect_tc090": (SINGLE, scene(104, 0.9, 0.5)),
        "positive_tc072": (SINGLE, scene(105, 0.72, 0.8)),
        "invalid_no_c": (SINGLE, scene(106, 1.0, defect=Defect.NO_C_LINE)),
        "invalid_glare": (SINGLE, scene(107, 1.0, defect=Defect.GLARE)),
        "invalid_wet": (SINGLE, scene(108, 1.0, defect=Defect.WET)),
        "invalid_rotated": (SINGLE, scene(109, 1.0, defect=Defect.ROTATED)),
        "invalid_empty_tray": (SINGLE, scene(110, 1.0, defect=Defect.NO_CASSETTE)),
        "card4_mixed": (CARD4, _lossless(random_scene(111, cassette=card4, lines=(
            LineTruth.from_ratio(0.6, 0.2), LineTruth.from_ratio(0.5, 1.3),
            LineTruth.from_ratio(0.7, 0.85), LineTruth.from_ratio(0.4, 0.0))))),
        "card3_t_disappearance": (CARD3, _lossless(random_scene(112, cassette=card3, lines=(
            LineTruth.from_ratio(0.6, 0.0), LineTruth.from_ratio(0.6, 1.1),
            LineTruth.from_ratio(0.6, 0.4))))),
    }


def clean_png() -> tuple[str, SceneSpec]:
    """A noise-free scene stored as PNG."""
    spec = SceneSpec(seed=113, lines=(LineTruth.from_ratio(0.6, 1.1),))
    spec = replace(spec, camera=replace(spec.camera, jpeg_quality=None, shot_noise=0.0,
                                        read_noise=0.0))
    return SINGLE, spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", action="store_true",
                        help="keep the images, re-pin the expected readings")
    args = parser.parse_args()
    HERE.mkdir(exist_ok=True)
    cat = load_catalogue()
    entries = {name: (kit, spec, f"{name}.jpg") for name, (kit, spec) in fixtures().items()}
    kit_id, spec = clean_png()
    entries["clean_negative_png"] = (kit_id, spec, "clean_negative_png.png")
    expected = {"tolerance": TOLERANCE, "fixtures": {}}
    for name, (kit_id, spec, filename) in entries.items():
        path = HERE / filename
        if not args.readings:
            frame = render_scene(spec)
            params = [cv2.IMWRITE_JPEG_QUALITY, 92] if filename.endswith(".jpg") else \
                [cv2.IMWRITE_PNG_COMPRESSION, 9]
            if not cv2.imwrite(str(path), frame, params):
                raise SystemExit(f"cannot write {path}")
        results = score_windows([load_frame(path)], cat.kit(kit_id))
        expected["fixtures"][name] = {
            "file": filename, "kit": kit_id,
            "truth_t_c": [t.t_c for t in spec.lines],
            "readings": [{"call": r.call.value, "t_c_ratio": r.t_c_ratio,
                          "reason_codes": r.reason_codes} for r in results],
        }
        print(name, [(r.call.value, r.t_c_ratio, r.reason_codes) for r in results])
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
