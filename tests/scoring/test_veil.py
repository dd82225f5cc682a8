"""Veil glare: weak, broad light added over a result window. A window under a veil is refused
with the glare reason rather than read into a call whose error nobody can bound — above all,
never into the opposite call — while clean windows, whatever colour the camera sees gold in,
are not refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import (
    KIOSK_CAPTURE,
    LineTruth,
    NuisanceRanges,
    VeilRanges,
    add_veil,
    random_scene,
    render_scene,
)
from gateway.kits import Catalogue, Kit, sim_geometry
from gateway.scoring import Reason, score, score_windows
from protocol.messages import Call

from .conftest import CARD4

ROUND = VeilRanges(aspect=(1.0, 1.0), order=(1.0, 1.0), tint=0.0, size_mm=(2.0, 2.0))


def kiosk_scene(kit: Kit, seed: int, t_c: float, c_od: float = 0.6, **ranges: object):
    r = replace(KIOSK_CAPTURE, **ranges) if ranges else KIOSK_CAPTURE
    spec = random_scene(seed, cassette=sim_geometry(kit), ranges=r,
                        lines=tuple(LineTruth.from_ratio(c_od, t_c) for _ in range(kit.windows)))
    return replace(spec, glare=())  # no harmless spots: the veil is the only glare here


def expected(t_c: float, kit: Kit) -> Call:
    rule = kit.decision
    return Call.POSITIVE if t_c < rule.cutoff_low else \
        Call.NEGATIVE if t_c >= rule.cutoff_high else Call.SUSPECT


@pytest.mark.parametrize("line,t_c", [("C", 0.74), ("T", 1.08)])
def test_a_veil_on_a_line_is_refused_not_read_into_the_opposite_call(kit: Kit, line: str,
                                                                     t_c: float) -> None:
    # The independent check's case: a contaminated strip (T/C 0.74, cut-off 0.8) under a veil
    # on C read 1.05, negative. And the mirror image: a clean strip with a veil on T.
    spec = add_veil(kiosk_scene(kit, 41, t_c, c_od=0.75), 3, ROUND, strength=0.2, on=line)
    r = score([render_scene(spec)], kit, lossless=True)
    assert r.call is Call.INVALID, (r.t_c_ratio, r.quality)
    assert r.reason_codes[0] == "glare"
    assert "reflection (glare)" in r.reasons[0]


def test_veils_anywhere_give_no_wrong_call_among_accepted_and_refusals_say_glare(kit: Kit) -> None:
    wrong, refused, accepted = [], 0, 0
    for i in range(24):
        t_c = (0.55, 0.7, 1.1, 1.3)[i % 4]
        spec = add_veil(kiosk_scene(kit, 500 + i, t_c), 700 + i, window=0,
                        strength=float(np.linspace(0.05, 0.5, 24)[i]))
        r = score([render_scene(spec)], kit, lossless=True)
        if r.call is Call.INVALID:
            refused += 1
            assert r.reason_codes[0] == "glare", r.reason_codes
            continue
        accepted += 1
        if r.call is not expected(t_c, kit):
            wrong.append((t_c, r.t_c_ratio, r.call))
    assert wrong == []
    assert refused >= 18  # most of these veils are plain to see


def test_a_veil_on_one_window_of_a_card_leaves_the_others_read(catalogue: Catalogue) -> None:
    card = catalogue.kit(CARD4)
    spec = add_veil(kiosk_scene(card, 77, 1.3), 5, ROUND, window=2, strength=0.3, on="C")
    results = score_windows([render_scene(spec)], card, lossless=True)
    assert results[2].call is Call.INVALID and results[2].has(Reason.GLARE)
    for i in (0, 1, 3):
        assert results[i].call is not Call.INVALID, results[i].reasons
        assert results[i].t_c_ratio == pytest.approx(1.3, abs=0.05)


def test_clean_windows_are_not_taken_for_veils_whatever_colour_gold_is(kit: Kit) -> None:
    # A camera whose filters see gold's red and blue absorbance far from the textbook ratios
    # (0.25, 0.5): the lines must not look like added light.
    for i in range(16):
        spec = kiosk_scene(kit, 900 + i, 1.3, c_od=float(np.linspace(0.3, 0.9, 16)[i]),
                           gold_red=(0.12, 0.4), gold_blue=(0.3, 0.7))
        r = score([render_scene(spec)], kit, lossless=True)
        assert r.call is Call.NEGATIVE, (spec.look.gold_bgr, r.reasons, r.quality)
        assert r.quality["veil_score"] < 1.0


def test_the_veil_figures_are_reported(kit: Kit) -> None:
    clean = score([render_scene(kiosk_scene(kit, 3, 1.2))], kit, lossless=True)
    veiled = score([render_scene(add_veil(kiosk_scene(kit, 3, 1.2), 3, ROUND, strength=0.3,
                                          on="any"))], kit, lossless=True)
    for q in (clean.quality, veiled.quality):
        assert {"veil_score", "veil_level", "veil_gold_ratio"} <= set(q)
    assert clean.quality["veil_gold_ratio"] == pytest.approx(0.25, abs=0.02)
    assert veiled.quality["veil_level"] > 0.15 > clean.quality["veil_level"]
    # JPEG frames keep the neutral search (their colours are too coarse to look through lines).
    jpeg = random_scene(3, cassette=sim_geometry(kit), ranges=NuisanceRanges(lossless_share=0),
                        lines=(LineTruth.from_ratio(0.6, 1.2),))
    assert score([render_scene(jpeg)], kit).quality["veil_score"] < 1.0


def test_a_suspected_veil_near_a_cut_off_gives_no_confident_call(kit: Kit) -> None:
    # A veil too weak to prove (+5 %, on C) still moves T/C: near a cut-off the call would
    # rest on an error nobody can bound, so the window is refused with the glare reason.
    spec = kiosk_scene(kit, 149, 1.03, c_od=0.75)
    veiled = score([render_scene(add_veil(spec, 49, ROUND, strength=0.05, on="C"))], kit,
                   lossless=True)
    assert veiled.call is Call.INVALID and veiled.reason_codes == ["glare"]
    assert veiled.quality["veil_score"] < 1.0  # not proven: the margin decided
    assert veiled.t_c_ratio is not None
    assert veiled.t_c_ratio - veiled.quality["veil_margin"] < kit.decision.cutoff_high
    clean = score([render_scene(spec)], kit, lossless=True)
    assert clean.call is Call.NEGATIVE and clean.quality["veil_margin"] == 0.0
