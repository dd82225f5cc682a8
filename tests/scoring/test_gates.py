"""Every quality gate rejects its defect with the right reason, in words a person can act
on, and never lets a bad picture through as negative."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from device_drivers.strip_sim import (
    Defect,
    GlareSpot,
    LineTruth,
    Placement,
    SceneSpec,
    render_scene,
)
from gateway.kits import Catalogue, Kit, sim_geometry
from gateway.scoring import Reason, locate, score, score_windows
from protocol.messages import Call

from .conftest import CARD4, scene

CASES = [
    (Defect.OVEREXPOSED, Reason.OVEREXPOSED, "too bright"),
    (Defect.UNDEREXPOSED, Reason.UNDEREXPOSED, "too dark"),
    (Defect.BLURRED, Reason.BLURRED, "out of focus"),
    (Defect.GLARE, Reason.GLARE, "reflection"),
    (Defect.NO_CASSETTE, Reason.CASSETTE_ABSENT, "no cassette"),
    (Defect.MISPLACED, Reason.CASSETTE_MISPLACED, "not seated"),
    (Defect.ROTATED, Reason.CASSETTE_ROTATED, "crooked"),
    (Defect.REVERSED, Reason.CASSETTE_REVERSED, "wrong way round"),
    (Defect.WET, Reason.MEMBRANE_WET, "still wet"),
    (Defect.UNCLEARED, Reason.MEMBRANE_UNCLEARED, "not cleared"),
    (Defect.NO_C_LINE, Reason.NO_CONTROL_LINE, "no control (c) line"),
]


@pytest.mark.parametrize("defect,reason,words", CASES, ids=[c[0].value for c in CASES])
@pytest.mark.parametrize("seed", [1, 2])
def test_gate(kit: Kit, defect: Defect, reason: Reason, words: str, seed: int) -> None:
    # T/C 1.3 would be a clear negative: a rejected reading must not become one.
    r = score([render_scene(scene(kit, 500 + seed, 1.3, defect=defect))], kit)
    assert r.call is Call.INVALID
    assert reason in r.reason_codes
    text = r.reasons[r.reason_codes.index(reason)]
    assert words in text.lower()
    assert r.frames_used == 0


def test_good_scene_passes_every_gate(kit: Kit) -> None:
    r = score([render_scene(scene(kit, 600, 1.3))], kit)
    assert r.call is Call.NEGATIVE and r.reason_codes == []
    q = r.quality
    assert q["blur_mm"] < 0.2 and q["offset_mm"] < 6 and abs(q["rotation_deg"]) < 5
    assert 0.76 < q["membrane_ratio"] < 1.1 and q["background_od"] < 0.07
    assert q["glare_px"] == 0


def test_reason_figures_are_filled_in(kit: Kit) -> None:
    r = score([render_scene(scene(kit, 601, 1.0, defect=Defect.ROTATED))], kit)
    text = r.reasons[0]
    assert "°" in text and "{" not in text


def _card4_scene(catalogue: Catalogue, **changes: object):  # type: ignore[no-untyped-def]
    kit = catalogue.kit(CARD4)
    spec = SceneSpec(seed=3, cassette=sim_geometry(kit),
                     lines=tuple(LineTruth.from_ratio(0.6, 1.3) for _ in kit.analytes),
                     placement=Placement(offset_mm=(-2.3, -1.6), rotation_deg=-0.9))
    return kit, replace(spec, **changes)


def test_glare_joining_a_seated_card_to_the_frame_edge_is_not_misplacement(
        catalogue: Catalogue) -> None:
    # The LED's reflection on the tray near the frame's top edge touches the large card's
    # outline: the bright blob reaches the edge, but the card itself is in its place.
    kit, spec = _card4_scene(catalogue, glare=(GlareSpot(181.0, 43.0, 30.0, 0.83),))
    frame = render_scene(spec)
    located = locate(frame, kit.cassette, 12.0)
    assert located.problems == []
    assert located.metrics["offset_mm"] == pytest.approx(math.hypot(2.3, 1.6), abs=0.1)
    assert all(r.call is Call.NEGATIVE for r in score_windows([frame], kit))


def test_a_card_pushed_out_of_view_is_still_misplaced(catalogue: Catalogue) -> None:
    kit, spec = _card4_scene(catalogue, placement=Placement(offset_mm=(0.0, -22.0)))
    results = score_windows([render_scene(spec)], kit)
    assert all(Reason.CASSETTE_MISPLACED in r.reason_codes for r in results)


def test_clipped_plastic_is_overexposure_whatever_the_card_size(catalogue: Catalogue) -> None:
    kit, spec = _card4_scene(catalogue)
    spec = replace(spec, light=replace(spec.light, exposure=4.7))
    results = score_windows([render_scene(spec)], kit)
    assert all(r.call is Call.INVALID and r.reason_codes == [Reason.OVEREXPOSED]
               for r in results)
