"""Membrane texture and the red channel: on lossless frames the scorer cancels the texture
(it darkens every colour alike, gold mostly green), without bias; JPEG frames and frames of
unknown history are read from green alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import KIOSK_CAPTURE, LineTruth, random_scene, render_scene
from gateway.kits import Kit, sim_geometry
from gateway.scoring import engine, score

from .conftest import scene


def _textured(kit: Kit, seed: int, t_c: float, c_od: float):  # type: ignore[no-untyped-def]
    """A kiosk frame (lossless, demosaiced) of a strongly textured membrane."""
    spec = random_scene(seed, cassette=sim_geometry(kit),
                        lines=(LineTruth.from_ratio(c_od, t_c),), ranges=KIOSK_CAPTURE)
    return replace(spec, look=replace(spec.look, membrane_texture=0.025))


def test_red_channel_halves_the_texture_error_on_lossless_frames(kit: Kit) -> None:
    rng = np.random.default_rng(3)
    green, corrected = [], []
    for i in range(20):
        t_c, c_od = float(rng.uniform(0.6, 1.2)), float(rng.uniform(0.35, 0.8))
        frame = render_scene(_textured(kit, 5_000 + i, t_c, c_od))
        a, b = score([frame], kit), score([frame], kit, lossless=True)
        assert a.t_c_ratio is not None and b.t_c_ratio is not None
        green.append(abs(a.t_c_ratio - t_c))
        corrected.append(abs(b.t_c_ratio - t_c))
    assert np.mean(corrected) < 0.6 * np.mean(green), (np.mean(corrected), np.mean(green))


@pytest.mark.parametrize("blur_px", [0.5, 1.3])
@pytest.mark.parametrize("t_c", [0.3, 1.3])
def test_the_corrected_model_adds_no_bias(kit: Kit, monkeypatch: pytest.MonkeyPatch,
                                          blur_px: float, t_c: float) -> None:
    # Full correction (green / red) on a quiet, texture-free, lossless scene: T and C of
    # different densities must still give the true T/C (the model divides the two blurred
    # colours rather than blurring their quotient).
    monkeypatch.setattr(engine, "TEXTURE_RED_WEIGHTS", (1.0,))
    spec = scene(kit, 11, t_c, c_od=0.8)
    spec = replace(spec, look=replace(spec.look, membrane_texture=0.0, line_unevenness=0.0),
                   camera=replace(spec.camera, jpeg_quality=None, shot_noise=0.0,
                                  read_noise=0.0, blur_px=blur_px),
                   light=replace(spec.light, ripple=0.0))
    r = score([render_scene(spec)], kit, lossless=True)
    assert r.quality["texture_red_weight"] == 1.0
    assert r.t_c_ratio == pytest.approx(t_c, abs=0.006)


def test_frames_not_known_to_be_lossless_are_read_from_green_alone(kit: Kit) -> None:
    frame = render_scene(_textured(kit, 7, 0.9, 0.6))
    assert score([frame], kit).quality["texture_red_weight"] == 0.0
    assert score([frame], kit, lossless=True).quality["texture_red_weight"] > 0.0
