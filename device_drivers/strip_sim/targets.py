"""Calibration targets for the simulated camera: the blank white card's other side, a focus
target of black bars, and scenes lit by the simulated reader's LED.

The technician's calibration card is white on one side (the flat field, ``SceneSpec(
white_card=True)``) and carries a focus target on the other: vertical black bars ``bar_mm``
wide over the middle of the view. Its edges, blurred by the lens (``spec.camera.blur_px``),
tell how sharp the camera is. ``led_lit`` makes any scene's exposure follow an LED level, so a
simulated calibration sees the light change when it dims the LED, as a real one does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from . import _optics
from .render import render_scene
from .spec import SceneSpec

CARD_WHITE = 0.86  # the same reflectance as the white card of render_scene
BAR_BLACK = 0.05


def focus_target_reflectance(spec: SceneSpec, *, bar_mm: float = 2.0,
                             area: tuple[float, float] = (0.6, 0.4)) -> np.ndarray:
    """Reflectance (H, W) of the focus side: white card, black bars in the central ``area``
    (fractions of the frame's width and height), turned by ``spec.placement.rotation_deg``."""
    cam = spec.camera
    h, w = cam.height, cam.width
    bar_px = bar_mm * cam.px_per_mm
    theta = math.radians(spec.placement.rotation_deg)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs -= (w - 1) / 2 + spec.placement.offset_mm[0] * cam.px_per_mm
    ys -= (h - 1) / 2 + spec.placement.offset_mm[1] * cam.px_per_mm
    u = xs * np.float32(math.cos(theta)) + ys * np.float32(math.sin(theta))
    v = -xs * np.float32(math.sin(theta)) + ys * np.float32(math.cos(theta))
    phase = u / np.float32(bar_px)
    k = np.floor(phase)
    frac = phase - k
    # Distance to the nearest bar edge in pixels gives an anti-aliased edge one pixel wide.
    inside = np.clip(0.5 + np.minimum(frac, 1 - frac) * np.float32(bar_px), 0, 1)
    black = np.where(np.mod(k, 2) == 0, inside, 1 - inside)
    in_patch = (np.abs(u) <= area[0] * w / 2) & (np.abs(v) <= area[1] * h / 2)
    refl = np.full((h, w), CARD_WHITE, dtype=np.float32)
    refl -= np.where(in_patch, black, 0).astype(np.float32) * np.float32(CARD_WHITE - BAR_BLACK)
    return refl


def render_focus_target(spec: SceneSpec, *, frame_index: int = 0, bar_mm: float = 2.0
                        ) -> np.ndarray:
    """One camera frame of the focus target under ``spec``'s light, lens and sensor.

    Args:
        spec: light, camera (blur, noise, size) and placement; the cassette is ignored.
        frame_index: index in a burst (changes the sensor noise only).
        bar_mm: width of each bar (and each gap) in millimetres.
    """
    if frame_index < 0:
        raise ValueError("frame_index must be >= 0")
    cam = spec.camera
    gains = _optics.colour_gains(spec.light.colour_temp_k)
    scale = np.float32(spec.light.exposure * _optics.WHITE_LEVEL) * gains
    light = _optics.illumination_map(spec.light, cam)
    refl = focus_target_reflectance(spec, bar_mm=bar_mm)
    signal = (light * refl)[:, :, None] * scale[None, None, :]
    if spec.light.flare > 0:
        signal += np.float32(spec.light.flare) * signal[::8, ::8].mean(axis=(0, 1))
    # Glare is the LED's own reflection: it dims and brightens with the exposure.
    _optics.add_glare(signal, spec.glare, gains * np.float32(spec.light.exposure))
    signal = _optics.blur(signal, cam.blur_px)
    _optics.add_sensor_noise(signal, cam, np.random.default_rng([spec.seed, 3, frame_index]))
    return _optics.encode(signal, cam)


Renderer = Callable[..., np.ndarray]


def led_lit(spec: SceneSpec, led: Callable[[], float], *, nominal_level: float = 0.8,
            render: Renderer = render_scene) -> Callable[[int], np.ndarray]:
    """A scene for ``SimulatedCamera.show`` whose exposure follows an LED level.

    Args:
        spec: the scene at the nominal LED level.
        led: reads the LED level now (e.g. ``lambda: reader.led`` of a simulated reader).
        nominal_level: the LED level at which the scene has ``spec.light.exposure``.
        render: ``render_scene`` or ``render_focus_target``.
    """
    if nominal_level <= 0:
        raise ValueError("nominal_level must be > 0")

    def frame(index: int) -> np.ndarray:
        exposure = spec.light.exposure * max(0.0, led()) / nominal_level
        lit = replace(spec, light=replace(spec.light, exposure=exposure))
        return render(lit, frame_index=index)

    return frame
