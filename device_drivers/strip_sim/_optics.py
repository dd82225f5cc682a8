"""The light, the lens and the sensor: illumination, glare, blur, colour filter array and
noise, sRGB encoding, JPEG.

Everything here works on linear light in the frame (float32, BGR, 1.0 = full scale) until
``encode``, which applies the sRGB transfer curve and 8-bit quantisation a camera's image
pipeline applies, and optionally a JPEG round trip.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import cv2
import numpy as np

from .spec import Camera, GlareSpot, Illumination

WHITE_LEVEL = 0.6 / 0.8
"""Linear signal per unit reflectance at exposure 1: white plastic (0.8) lands at 60 %,
leaving head-room against clipping as a quantitative reader's fixed exposure does."""

_SRGB_STEPS = 16384


def _srgb_lut() -> np.ndarray:
    x = np.linspace(0.0, 1.0, _SRGB_STEPS, dtype=np.float64)
    y = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)
    return np.clip(np.round(y * 255.0), 0, 255).astype(np.uint8)


_SRGB_ENCODE = _srgb_lut()

# Gaussian quantiles for 256 equiprobable bins, rescaled to unit variance: turning random
# bytes into noise this way is several times faster than drawing normal deviates.
_GAUSS = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)], dtype=np.float32)
_GAUSS /= np.float32(_GAUSS.std())


def colour_gains(temp_k: float) -> np.ndarray:
    """BGR gains of an LED of ``temp_k`` seen through a white balance fixed for 5000 K."""
    r = 5000.0 / temp_k
    return np.array([r ** -0.9, 1.0, r ** 0.9], dtype=np.float32)


def illumination_map(light: Illumination, cam: Camera) -> np.ndarray:
    """Relative illumination over the frame (H, W), 1.0 at the centre of a flat light."""
    return _field(light, cam, np.arange(cam.width, dtype=np.float32),
                  np.arange(cam.height, dtype=np.float32))


def illumination_at(light: Illumination, cam: Camera, x_px: float, y_px: float) -> float:
    """Relative illumination at one frame point (as :func:`illumination_map` has it)."""
    return float(_field(light, cam, np.array([x_px], dtype=np.float32),
                        np.array([y_px], dtype=np.float32))[0, 0])


def _field(light: Illumination, cam: Camera, cols: np.ndarray, rows: np.ndarray
           ) -> np.ndarray:
    """Relative illumination at the given pixel columns and rows (float32 vectors)."""
    h, w = cam.height, cam.width
    x = (cols - (w - 1) / 2) / (w / 2)
    y = (rows - (h - 1) / 2) / (h / 2)
    corner2 = 1.0 + (h / w) ** 2
    vig_x = (light.vignetting / corner2) * x * x
    vig_y = (light.vignetting / corner2) * (y * (h / w)) ** 2
    field = 1.0 - vig_y[:, None] - vig_x[None, :]
    field = field * (1.0 + light.tilt[1] * y[:, None] + light.tilt[0] * x[None, :])
    if light.ripple > 0:
        k = 2 * math.pi / (light.ripple_period_mm * cam.px_per_mm)
        a = math.radians(light.ripple_angle_deg)
        px = cols * np.float32(k * math.cos(a))
        py = rows * np.float32(k * math.sin(a))
        # sin(px + py) written separably to avoid a full-frame trigonometric call.
        ripple = (np.sin(py)[:, None] * np.cos(px)[None, :]
                  + np.cos(py)[:, None] * np.sin(px)[None, :])
        field = field * (1.0 + light.ripple * ripple)
    return field.astype(np.float32)


def add_glare(signal: np.ndarray, spots: tuple[GlareSpot, ...], gains: np.ndarray) -> None:
    """Add specular reflections of the LED in place (white light, tinted by the LED)."""
    h, w = signal.shape[:2]
    for spot in spots:
        r = 4.0 * spot.sigma_px * max(spot.aspect, 1.0)
        x0, x1 = max(int(spot.x_px - r), 0), min(int(spot.x_px + r) + 1, w)
        y0, y1 = max(int(spot.y_px - r), 0), min(int(spot.y_px + r) + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        xs = np.arange(x0, x1, dtype=np.float32) - spot.x_px
        ys = np.arange(y0, y1, dtype=np.float32) - spot.y_px
        colour = gains * np.asarray(spot.tint_bgr, dtype=np.float32)
        if spot.aspect == 1.0 and spot.order == 1.0:
            g = np.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2) / (2 * spot.sigma_px ** 2))
        else:
            a = math.radians(spot.angle_deg)
            along = (xs[None, :] * math.cos(a) + ys[:, None] * math.sin(a)) / spot.aspect
            across = -xs[None, :] * math.sin(a) + ys[:, None] * math.cos(a)
            r2 = (along ** 2 + across ** 2) / spot.sigma_px ** 2
            g = np.exp(-0.5 * r2 ** spot.order)
        signal[y0:y1, x0:x1] += (spot.peak * g)[:, :, None] * colour[None, None, :]


def blur(signal: np.ndarray, sigma_px: float) -> np.ndarray:
    """Optical blur of the lens (Gaussian point-spread function)."""
    if sigma_px < 0.25:
        return signal
    return cv2.GaussianBlur(signal, (0, 0), sigma_px, borderType=cv2.BORDER_REPLICATE)


_RAW_FULL_SCALE = 65535  # 16-bit raw for OpenCV's demosaicing


def sense(signal: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """What the sensor delivers: noisy light, through a colour filter array if it has one."""
    if not cam.bayer:
        add_sensor_noise(signal, cam, rng)
        return signal
    # B G / G R mosaic: each pixel keeps one colour and gets that colour's noise alone.
    mosaic = np.empty(signal.shape[:2], dtype=np.float32)
    mosaic[0::2, 0::2] = signal[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = signal[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = signal[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = signal[1::2, 1::2, 2]
    add_sensor_noise(mosaic, cam, rng)
    raw = (np.clip(mosaic, 0.0, 1.0) * _RAW_FULL_SCALE + 0.5).astype(np.uint16)
    # OpenCV names a mosaic by its second row's second and third pixels: B G / G R is "RG".
    rgb = cv2.cvtColor(raw, cv2.COLOR_BayerRG2BGR_EA)
    return rgb.astype(np.float32) * np.float32(1.0 / _RAW_FULL_SCALE)


def add_sensor_noise(signal: np.ndarray, cam: Camera, rng: np.random.Generator) -> None:
    """Shot noise (variance proportional to signal) plus read noise, in place."""
    n = signal.size
    deviates = _GAUSS[np.frombuffer(rng.bytes(n), dtype=np.uint8)].reshape(signal.shape)
    sd = np.sqrt(np.maximum(signal, 0.0) * np.float32(cam.shot_noise ** 2)
                 + np.float32(cam.read_noise ** 2))
    signal += sd * deviates


def encode(signal: np.ndarray, cam: Camera) -> np.ndarray:
    """Clip, apply the sRGB curve, quantise to 8 bits, and JPEG round-trip if configured."""
    idx = np.clip(signal, 0.0, 1.0)
    idx *= _SRGB_STEPS - 1
    idx += 0.5
    frame = _SRGB_ENCODE[idx.astype(np.uint16)]
    if cam.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(cam.jpeg_quality)])
        if not ok:  # pragma: no cover - OpenCV always encodes a uint8 BGR image
            raise RuntimeError("JPEG encoding failed")
        frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return frame
