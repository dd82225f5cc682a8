"""Every quality gate rejects its defect with the right reason, in words a person can act
on, and never lets a bad picture through as negative."""

from __future__ import annotations

import pytest

from device_drivers.strip_sim import Defect, render_scene
from gateway.kits import Kit
from gateway.scoring import Reason, score
from protocol.messages import Call

from .conftest import scene

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
