"""Scenes with their nuisance factors drawn at random, for tests and the benchmark.

:class:`NuisanceRanges` holds the ranges a working reader sees (a closed box with its own LED,
a fixed-focus camera, a tray that seats the cassette within a few millimetres); each
:class:`Defect` pushes exactly one factor beyond what a reading can survive, so a scorer can be
checked for rejecting it *for the right reason*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from ._optics import WHITE_LEVEL, illumination_at
from .geometry import cassette_to_frame, map_points, window_quads
from .spec import (
    Camera,
    CassetteGeometry,
    GlareSpot,
    Illumination,
    LineTruth,
    Placement,
    SceneSpec,
    StripLook,
    single_strip_cassette,
)


class Defect(StrEnum):
    """One thing wrong with a scene."""

    OVEREXPOSED = "overexposed"
    UNDEREXPOSED = "underexposed"
    BLURRED = "blurred"
    GLARE = "glare"
    NO_CASSETTE = "no_cassette"
    MISPLACED = "misplaced"
    ROTATED = "rotated"
    REVERSED = "reversed"
    WET = "wet"
    UNCLEARED = "uncleared"
    NO_C_LINE = "no_c_line"


@dataclass(frozen=True)
class NuisanceRanges:
    """Uniform ranges (low, high) of each nuisance factor in a good scene."""

    offset_mm: float = 3.0  # each axis, +-
    rotation_deg: float = 3.0  # +-
    scale: float = 0.015  # relative, +-: tray height and cassette thickness
    blur_px: tuple[float, float] = (0.4, 1.3)
    vignetting: tuple[float, float] = (0.0, 0.35)
    tilt: float = 0.08  # each axis, +-
    colour_temp_k: tuple[float, float] = (4200.0, 6000.0)
    exposure: tuple[float, float] = (0.7, 1.15)
    flare: tuple[float, float] = (0.0, 0.01)
    ripple: tuple[float, float] = (0.0, 0.004)
    ripple_period_mm: tuple[float, float] = (6.0, 14.0)
    shot_noise: tuple[float, float] = (0.005, 0.02)
    read_noise: tuple[float, float] = (0.001, 0.004)
    lossless_share: float = 0.2
    jpeg_quality: tuple[int, int] = (75, 95)
    bayer_share: float = 0.0  # share of scenes taken through a colour filter array
    membrane_reflectance: tuple[float, float] = (0.85, 0.97)
    membrane_tint: float = 0.01
    membrane_texture: tuple[float, float] = (0.005, 0.025)
    membrane_texture_mm: tuple[float, float] = (0.08, 0.25)
    background_od: tuple[float, float] = (0.0, 0.02)
    line_width_mm: tuple[float, float] = (0.8, 1.2)
    line_edge_mm: tuple[float, float] = (0.04, 0.12)
    line_unevenness: tuple[float, float] = (0.0, 0.08)
    plastic_reflectance: tuple[float, float] = (0.76, 0.86)
    plastic_tint: float = 0.01
    tray_reflectance: tuple[float, float] = (0.1, 0.3)
    tray_tint: float = 0.1
    glare_spots: tuple[float, float, float] = (0.5, 0.3, 0.2)  # P(0), P(1), P(2) spots
    glare_sigma_mm: tuple[float, float] = (0.8, 2.5)
    glare_peak: tuple[float, float] = (0.2, 1.0)
    c_od: tuple[float, float] = (0.3, 0.9)
    t_c: tuple[float, float] = (0.0, 1.5)
    gold_red: tuple[float, float] | None = None
    """Gold's red absorbance relative to green, drawn per scene (None: the default 0.25);
    drawn after every other factor, so a scene's other looks do not depend on it."""
    gold_blue: tuple[float, float] | None = None
    """The same for blue (None: the default 0.5)."""


KIOSK_CAPTURE = NuisanceRanges(lossless_share=1.0, bayer_share=1.0)
"""What the kiosk's own camera delivers: lossless frames (a Pi camera's RGB888, a UVC camera's
YUYV) from a colour-filter-array sensor, demosaiced. The default ranges mix in JPEG frames
(photographs from elsewhere, MJPEG webcams) and leave demosaicing out."""


EXPOSURE_HEADROOM = replace(KIOSK_CAPTURE, exposure=(0.5, 1.6))
"""The kiosk's frames with the light anywhere from half to 1.6 times nominal (an LED that
aged or was replaced, a shutter set by hand): at the top, the white plastic reaches the
sensor's clipping level and noise clips the brightest colours of the membrane."""


@dataclass(frozen=True)
class VeilRanges:
    """A veil: weak, broad glare over a result window (a soft reflection of the light on the
    window's cover or a wet membrane), drawn by :func:`add_veil`.

    ``strength`` is the peak added light as a fraction of the membrane's own light there;
    ``size_mm`` the spot's full width at half maximum along its short axis.
    """

    strength: tuple[float, float] = (0.03, 0.5)
    size_mm: tuple[float, float] = (1.0, 3.0)
    aspect: tuple[float, float] = (1.0, 1.8)
    order: tuple[float, float] = (1.0, 2.5)
    """1 is a Gaussian spot, up to 2.5 a soft disc with a flat top."""
    on_line_share: float = 2 / 3
    """Share of veils centred on a line (C or T, equally), the rest anywhere along."""
    tint: float = 0.03
    """Colour of the reflection: the LED's, each colour off by up to this much."""


# What each defect does, as ranges beyond the good ones.
DEFECT_RANGES: dict[Defect, tuple[float, float]] = {
    Defect.OVEREXPOSED: (2.5, 5.0),  # exposure
    Defect.UNDEREXPOSED: (0.04, 0.2),  # exposure
    Defect.BLURRED: (4.0, 10.0),  # blur sigma, px
    Defect.GLARE: (0.6, 2.0),  # glare spot sigma, mm (peak 0.6-2.0)
    Defect.MISPLACED: (8.0, 25.0),  # offset from the nominal position, mm
    Defect.ROTATED: (8.0, 25.0),  # |rotation|, degrees
    Defect.WET: (0.3, 0.55),  # wetness
    Defect.UNCLEARED: (0.12, 0.35),  # unbound gold, green OD
}


def random_lines(rng: np.random.Generator, n: int, ranges: NuisanceRanges | None = None
                 ) -> tuple[LineTruth, ...]:
    """``n`` windows with C and T/C drawn uniformly from ``ranges``."""
    r = ranges or NuisanceRanges()
    return tuple(
        LineTruth.from_ratio(float(rng.uniform(*r.c_od)), float(rng.uniform(*r.t_c)))
        for _ in range(n)
    )


def random_scene(
    seed: int,
    *,
    cassette: CassetteGeometry | None = None,
    lines: tuple[LineTruth, ...] | None = None,
    defect: Defect | None = None,
    ranges: NuisanceRanges | None = None,
) -> SceneSpec:
    """A scene with every nuisance factor drawn at random from ``ranges``, plus ``defect``.

    Args:
        seed: drives every draw and the rendering.
        cassette: the cassette geometry (default: a single strip).
        lines: the truth per window (default: drawn from ``ranges``).
        defect: one thing to get wrong, or None for a good scene.
        ranges: the good ranges (default :class:`NuisanceRanges`).
    """
    r = ranges or NuisanceRanges()
    rng = np.random.default_rng([seed, 7])
    geo = cassette or single_strip_cassette()
    if lines is None:
        lines = random_lines(rng, len(geo.windows), r)

    def u(bounds: tuple[float, float]) -> float:
        return float(rng.uniform(*bounds))

    def pm(half: float) -> float:
        return float(rng.uniform(-half, half))

    def tint(half: float) -> tuple[float, float, float]:
        return (1 + pm(half), 1 + pm(half), 1 + pm(half))

    look = StripLook(
        line_width_mm=u(r.line_width_mm),
        line_edge_mm=u(r.line_edge_mm),
        line_unevenness=u(r.line_unevenness),
        membrane_reflectance=u(r.membrane_reflectance),
        membrane_tint_bgr=tint(r.membrane_tint),
        membrane_texture=u(r.membrane_texture),
        membrane_texture_mm=u(r.membrane_texture_mm),
        background_od=u(r.background_od),
        plastic_reflectance=u(r.plastic_reflectance),
        plastic_tint_bgr=tint(r.plastic_tint),
    )
    light = Illumination(
        exposure=u(r.exposure),
        vignetting=u(r.vignetting),
        tilt=(pm(r.tilt), pm(r.tilt)),
        colour_temp_k=u(r.colour_temp_k),
        ripple=u(r.ripple),
        ripple_period_mm=u(r.ripple_period_mm),
        ripple_angle_deg=u((0.0, 180.0)),
        flare=u(r.flare),
    )
    camera = Camera(
        px_per_mm=12.0 * (1 + pm(r.scale)),
        blur_px=u(r.blur_px),
        shot_noise=u(r.shot_noise),
        read_noise=u(r.read_noise),
        jpeg_quality=None if rng.random() < r.lossless_share
        else int(rng.integers(r.jpeg_quality[0], r.jpeg_quality[1] + 1)),
        # Drawn only when mixed, so scenes of the default ranges keep their seeds' looks.
        bayer=r.bayer_share >= 1.0 or (r.bayer_share > 0.0 and rng.random() < r.bayer_share),
    )
    placement = Placement(offset_mm=(pm(r.offset_mm), pm(r.offset_mm)),
                          rotation_deg=pm(r.rotation_deg))
    spec = SceneSpec(
        seed=seed, cassette=geo, lines=tuple(lines), look=look, light=light, camera=camera,
        placement=placement, tray_reflectance=u(r.tray_reflectance),
        tray_tint_bgr=tint(r.tray_tint),
    )
    spec = replace(spec, glare=_harmless_glare(spec, rng, r))
    if defect is not None:
        spec = _apply_defect(spec, defect, rng)
    if r.gold_red is not None or r.gold_blue is not None:
        gold = (u(r.gold_blue) if r.gold_blue else 0.5, 1.0,
                u(r.gold_red) if r.gold_red else 0.25)
        spec = replace(spec, look=replace(spec.look, gold_bgr=gold))
    return spec


def membrane_light(spec: SceneSpec, x_px: float, y_px: float) -> float:
    """The membrane's own light (green, linear, at exposure 1, as glare peaks are given) at a
    frame point: a glare spot's ``peak`` over this is its strength."""
    look = spec.look
    return look.plastic_reflectance * look.membrane_reflectance * look.membrane_tint_bgr[1] \
        * WHITE_LEVEL * illumination_at(spec.light, spec.camera, x_px, y_px)


def add_veil(spec: SceneSpec, seed: int, ranges: VeilRanges | None = None, *,
             window: int | None = None, strength: float | None = None,
             on: str | None = None) -> SceneSpec:
    """``spec`` with a veil of glare over one result window (drawn from ``ranges``).

    Args:
        spec: a scene with a cassette.
        seed: drives the draws (position, size, shape, strength).
        window: which window (default: one at random).
        strength: peak added light over the membrane's light there (default: drawn).
        on: "C" or "T" to centre it on that line, "any" for anywhere along the window
            (default: drawn by ``ranges.on_line_share``).
    """
    assert spec.cassette is not None, "a veil needs a cassette"
    r = ranges or VeilRanges()
    rng = np.random.default_rng([seed, 17])
    geo = spec.cassette
    i = int(rng.integers(len(geo.windows))) if window is None else window
    w = geo.windows[i]
    (cu, cv), (wl, ww) = w.centre_mm, w.size_mm
    if on is None:
        on = ("C" if rng.random() < 0.5 else "T") if rng.random() < r.on_line_share else "any"
    if on == "any":
        x_mm = float(rng.uniform(0.0, wl))
    else:
        x_mm = (w.c_mm if on == "C" else w.t_mm) + float(rng.uniform(-0.3, 0.3))
    v_mm = cv + float(rng.uniform(-ww / 2 + 0.3, ww / 2 - 0.3))
    x, y = map_points(cassette_to_frame(spec), np.array([[cu - wl / 2 + x_mm, v_mm]]))[0]
    fwhm = float(rng.uniform(*r.size_mm))
    level = strength if strength is not None else float(rng.uniform(*r.strength))
    spot = GlareSpot(float(x), float(y), fwhm / 2.3548 * spec.camera.px_per_mm,
                     level * membrane_light(spec, x, y), aspect=float(rng.uniform(*r.aspect)),
                     angle_deg=float(rng.uniform(0.0, 180.0)), order=float(rng.uniform(*r.order)),
                     tint_bgr=(1 + float(rng.uniform(-r.tint, r.tint)), 1.0,
                               1 + float(rng.uniform(-r.tint, r.tint))))
    return replace(spec, glare=(*spec.glare, spot))


def _distance_to_polygon(point: np.ndarray, poly: np.ndarray) -> float:
    """Distance in pixels from a point to a convex polygon (0 inside)."""
    import cv2  # local: only this helper needs it

    d = cv2.pointPolygonTest(poly.astype(np.float32).reshape(-1, 1, 2),
                             (float(point[0]), float(point[1])), True)
    return max(-d, 0.0)


def _harmless_glare(spec: SceneSpec, rng: np.random.Generator, r: NuisanceRanges
                    ) -> tuple[GlareSpot, ...]:
    """0-2 glare spots that stay clear of every window and well (the reader's design aim)."""
    count = int(rng.choice(3, p=list(r.glare_spots)))
    if count == 0 or spec.cassette is None:
        return ()
    cam = spec.camera
    s = cam.px_per_mm
    m = cassette_to_frame(spec)
    windows = window_quads(spec)  # frame pixels
    wells = [map_points(m, np.array([w.well_centre_mm]))[0] for w in spec.cassette.windows]
    spots: list[GlareSpot] = []
    for _ in range(200):
        if len(spots) == count:
            break
        sigma = float(rng.uniform(*r.glare_sigma_mm)) * s
        p = np.array([rng.uniform(0, cam.width), rng.uniform(0, cam.height)])
        clear = 4 * sigma + 3.5 * s
        if any(_distance_to_polygon(p, q) < clear for q in windows):
            continue
        if any(np.hypot(*(p - w)) < 4 * sigma + 4 * s for w in wells):
            continue
        spots.append(GlareSpot(float(p[0]), float(p[1]), sigma, float(rng.uniform(*r.glare_peak))))
    return tuple(spots)


def _apply_defect(spec: SceneSpec, defect: Defect, rng: np.random.Generator) -> SceneSpec:
    lo, hi = DEFECT_RANGES.get(defect, (0.0, 0.0))
    value = float(rng.uniform(lo, hi))
    if defect is Defect.OVEREXPOSED or defect is Defect.UNDEREXPOSED:
        return replace(spec, light=replace(spec.light, exposure=value))
    if defect is Defect.BLURRED:
        return replace(spec, camera=replace(spec.camera, blur_px=value))
    if defect is Defect.GLARE:
        assert spec.cassette is not None
        i = int(rng.integers(len(spec.cassette.windows)))
        w = spec.cassette.windows[i]
        (cu, cv), (wl, ww) = w.centre_mm, w.size_mm
        point = np.array([[cu + rng.uniform(-wl / 2 + 1, wl / 2 - 1),
                           cv + rng.uniform(-ww / 2 + 0.5, ww / 2 - 0.5)]])
        x, y = map_points(cassette_to_frame(spec), point)[0]
        spot = GlareSpot(float(x), float(y), value * spec.camera.px_per_mm,
                         float(rng.uniform(0.6, 2.0)))
        return replace(spec, glare=(*spec.glare, spot))
    if defect is Defect.NO_CASSETTE:
        return replace(spec, cassette=None, lines=(), glare=())
    if defect is Defect.MISPLACED:
        a = rng.uniform(0, 2 * math.pi)
        off = (value * math.cos(a), value * math.sin(a))
        return replace(spec, placement=replace(spec.placement, offset_mm=off))
    if defect is Defect.ROTATED:
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return replace(spec, placement=replace(spec.placement, rotation_deg=sign * value))
    if defect is Defect.REVERSED:
        return replace(spec, placement=replace(spec.placement, reversed=True))
    if defect is Defect.WET:
        return replace(spec, look=replace(spec.look, wet=value))
    if defect is Defect.UNCLEARED:
        return replace(spec, look=replace(spec.look, uncleared_od=value))
    if defect is Defect.NO_C_LINE:
        return replace(spec, lines=tuple(LineTruth(0.0, t.t_od) for t in spec.lines))
    raise ValueError(f"unknown defect {defect!r}")  # pragma: no cover
