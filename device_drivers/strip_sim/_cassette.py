"""Render a cassette flat, in its own coordinates, at the frame's pixel scale.

The result is a reflectance image (BGR, linear, 0..1), a coverage mask (alpha) and the soft
contact shadow it casts on the tray; ``render`` then places it in the frame with one affine
warp. Lines are drawn analytically (a rectangle softened by a Gaussian, in optical density),
so their density is exact whatever the scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .spec import LineTruth, SceneSpec, StripLook, WindowGeometry

MARGIN_MM = 3.0  # room around the cassette for its shadow and the warp's interpolation
SUPER = 4  # sub-samples per pixel across the lines


@dataclass
class Canvas:
    """A rendered cassette; pixel (col, row) sits at mm ((col - cx) / s, (row - cy) / s)."""

    reflectance: np.ndarray  # (h, w, 3) float32
    alpha: np.ndarray  # (h, w) float32, 1 on the cassette
    shadow: np.ndarray  # (h, w) float32, multiplies the tray
    centre_px: tuple[float, float]
    px_per_mm: float


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and scipy is not a dependency.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _box_profile(x: np.ndarray, centre: float, width: float, edge: float) -> np.ndarray:
    """A unit-height rectangle of ``width`` at ``centre``, its edges softened by ``edge``."""
    k = 1.0 / (math.sqrt(2.0) * max(edge, 1e-6))
    return 0.5 * (_erf((x - centre + width / 2) * k) - _erf((x - centre - width / 2) * k))


def _rounded_rect_sdf(u: np.ndarray, v: np.ndarray, cu: float, cv: float,
                      half: tuple[float, float], radius: float) -> np.ndarray:
    """Signed distance (mm, negative inside) to a rounded rectangle."""
    qx = np.abs(u - cu) - (half[0] - radius)
    qy = np.abs(v - cv) - (half[1] - radius)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - radius


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian noise low-passed to ``sigma_px`` and rescaled to unit standard deviation."""
    n: np.ndarray = rng.standard_normal(shape, dtype=np.float32)
    if sigma_px > 0.3:
        n = cv2.GaussianBlur(n, (0, 0), sigma_px)
    sd = float(n.std())
    return n / sd if sd > 0 else n


def render_cassette(spec: SceneSpec, rng: np.random.Generator) -> Canvas:
    """Render the cassette of ``spec`` (which must have one) into a canvas."""
    geo = spec.cassette
    assert geo is not None
    s = spec.camera.px_per_mm
    look = spec.look
    length, width = geo.size_mm
    cw = math.ceil((length + 2 * MARGIN_MM) * s)
    ch = math.ceil((width + 2 * MARGIN_MM) * s)
    cx, cy = (cw - 1) / 2, (ch - 1) / 2
    u = ((np.arange(cw, dtype=np.float32) - cx) / s)[None, :]
    v = ((np.arange(ch, dtype=np.float32) - cy) / s)[:, None]

    d_out = _rounded_rect_sdf(u, v, 0.0, 0.0, (length / 2, width / 2), geo.corner_radius_mm)
    alpha = np.clip(0.5 - d_out * s, 0.0, 1.0).astype(np.float32)
    # Soft contact shadow on the tray around the cassette.
    shadow = (1.0 - 0.35 * np.exp(-np.maximum(d_out, 0.0) / 0.8)).astype(np.float32)

    plastic = np.float32(look.plastic_reflectance) * np.asarray(
        look.plastic_tint_bgr, dtype=np.float32)
    grain = 1.0 + 0.004 * _smooth_noise(rng, (ch, cw), 1.5)
    refl = grain[:, :, None] * plastic[None, None, :]

    for window, truth in zip(geo.windows, spec.lines, strict=True):
        _draw_well(refl, u, v, window, s)
        _draw_window(refl, u, v, window, truth, look, s, rng)
        _draw_labels(refl, window, s, cx, cy)
    return Canvas(refl.astype(np.float32), alpha, shadow, (cx, cy), s)


def _bbox(u: np.ndarray, v: np.ndarray, cu: float, cv: float, hu: float, hv: float
          ) -> tuple[slice, slice]:
    cols = np.nonzero((u[0] >= cu - hu) & (u[0] <= cu + hu))[0]
    rows = np.nonzero((v[:, 0] >= cv - hv) & (v[:, 0] <= cv + hv))[0]
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _draw_well(refl: np.ndarray, u: np.ndarray, v: np.ndarray, w: WindowGeometry,
               s: float) -> None:
    (wu, wv), r = w.well_centre_mm, w.well_diameter_mm / 2
    rows, cols = _bbox(u, v, wu, wv, r + 1.5, r + 1.5)
    uu, vv = u[:, cols], v[rows, :]
    d = np.hypot(uu - wu, vv - wv) - r  # negative inside the opening
    inside = np.clip(0.5 - d * s, 0.0, 1.0)[:, :, None]
    rim = (1.0 - 0.3 * np.exp(-np.abs(d) / 0.4))[:, :, None]
    pad = np.array([0.30, 0.34, 0.36], dtype=np.float32)  # wet sample pad, brownish
    region = refl[rows, cols]
    refl[rows, cols] = (region * (1 - inside) + pad * inside) * rim


def _draw_window(refl: np.ndarray, u: np.ndarray, v: np.ndarray, w: WindowGeometry,
                 truth: LineTruth, look: StripLook, s: float, rng: np.random.Generator) -> None:
    (wu, wv), (wl, ww) = w.centre_mm, w.size_mm
    rows, cols = _bbox(u, v, wu, wv, wl / 2 + 1.5, ww / 2 + 1.5)
    uu, vv = u[:, cols], v[rows, :]
    shape = (rows.stop - rows.start, cols.stop - cols.start)
    d = _rounded_rect_sdf(uu, vv, wu, wv, (wl / 2, ww / 2), 0.5)
    opening = np.clip(0.5 - d * s, 0.0, 1.0)
    # The membrane lies ~1 mm below the plastic: a bevel shadow outside, a recess shadow inside.
    bevel = 1.0 - 0.22 * np.exp(-np.maximum(d, 0.0) / 0.35)
    recess = 1.0 - 0.25 * np.exp(-np.maximum(-d, 0.0) / 0.2)

    x = uu - (wu - wl / 2)  # mm from the window's sample-side edge, along the flow
    across = (1.0 + look.line_unevenness * _smooth_noise(rng, (shape[0], 1), 0.6 * s))
    # Lines are sampled SUPER times per pixel along the flow and the light averaged, as a
    # sensor pixel integrates over its area (point samples would alias sharp line edges).
    sub = (np.arange(SUPER, dtype=np.float32) + 0.5) / SUPER - 0.5
    xf = (x[:, :, None] + sub[None, None, :] / s)  # (1, cols, SUPER)
    line_od = np.zeros((1, shape[1], SUPER), dtype=np.float32)
    for centre, density in ((w.t_mm, truth.t_od), (w.c_mm, truth.c_od)):
        if density > 0:
            line_od = line_od + density * _box_profile(xf, centre, look.line_width_mm,
                                                       look.line_edge_mm)
    od: np.ndarray = np.float32(look.background_od) + np.zeros(shape, dtype=np.float32)
    if look.uncleared_od > 0:
        # More unbound gold near the sample side, fading towards the far end.
        od = od + look.uncleared_od * (1.4 - 0.8 * np.clip(x / wl, 0, 1))
    gold = np.asarray(look.gold_bgr, dtype=np.float32)
    lines = line_od[:, :, :, None] * across[:, :, None, None]  # (rows, cols, SUPER, 1)
    transmit = np.power(np.float32(10.0), -(od[:, :, None, None] + lines) * gold).mean(axis=2)

    texture = 1.0 + look.membrane_texture * _smooth_noise(
        rng, shape, max(look.membrane_texture_mm * s, 0.5))
    base = np.float32(look.plastic_reflectance * look.membrane_reflectance)
    membrane = (base * np.asarray(look.membrane_tint_bgr, dtype=np.float32))[None, None, :]
    membrane = membrane * texture[:, :, None] * transmit
    if look.wet > 0:
        # Water makes nitrocellulose translucent: darker, most near the sample side.
        wetness = look.wet * (1.15 - 0.3 * np.clip(x / wl, 0, 1))
        membrane = membrane * (1.0 - wetness)[:, :, None]
    membrane = membrane * recess[:, :, None]
    region = refl[rows, cols] * bevel[:, :, None]
    a = opening[:, :, None]
    refl[rows, cols] = region * (1 - a) + membrane * a


def _draw_labels(refl: np.ndarray, w: WindowGeometry, s: float, cx: float, cy: float) -> None:
    """Print 'T' and 'C' beside the window, as cassettes have."""
    u0 = w.centre_mm[0] - w.size_mm[0] / 2
    v_text = w.centre_mm[1] - w.size_mm[1] / 2 - 0.9  # baseline just above the window
    scale = 1.8 * s / 22.0  # ~1.8 mm tall glyphs
    # Draw into a small patch around the labels only.
    px0 = max(int(cx + (u0 - 1.0) * s), 0)
    px1 = min(int(cx + (u0 + w.size_mm[0] + 1.0) * s), refl.shape[1])
    py0 = max(int(cy + (v_text - 3.0) * s), 0)
    py1 = min(int(cy + (v_text + 1.0) * s), refl.shape[0])
    if px0 >= px1 or py0 >= py1:
        return
    ink = np.zeros((py1 - py0, px1 - px0), dtype=np.uint8)
    for label, pos in (("T", w.t_mm), ("C", w.c_mm)):
        org = (round(cx + (u0 + pos - 0.6) * s) - px0, round(cy + v_text * s) - py0)
        cv2.putText(ink, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255,
                    max(1, round(0.18 * s)), cv2.LINE_AA)
    mask = (ink.astype(np.float32) / 255.0)[:, :, None]
    ink_colour = np.array([0.30, 0.22, 0.20], dtype=np.float32)  # dark blue print
    patch = refl[py0:py1, px0:px1]
    refl[py0:py1, px0:px1] = patch * (1 - mask) + ink_colour * mask
