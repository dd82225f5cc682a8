"""The simulator's harder conditions: veil glare over a window (of a given strength, anywhere,
on either line), a camera that sees gold in other colours, and exposure from half to 1.6 times
nominal."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import (
    EXPOSURE_HEADROOM,
    GOLD_ABSORBANCE_BGR,
    Camera,
    GlareSpot,
    LineTruth,
    NuisanceRanges,
    SceneSpec,
    StripLook,
    VeilRanges,
    add_veil,
    line_centres_px,
    random_scene,
    render_scene,
)

QUIET = Camera(jpeg_quality=None, shot_noise=0.0, read_noise=0.0)


def linear(frame: np.ndarray) -> np.ndarray:
    v = frame.astype(np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def patch(img: np.ndarray, x: float, y: float, r: int = 2) -> np.ndarray:
    xi, yi = round(x), round(y)
    return img[yi - r:yi + r + 1, xi - r:xi + r + 1].reshape(-1, 3).mean(axis=0)


def quiet_scene(seed: int = 4) -> SceneSpec:
    spec = SceneSpec(seed=seed, camera=QUIET, lines=(LineTruth(0.6, 0.5),))
    return replace(spec, look=replace(spec.look, membrane_texture=0.0))


@pytest.mark.parametrize("strength", [0.03, 0.2, 0.5])
def test_a_veil_adds_its_strength_of_the_membranes_light(strength: float) -> None:
    spec = quiet_scene()
    t, c = line_centres_px(spec, 0)
    ranges = VeilRanges(aspect=(1.0, 1.0), order=(1.0, 1.0), tint=0.0)
    # The first draw that lands on the membrane, clear of both lines.
    veiled = next(v for s in range(50)
                  if min(abs((v := add_veil(spec, s, ranges, strength=strength, on="any")
                              ).glare[-1].x_px - x) for x in (t[0], c[0])) > 3 * 12)
    spot = veiled.glare[-1]
    before = patch(linear(render_scene(spec)), spot.x_px, spot.y_px)
    after = patch(linear(render_scene(veiled)), spot.x_px, spot.y_px)
    # Every colour gains the same share of its own light (the light's colour, white membrane).
    assert after / before - 1 == pytest.approx(np.full(3, strength), rel=0.12, abs=0.004)


@pytest.mark.parametrize("line", ["C", "T"])
def test_a_veil_can_sit_on_either_line(line: str) -> None:
    spec = quiet_scene()
    t, c = line_centres_px(spec, 0)
    for seed in range(5):
        spot = add_veil(spec, seed, on=line).glare[-1]
        target = c if line == "C" else t
        assert abs(spot.x_px - target[0]) <= 0.3 * 12 + 1e-6  # within 0.3 mm along
        assert abs(spot.y_px - target[1]) <= 2.2 * 12  # inside the window across


def test_veil_draws_cover_the_ranges_and_the_card_windows() -> None:
    spec = quiet_scene()
    ranges = VeilRanges()
    sizes = [add_veil(spec, s).glare[-1].sigma_px * 2.3548 / 12 for s in range(60)]
    assert min(sizes) >= ranges.size_mm[0] - 1e-9 and max(sizes) <= ranges.size_mm[1] + 1e-9
    assert max(sizes) - min(sizes) > 1.5


def test_a_flat_topped_elongated_spot_keeps_its_peak() -> None:
    base = SceneSpec(cassette=None, camera=QUIET)
    round_ = GlareSpot(640, 480, 12.0, 0.2)
    disc = GlareSpot(640, 480, 12.0, 0.2, aspect=2.0, angle_deg=90.0, order=2.5)
    a = linear(render_scene(replace(base, glare=(round_,)))) - linear(render_scene(base))
    b = linear(render_scene(replace(base, glare=(disc,)))) - linear(render_scene(base))
    assert a[480, 640, 1] == pytest.approx(b[480, 640, 1], rel=0.02)
    # Flatter: inside one sigma the disc keeps more of its peak; longer along its axis (y).
    assert b[480, 648, 1] > 1.1 * a[480, 648, 1]
    assert b[504, 640, 1] > 3 * b[480, 664, 1]


def test_a_camera_can_see_gold_in_other_colours() -> None:
    spec = quiet_scene()
    spec = replace(spec, look=replace(spec.look, line_unevenness=0.0, gold_bgr=(0.4, 1.0, 0.15)))
    img = linear(render_scene(spec))
    _, c = line_centres_px(spec, 0)
    mem = patch(img, c[0] - 2.5 * 12, c[1])
    line = patch(img, c[0], c[1])
    od = -np.log10(line / mem)
    assert od[2] / od[1] == pytest.approx(0.15, abs=0.02)
    assert od[0] / od[1] == pytest.approx(0.4, abs=0.03)
    assert StripLook().gold_bgr == GOLD_ABSORBANCE_BGR


def test_gold_ratios_are_drawn_only_when_asked() -> None:
    plain = random_scene(9)
    assert plain.look.gold_bgr == GOLD_ABSORBANCE_BGR
    drawn = random_scene(9, ranges=replace(NuisanceRanges(), gold_red=(0.15, 0.35)))
    assert drawn.look.gold_bgr[2] != 0.25 and 0.15 <= drawn.look.gold_bgr[2] <= 0.35
    # Everything else about the scene stays the same (drawn last).
    assert replace(drawn, look=replace(drawn.look, gold_bgr=GOLD_ABSORBANCE_BGR)) == plain


def test_the_exposure_set_spans_half_to_one_point_six() -> None:
    exposures = [random_scene(s, ranges=EXPOSURE_HEADROOM).light.exposure for s in range(200)]
    assert min(exposures) >= 0.5 and max(exposures) <= 1.6
    assert min(exposures) < 0.6 and max(exposures) > 1.5
    spec = random_scene(3, ranges=EXPOSURE_HEADROOM)
    bright = replace(spec, light=replace(spec.light, exposure=1.6, colour_temp_k=4200.0))
    # At the top, noise alone clips some of the reddest pixels of the white plastic.
    assert (render_scene(bright)[:, :, 2] == 255).any()
