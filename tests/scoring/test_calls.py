"""Calls on good scenes: every decision mode, multi-window cards, bursts, suspect band."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import Defect, LineTruth, random_scene, render_scene
from gateway.kits import Catalogue, Decision, Kit, Mode, sim_geometry
from gateway.scoring import Reason, decide, score, score_windows
from protocol.messages import Call

from .conftest import CARD3, CARD4, scene


@pytest.mark.parametrize("seed,ratio,call", [
    (1, 0.0, Call.POSITIVE), (2, 0.4, Call.POSITIVE), (3, 0.7, Call.POSITIVE),
    (4, 0.9, Call.SUSPECT), (5, 1.1, Call.NEGATIVE), (6, 1.45, Call.NEGATIVE),
])
def test_competitive_calls_and_ratio(kit: Kit, seed: int, ratio: float, call: Call) -> None:
    r = score([render_scene(scene(kit, seed, ratio))], kit)
    assert r.call is call
    assert r.t_c_ratio == pytest.approx(ratio, abs=0.03)
    assert r.rule == "tc_ratio" and (r.cutoff_low, r.cutoff_high) == (0.8, 1.0)
    assert r.c_line.height == pytest.approx(0.6, abs=0.06)  # C optical density
    assert r.frame_count == r.frames_used == 1 and len(r.frames_sha256) == 1
    if call is Call.SUSPECT:
        assert r.reason_codes == [Reason.SUSPECT_BAND] and "re-test" in r.reasons[0].lower()
    else:
        assert r.reasons == []


def test_decision_modes() -> None:
    tc = Decision(mode=Mode.TC_RATIO, cutoff_low=0.8, cutoff_high=1.0)
    assert [decide(r, 50, tc) for r in (0.79, 0.8, 0.99, 1.0)] == \
        [Call.POSITIVE, Call.SUSPECT, Call.SUSPECT, Call.NEGATIVE]
    gone = Decision(mode=Mode.T_DISAPPEARANCE, cutoff_low=0.3, cutoff_high=0.5)
    assert decide(0.6, 1.0, gone) is Call.POSITIVE  # T not distinguishable from noise
    assert decide(0.6, 50, gone) is Call.NEGATIVE
    assert decide(0.4, 50, gone) is Call.SUSPECT
    sandwich = Decision(mode=Mode.SANDWICH_THRESHOLD, cutoff_low=0.1, cutoff_high=0.2)
    assert [decide(r, 50, sandwich) for r in (0.05, 0.15, 0.5)] == \
        [Call.NEGATIVE, Call.SUSPECT, Call.POSITIVE]


def test_sandwich_kit_reads_the_other_way(kit: Kit) -> None:
    sandwich = kit.model_copy(update={
        "format": "sandwich",
        "decision": Decision(mode=Mode.SANDWICH_THRESHOLD, cutoff_low=0.1, cutoff_high=0.2)})
    strong = score([render_scene(scene(sandwich, 11, 0.8))], sandwich)
    none = score([render_scene(scene(sandwich, 12, 0.0))], sandwich)
    assert strong.call is Call.POSITIVE and none.call is Call.NEGATIVE


def test_four_window_card(catalogue: Catalogue) -> None:
    card = catalogue.kit(CARD4)
    truths = (0.2, 1.3, 0.5, 0.0)
    spec = random_scene(21, cassette=sim_geometry(card),
                        lines=tuple(LineTruth.from_ratio(0.6, t) for t in truths))
    results = score_windows([render_scene(spec)], card)
    assert [r.window for r in results] == [0, 1, 2, 3]
    assert [r.analyte for r in results] == card.analytes
    assert [r.call for r in results] == [Call.POSITIVE, Call.NEGATIVE, Call.POSITIVE,
                                         Call.POSITIVE]
    for r, t in zip(results, truths, strict=True):
        assert r.t_c_ratio == pytest.approx(t, abs=0.03)
    assert results[3].cutoff_low == 0.7  # per-window rule
    one = score([render_scene(spec)], card, window=1)
    assert one.window == 1 and one.call is Call.NEGATIVE


def test_three_window_card_t_disappearance(catalogue: Catalogue) -> None:
    card = catalogue.kit(CARD3)
    spec = random_scene(22, cassette=sim_geometry(card),
                        lines=tuple(LineTruth.from_ratio(0.6, t) for t in (0.0, 1.1, 0.4)))
    calls = [r.call for r in score_windows([render_scene(spec)], card)]
    assert calls == [Call.POSITIVE, Call.NEGATIVE, Call.SUSPECT]


def test_burst_is_combined_by_median(kit: Kit) -> None:
    spec = scene(kit, 31, 0.5)
    frames = [render_scene(spec, frame_index=i) for i in range(5)]
    singles = [score([f], kit).t_c_ratio for f in frames]
    burst = score(frames, kit)
    assert burst.t_c_ratio == pytest.approx(float(np.median(singles)), abs=1e-4)
    assert burst.t_c_spread == pytest.approx(max(singles) - min(singles), abs=1e-4)  # type: ignore[type-var,operator]
    assert burst.frame_count == burst.frames_used == 5 and len(burst.frames_sha256) == 5
    assert len(set(burst.frames_sha256)) == 5


def test_burst_sets_aside_a_bad_frame(kit: Kit) -> None:
    good = scene(kit, 32, 0.4)
    glare = random_scene(32, cassette=sim_geometry(kit), lines=good.lines,
                         defect=Defect.GLARE)
    frames = [render_scene(good, frame_index=0), render_scene(glare),
              render_scene(good, frame_index=2)]
    r = score(frames, kit)
    assert r.call is Call.POSITIVE and r.frames_used == 2
    assert Reason.FRAMES_DISCARDED in r.reason_codes
    assert "1 of 3 pictures were set aside (glare" in r.reasons[0]


def test_majority_of_bad_frames_is_invalid(kit: Kit) -> None:
    good = scene(kit, 33, 1.2)
    glare = random_scene(33, cassette=sim_geometry(kit), lines=good.lines,
                         defect=Defect.GLARE)
    r = score([render_scene(glare), render_scene(glare, frame_index=1),
               render_scene(good)], kit)
    assert r.call is Call.INVALID and Reason.GLARE in r.reason_codes


def test_unstable_burst_is_suspect_never_negative(kit: Kit) -> None:
    a, b = scene(kit, 34, 1.4), scene(kit, 34, 1.05)
    r = score([render_scene(a), render_scene(b)], kit)
    assert r.call is Call.SUSPECT and Reason.BURST_UNSTABLE in r.reason_codes


def test_score_needs_a_window_for_cards(catalogue: Catalogue) -> None:
    from gateway.scoring import KitLayoutError

    card = catalogue.kit(CARD4)
    frame = render_scene(random_scene(1, cassette=sim_geometry(card)))
    with pytest.raises(KitLayoutError, match="4 windows"):
        score([frame], card)
    with pytest.raises(KitLayoutError, match="no window 7"):
        score([frame], card, window=7)


def test_pure_function(kit: Kit) -> None:
    frame = render_scene(scene(kit, 41, 0.6))
    frame.setflags(write=False)  # any attempt to modify the input would raise
    a, b = score([frame], kit), score([frame], kit)
    assert replace(a, processing_ms=0) == replace(b, processing_ms=0)
    assert a.processing_ms > 0
