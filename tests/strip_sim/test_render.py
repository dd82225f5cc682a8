"""The strip simulator: deterministic scenes, bursts with fresh noise, the truth where it
should be, every defect doing what it says."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise

import cv2
import numpy as np
import pytest

from device_drivers.strip_sim import (
    Camera,
    CassetteGeometry,
    Defect,
    GlareSpot,
    LineTruth,
    SceneSpec,
    cassette_quad,
    line_centres_px,
    multi_strip_card,
    random_scene,
    render_scene,
    window_quads,
)

LOSSLESS = Camera(jpeg_quality=None, shot_noise=0.002, read_noise=0.001)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def test_same_seed_same_frame_and_default_size() -> None:
    spec = random_scene(5)
    a, b = render_scene(spec), render_scene(spec)
    assert a.shape == (960, 1280, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)


def test_other_seed_other_scene() -> None:
    assert not np.array_equal(render_scene(random_scene(1)), render_scene(random_scene(2)))


def test_burst_frames_differ_by_noise_only() -> None:
    spec = replace(SceneSpec(seed=3), camera=LOSSLESS)
    f0 = render_scene(spec, frame_index=0).astype(np.int16)
    f1 = render_scene(spec, frame_index=1).astype(np.int16)
    diff = f1 - f0
    assert np.any(diff != 0)
    assert abs(float(diff.mean())) < 0.05  # zero-mean noise, same scene
    assert float(np.abs(diff).mean()) < 3.0
    with pytest.raises(ValueError):
        render_scene(spec, frame_index=-1)


def test_frame_size_follows_the_camera() -> None:
    spec = replace(SceneSpec(), camera=Camera(width=640, height=480, px_per_mm=6.0))
    assert render_scene(spec).shape == (480, 640, 3)


@pytest.mark.parametrize("c_od,t_c", [(0.6, 1.0), (0.4, 0.5), (0.8, 0.0)])
def test_line_densities_are_the_truth(c_od: float, t_c: float) -> None:
    """Green optical density at each line centre (against the membrane between the lines)
    is the specified one: the truth the scorer is judged against."""
    spec = SceneSpec(lines=(LineTruth.from_ratio(c_od, t_c),), camera=LOSSLESS)
    spec = replace(spec, look=replace(spec.look, line_unevenness=0.0, membrane_texture=0.0,
                                      line_width_mm=1.2))
    lin = srgb_to_linear(render_scene(spec)[:, :, 1])
    t, c = line_centres_px(spec, 0)
    mid = (t + c) / 2

    def level(p: np.ndarray) -> float:
        x, y = int(np.rint(p[0])), int(np.rint(p[1]))
        return float(lin[y - 8:y + 9, x - 1:x + 2].mean())

    membrane = level(mid)
    assert -math.log10(level(c) / membrane) == pytest.approx(c_od, abs=0.02)
    assert -math.log10(level(t) / membrane) == pytest.approx(c_od * t_c, abs=0.02)


def test_gold_absorbs_green_most() -> None:
    spec = SceneSpec(lines=(LineTruth(0.8, 0.8),), camera=LOSSLESS)
    frame = srgb_to_linear(render_scene(spec))
    _, c = line_centres_px(spec, 0)
    x, y = int(np.rint(c[0])), int(np.rint(c[1]))
    line = frame[y - 5:y + 6, x - 1:x + 2].reshape(-1, 3).mean(axis=0)
    beside = frame[y - 5:y + 6, x + 25:x + 28].reshape(-1, 3).mean(axis=0)
    od = -np.log10(line / beside)  # B, G, R
    assert od[1] > od[0] > od[2]


def test_no_cassette_and_white_card() -> None:
    empty = replace(SceneSpec(), cassette=None, lines=())
    assert window_quads(empty) == [] and cassette_quad(empty) is None
    frame = render_scene(empty)
    assert float(np.percentile(frame[:, :, 1], 99)) < 160  # only the dark tray
    card = render_scene(replace(SceneSpec(), white_card=True, camera=LOSSLESS))
    centre = card[400:560, 560:720, 1].astype(float)
    assert centre.std() < 3 and centre.mean() > 180


def test_glare_saturates() -> None:
    spec = replace(SceneSpec(), glare=(GlareSpot(200, 200, 15, 2.0),))
    assert render_scene(spec)[200, 200].min() == 255


def test_multi_window_card_geometry() -> None:
    geo = multi_strip_card(4)
    spec = SceneSpec(cassette=geo, lines=tuple(LineTruth(0.5, 0.5) for _ in range(4)))
    quads = window_quads(spec)
    assert len(quads) == 4
    centres = [q.mean(axis=0) for q in quads]
    assert all(b[1] - a[1] == pytest.approx(15 * 12, abs=1) for a, b in pairwise(centres))


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        SceneSpec(lines=(LineTruth(0.5, 0.5), LineTruth(0.5, 0.5)))  # 2 truths, 1 window
    with pytest.raises(ValueError):
        CassetteGeometry(windows=())
    with pytest.raises(ValueError):
        multi_strip_card(5)
    assert LineTruth(0.0, 0.3).t_c is None
    assert LineTruth.from_ratio(0.5, 0.4).t_od == pytest.approx(0.2)


def _inside(quad: np.ndarray, x: float, y: float) -> bool:
    return cv2.pointPolygonTest(quad.astype(np.float32).reshape(-1, 1, 2), (x, y), False) >= 0


def test_defects_change_what_they_say() -> None:
    good = random_scene(9)
    assert good.light.exposure <= 1.15 and good.camera.blur_px <= 1.3
    for spot in good.glare:  # harmless glare stays clear of the window
        q = window_quads(good)[0]
        d = -cv2.pointPolygonTest(q.astype(np.float32).reshape(-1, 1, 2),
                                  (spot.x_px, spot.y_px), True)
        assert d > 3 * spot.sigma_px
    assert random_scene(9, defect=Defect.OVEREXPOSED).light.exposure >= 2.5
    assert random_scene(9, defect=Defect.UNDEREXPOSED).light.exposure <= 0.2
    assert random_scene(9, defect=Defect.BLURRED).camera.blur_px >= 4
    assert random_scene(9, defect=Defect.NO_CASSETTE).cassette is None
    assert math.hypot(*random_scene(9, defect=Defect.MISPLACED).placement.offset_mm) >= 8
    assert abs(random_scene(9, defect=Defect.ROTATED).placement.rotation_deg) >= 8
    assert random_scene(9, defect=Defect.REVERSED).placement.reversed
    assert random_scene(9, defect=Defect.WET).look.wet >= 0.3
    assert random_scene(9, defect=Defect.UNCLEARED).look.uncleared_od >= 0.12
    assert all(t.c_od == 0 for t in random_scene(9, defect=Defect.NO_C_LINE).lines)
    glare = random_scene(9, defect=Defect.GLARE)
    spot = glare.glare[-1]
    assert _inside(window_quads(glare)[0], spot.x_px, spot.y_px)


def test_nuisances_are_drawn_at_random() -> None:
    specs = [random_scene(s) for s in range(30)]
    for values in ([s.light.exposure for s in specs], [s.camera.blur_px for s in specs],
                   [s.placement.rotation_deg for s in specs],
                   [s.look.membrane_texture for s in specs]):
        assert len(set(values)) == 30
    assert {s.camera.jpeg_quality is None for s in specs} == {True, False}


def test_a_bayer_sensor_keeps_colours_and_senses_one_colour_per_pixel() -> None:
    # Flat colour through the mosaic comes back as that colour...
    quiet = SceneSpec(camera=Camera(jpeg_quality=None, shot_noise=0.0, read_noise=0.0))
    plain = render_scene(quiet).astype(np.float64)
    mosaic = render_scene(replace(quiet, camera=replace(quiet.camera, bayer=True)))
    assert np.abs(mosaic.astype(np.float64).mean(axis=(0, 1)) - plain.mean(axis=(0, 1))).max() < 0.5
    # ...and noise is sensed once per pixel, then interpolated: neighbouring pixels of the
    # interpolated colours share it, so red and blue are smoother than where sensed alone.
    noisy = replace(quiet, camera=Camera(jpeg_quality=None, shot_noise=0.02, read_noise=0.0))
    a = render_scene(noisy).astype(np.float64)
    b = render_scene(replace(noisy, camera=replace(noisy.camera, bayer=True))).astype(np.float64)
    patch = (slice(40, 200), slice(40, 200), 2)  # red, on the empty tray
    assert np.std(np.diff(b[patch], axis=1)) < 0.8 * np.std(np.diff(a[patch], axis=1))
