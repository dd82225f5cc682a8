"""Render a strip scene (a cassette in the reader's tray) to a camera frame.

``render_scene(spec, frame_index=k)`` is deterministic: the scene (texture, line unevenness,
tray) depends only on ``spec.seed``; the sensor noise also depends on ``frame_index``, so a
burst of frames shows the same scene with fresh noise, as a real burst does.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from . import _optics
from ._cassette import render_cassette
from .geometry import cassette_to_frame
from .spec import SceneSpec


def render_scene(spec: SceneSpec, *, frame_index: int = 0) -> np.ndarray:
    """Render one frame of the scene.

    Args:
        spec: the scene (truth, geometry and nuisance factors).
        frame_index: index of the frame in a burst; changes the sensor noise only.

    Returns:
        A BGR uint8 image of ``spec.camera.height`` x ``spec.camera.width`` pixels.
    """
    if frame_index < 0:
        raise ValueError("frame_index must be >= 0")
    cam = spec.camera
    scene_rng = np.random.default_rng([spec.seed, 1])
    gains = _optics.colour_gains(spec.light.colour_temp_k)
    scale = np.float32(spec.light.exposure * _optics.WHITE_LEVEL) * gains
    light = _optics.illumination_map(spec.light, cam)
    signal = _lit_scene(spec, scene_rng, light, scale)
    if spec.light.flare > 0:
        # A subsample is plenty for the mean level that stray light is proportional to.
        mean = signal[::8, ::8].mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
        signal += np.float32(spec.light.flare) * mean
    # Glare is the LED's own reflection: it dims and brightens with the exposure.
    _optics.add_glare(signal, spec.glare, gains * np.float32(spec.light.exposure))
    signal = _optics.blur(signal, cam.blur_px)
    noise_rng = np.random.default_rng([spec.seed, 2, frame_index])
    signal = _optics.sense(signal, cam, noise_rng)
    return _optics.encode(signal, cam)


def _lit_scene(spec: SceneSpec, rng: np.random.Generator, light: np.ndarray,
               scale: np.ndarray) -> np.ndarray:
    """Linear light reaching the sensor (H, W, 3) float32: reflectance x illumination."""
    cam = spec.camera
    h, w = cam.height, cam.width
    if spec.white_card:
        card = np.float32(0.86) * scale
        return light[:, :, None] * card[None, None, :]

    # The tray: dark matte plastic with a faint low-frequency mottle.
    mottle: np.ndarray = rng.standard_normal((h // 32 + 2, w // 32 + 2), dtype=np.float32)
    mottle = cv2.resize(mottle, (w, h), interpolation=cv2.INTER_CUBIC)
    tray_colour = np.float32(spec.tray_reflectance) * np.asarray(
        spec.tray_tint_bgr, dtype=np.float32) * scale
    factor: np.ndarray = mottle * np.float32(0.03) + np.float32(1.0)
    factor *= light
    if spec.cassette is None:
        return factor[:, :, None] * tray_colour[None, None, :]

    canvas = render_cassette(spec, rng)
    # Canvas pixel (col, row) sits at cassette mm ((col - cx) / s, (row - cy) / s); warp only
    # into the cassette's bounding box in the frame.
    s = canvas.px_per_mm
    canvas_to_mm = np.array([[1 / s, 0, -canvas.centre_px[0] / s],
                             [0, 1 / s, -canvas.centre_px[1] / s],
                             [0, 0, 1]])
    m = cassette_to_frame(spec) @ canvas_to_mm
    ch, cw = canvas.alpha.shape
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float64)
    mapped = corners @ m[:, :2].T + m[:, 2]
    x0 = max(math.floor(mapped[:, 0].min()) - 2, 0)
    y0 = max(math.floor(mapped[:, 1].min()) - 2, 0)
    x1 = min(math.ceil(mapped[:, 0].max()) + 3, w)
    y1 = min(math.ceil(mapped[:, 1].max()) + 3, h)
    if x0 >= x1 or y0 >= y1:  # entirely out of view
        return factor[:, :, None] * tray_colour[None, None, :]
    m_box = m.copy()
    m_box[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    refl = cv2.warpAffine(canvas.reflectance, m_box, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    alpha = cv2.warpAffine(canvas.alpha, m_box, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    shadow = cv2.warpAffine(canvas.shadow, m_box, size, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=1)
    box = (slice(y0, y1), slice(x0, x1))
    box_light = light[box]
    factor[box] *= shadow * (1.0 - alpha)
    signal = factor[:, :, None] * tray_colour[None, None, :]
    signal[box] += refl * (alpha * box_light)[:, :, None] * scale[None, None, :]
    return signal
