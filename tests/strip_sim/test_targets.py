"""The calibration card's focus side and LED-lit scenes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import Camera, SceneSpec
from device_drivers.strip_sim.targets import (
    BAR_BLACK,
    CARD_WHITE,
    focus_target_reflectance,
    led_lit,
    render_focus_target,
)

SMALL = SceneSpec(cassette=None, camera=Camera(width=320, height=240, jpeg_quality=None))


def test_the_bars_sit_in_the_middle_of_a_white_card():
    refl = focus_target_reflectance(SMALL, bar_mm=2.0)
    assert refl[5, 5] == pytest.approx(CARD_WHITE)
    row = refl[120, 100:220]
    assert row.min() == pytest.approx(BAR_BLACK, abs=1e-3)
    assert row.max() == pytest.approx(CARD_WHITE, abs=1e-3)
    period = 2 * 2.0 * SMALL.camera.px_per_mm  # a bar and a gap
    edges = np.flatnonzero(np.diff(row < (CARD_WHITE + BAR_BLACK) / 2))
    assert np.diff(edges).mean() == pytest.approx(period / 2, abs=0.5)


def test_a_blurred_lens_softens_the_edges():
    sharp = render_focus_target(SMALL).astype(float)
    soft = render_focus_target(replace(SMALL, camera=replace(SMALL.camera, blur_px=4.0)))
    assert np.abs(np.diff(soft[120, 100:220, 1].astype(float))).max() < \
        np.abs(np.diff(sharp[120, 100:220, 1])).max() / 2


def test_burst_frames_differ_only_in_noise():
    a, b = render_focus_target(SMALL, frame_index=0), render_focus_target(SMALL, frame_index=1)
    assert not np.array_equal(a, b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 3


def test_led_lit_scales_the_exposure_with_the_led():
    level = [0.8]
    scene = led_lit(replace(SMALL, white_card=True), lambda: level[0], nominal_level=0.8)
    full = scene(0).mean()
    level[0] = 0.0
    assert scene(0).max() < 40  # LED off: only sensor noise
    level[0] = 0.8
    assert scene(0).mean() == pytest.approx(full, abs=1)
    with pytest.raises(ValueError):
        led_lit(SMALL, lambda: 1.0, nominal_level=0)
