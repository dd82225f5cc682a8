"""The flat field (from the technician's blank-card calibration) divides out a lighting
pattern that a smooth baseline cannot follow; a bad one is refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import render_scene
from gateway.kits import Kit
from gateway.scoring import FlatFieldError, make_flat_field, score

from .conftest import scene


def rippled(kit: Kit, seed: int, ratio: float):  # type: ignore[no-untyped-def]
    spec = scene(kit, seed, ratio)
    return replace(spec, light=replace(spec.light, ripple=0.06, ripple_period_mm=7.0,
                                       ripple_angle_deg=0.0))


def test_flat_field_removes_led_ripple(kit: Kit) -> None:
    errors_raw, errors_flat = [], []
    for seed, ratio in ((1, 0.9), (2, 0.5), (3, 1.2)):
        spec = rippled(kit, seed, ratio)
        card = replace(spec, white_card=True, glare=())
        flat = make_flat_field([render_scene(card, frame_index=i) for i in range(3)])
        assert flat.shape == (960, 1280, 3) and flat.dtype == np.float32
        assert float(np.median(flat[::8, ::8, 1])) == pytest.approx(1.0, abs=0.01)
        frame = render_scene(spec)
        errors_raw.append(abs(score([frame], kit).t_c_ratio - ratio))  # type: ignore[operator]
        errors_flat.append(abs(score([frame], kit, flat_field=flat).t_c_ratio - ratio))  # type: ignore[operator]
    assert max(errors_flat) < 0.03
    assert np.mean(errors_flat) < np.mean(errors_raw) / 2


def test_flat_field_accepts_grey_and_any_scale(kit: Kit) -> None:
    frame = render_scene(scene(kit, 4, 0.6))
    flat = np.full((960, 1280), 7.5, dtype=np.float32)  # uniform light, arbitrary units
    assert score([frame], kit, flat_field=flat).t_c_ratio == \
        pytest.approx(score([frame], kit).t_c_ratio, abs=1e-6)


def _columns(left: float, width: int = 640) -> np.ndarray:
    flat = np.ones((960, 1280, 3), np.float32)
    flat[:, :width] = left
    return flat


@pytest.mark.parametrize("make,match", [
    (lambda: np.ones((480, 640, 3), np.float32), "shape"),
    (lambda: np.ones((960, 1280, 3), np.uint8), "float array"),
    (lambda: np.zeros((960, 1280, 3), np.float32), "zero or negative"),
    (lambda: _columns(np.nan, 5), "NaN"),
    (lambda: _columns(0.05), "varies more than 5x"),
])
def test_bad_flat_field_is_refused(kit: Kit, make, match: str) -> None:  # type: ignore[no-untyped-def]
    frame = render_scene(scene(kit, 5, 0.6))
    with pytest.raises(FlatFieldError, match=match):
        score([frame], kit, flat_field=make())


def test_saturated_card_makes_no_flat_field(kit: Kit) -> None:
    spec = scene(kit, 6, 1.0)
    card = replace(spec, white_card=True, light=replace(spec.light, exposure=3.0))
    with pytest.raises(FlatFieldError, match="saturated"):
        make_flat_field([render_scene(card)])
