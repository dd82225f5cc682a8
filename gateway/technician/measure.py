"""What a calibration measures, as pure functions of frames: exposure, LED response, flicker,
light uniformity and spots (from the white card), and focus (from the bar target).

All figures are computed on linear light (the inverse sRGB curve applied to the camera's 8-bit
frames) in the green channel, where colloidal gold absorbs and the scorer reads. Each check
gives a :class:`Finding` with its figure, its limit and, when it fails, the problem in words
with what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from ..scoring import SRGB_TO_LINEAR  # the scorer's own curve: one linear light

GREEN = 1


@dataclass(frozen=True)
class CalibrationLimits:
    """Pass/fail thresholds of a calibration (defaults suit the reader's 12 px/mm optics).

    Attributes:
        white_min: the white card's level (linear green, centre of view) below which the
            view is under-exposed; the scorer refuses white plastic below 0.22, and the card
            must leave margin for the corners.
        white_max: above this the view is over-exposed (no head-room for glare).
        max_clipped_share: share of clipped pixels allowed in the centre of view.
        led_ratio: the light at half the LED level over the light at the full level must lie
            in this range (a PWM-dimmed LED gives about 0.5).
        max_flicker: largest frame-to-frame change of the mean level in a burst (fraction).
        min_uniformity: darkest over brightest light in the reading area (1 = even).
        max_spot: largest local dark or bright patch on the white card (fraction).
        max_edge_px: largest 10-90 % edge width of the focus bars, in pixels.
        min_target_contrast: the bars must show at least this Michelson contrast to be found.
        reading_area: fraction of the frame's width and height, centred, used for the checks.
    """

    white_min: float = 0.35
    white_max: float = 0.85
    max_clipped_share: float = 0.001
    led_ratio: tuple[float, float] = (0.30, 0.70)
    max_flicker: float = 0.02
    min_uniformity: float = 0.75
    max_spot: float = 0.05
    max_edge_px: float = 5.0
    min_target_contrast: float = 0.5
    reading_area: tuple[float, float] = (0.8, 0.8)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Finding:
    """One check of a calibration: its figure, its limit, and the problem if it failed."""

    check: str
    passed: bool
    value: float | None
    figure: str
    limit: str
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def linear(frames: Sequence[np.ndarray]) -> np.ndarray:
    """The mean of a burst in linear light, float32 (H, W, 3)."""
    acc = np.zeros(frames[0].shape, dtype=np.float32)
    for frame in frames:
        acc += SRGB_TO_LINEAR[frame]
    return acc / np.float32(len(frames))


def central(image: np.ndarray, area: tuple[float, float]) -> np.ndarray:
    """The centred part of an image covering ``area`` of its width and height."""
    h, w = image.shape[:2]
    dx, dy = int(w * (1 - area[0]) / 2), int(h * (1 - area[1]) / 2)
    return image[dy:h - dy, dx:w - dx]


def white_reference(white: np.ndarray, limits: CalibrationLimits) -> list[float]:
    """The white card's level per channel (B, G, R), linear, median over the reading area."""
    region = central(white, limits.reading_area)[::4, ::4].reshape(-1, 3)
    return [float(v) for v in np.median(region, axis=0)]


def exposure(white: np.ndarray, limits: CalibrationLimits) -> list[Finding]:
    """Is the white card well exposed at the configured LED level, and nothing clipped?"""
    level = white_reference(white, limits)[GREEN]
    region = central(white, limits.reading_area)
    clipped = float(np.mean(region.max(axis=2) >= 0.96))
    shown = f"white at {level:.0%} of full scale"
    window = f"{limits.white_min:.0%}–{limits.white_max:.0%}"
    if level < limits.white_min:
        found = Finding("exposure", False, level, shown, window,
                        f"under-exposed: the white card reads {level:.0%} of full scale "
                        f"(needs at least {limits.white_min:.0%}): the LED light is dim or the "
                        "camera's exposure too short — clean the LED diffuser, check the LED "
                        "board (an aged or failing LED), or raise devices.camera.exposure_us")
    elif level > limits.white_max:
        found = Finding("exposure", False, level, shown, window,
                        f"over-exposed: the white card reads {level:.0%} of full scale (at "
                        f"most {limits.white_max:.0%}): lower station.led_level or "
                        "devices.camera.exposure_us / gain")
    else:
        found = Finding("exposure", True, level, shown, window)
    clip = Finding("clipping", clipped <= limits.max_clipped_share, clipped,
                   f"{clipped:.2%} of pixels clipped", f"≤ {limits.max_clipped_share:.1%}")
    if not clip.passed:
        clip = Finding("clipping", False, clipped, clip.figure, clip.limit,
                       f"over-exposed: {clipped:.1%} of the view is clipped (pure white): "
                       "lower station.led_level or devices.camera.exposure_us")
    return [found, clip]


def led_response(full: np.ndarray, half: np.ndarray, limits: CalibrationLimits) -> Finding:
    """Does the light follow the LED level? Half the level should give about half the light."""
    g_full = float(np.median(central(full, limits.reading_area)[::4, ::4, GREEN]))
    g_half = float(np.median(central(half, limits.reading_area)[::4, ::4, GREEN]))
    ratio = g_half / g_full if g_full > 0 else float("nan")
    low, high = limits.led_ratio
    figure = f"half LED level gives {ratio:.2f} of the light"
    limit = f"{low:.2f}–{high:.2f}"
    if np.isfinite(ratio) and low <= ratio <= high:
        return Finding("LED response", True, ratio, figure, limit)
    if np.isfinite(ratio) and ratio > high:
        problem = (f"the light does not follow the LED level (half the level gives {ratio:.2f} "
                   "of the light): light from outside reaches the camera (close the lid, "
                   "check the seal) or the LED is not dimmed (check the LED driver's DIM wire)")
    else:
        problem = (f"the light falls too much at half the LED level ({ratio:.2f}): the LED "
                   "driver is failing at low levels — check the LED board and its driver")
    return Finding("LED response", False, ratio if np.isfinite(ratio) else None, figure, limit,
                   problem)


def flicker(frames: Sequence[np.ndarray], limits: CalibrationLimits) -> Finding:
    """Is the light steady over a burst? (A failing LED driver or mains light flickers.)"""
    means = [float(SRGB_TO_LINEAR[central(f, limits.reading_area)[::8, ::8, GREEN]].mean())
             for f in frames]
    change = (max(means) - min(means)) / max(float(np.mean(means)), 1e-6)
    finding = Finding("flicker", change <= limits.max_flicker, change,
                      f"{change:.1%} change over {len(frames)} frames",
                      f"≤ {limits.max_flicker:.0%}")
    if finding.passed:
        return finding
    return Finding("flicker", False, change, finding.figure, finding.limit,
                   f"the light changes by {change:.1%} between frames: the LED or its supply "
                   "is unstable, or outside light flickers in (close the lid)")


def light_map(white: np.ndarray) -> np.ndarray:
    """The white card's light, lightly smoothed (sensor noise off) and scaled to a median of
    1 per channel: the same shape as a flat field, but made even when one cannot be."""
    smooth = cv2.GaussianBlur(white, (0, 0), 3.0)
    median = np.median(smooth[::8, ::8].reshape(-1, 3), axis=0)
    return np.maximum(smooth / np.maximum(median, 1e-6)[None, None, :], 1e-6).astype(np.float32)


def uniformity(flat: np.ndarray, limits: CalibrationLimits) -> Finding:
    """How even is the LED light over the reading area (from the flat field)?"""
    region = central(flat[:, :, GREEN], limits.reading_area)
    small = cv2.resize(region, (64, 48), interpolation=cv2.INTER_AREA)
    darkest, brightest = float(np.percentile(small, 1)), float(np.percentile(small, 99))
    ratio = darkest / brightest
    figure = f"darkest/brightest {ratio:.2f}"
    limit = f"≥ {limits.min_uniformity:.2f}"
    if ratio >= limits.min_uniformity:
        return Finding("uniformity", True, ratio, figure, limit)
    h, w = small.shape
    sides = {"left": small[:, : w // 3].mean(), "right": small[:, -w // 3:].mean(),
             "top": small[: h // 3].mean(), "bottom": small[-h // 3:].mean()}
    side = min(sides, key=lambda k: sides[k])
    return Finding("uniformity", False, ratio, figure, limit,
                   f"the light is uneven (darkest {ratio:.0%} of the brightest, weakest at the "
                   f"{side}): check that the LED diffuser is seated and clean, and that no LED "
                   "of the array is dead")


def spots(flat: np.ndarray, limits: CalibrationLimits) -> Finding:
    """Local dark or bright patches on the white card's image: dirt on the lens or the card."""
    green = flat[:, :, GREEN]
    smooth = cv2.GaussianBlur(green, (0, 0), 25.0, borderType=cv2.BORDER_REFLECT)
    deviation = central(np.abs(green / np.maximum(smooth, 1e-6) - 1.0), limits.reading_area)
    worst = float(deviation.max())
    figure = f"largest local patch {worst:.1%}"
    limit = f"≤ {limits.max_spot:.0%}"
    if worst <= limits.max_spot:
        return Finding("spots", True, worst, figure, limit)
    y, x = np.unravel_index(int(np.argmax(deviation)), deviation.shape)
    h, w = deviation.shape
    where = (("upper" if y < h / 3 else "lower" if y > 2 * h / 3 else "middle") + " "
             + ("left" if x < w / 3 else "right" if x > 2 * w / 3 else "centre"))
    return Finding("spots", False, worst, figure, limit,
                   f"a spot in the {where} of the view changes the light by {worst:.0%}: clean "
                   "the camera lens and use a clean calibration card")


def focus(frames: Sequence[np.ndarray], limits: CalibrationLimits) -> Finding:
    """How sharp is the camera? The 10-90 % width of the bar target's edges, in pixels."""
    image = linear(frames)[:, :, GREEN]
    h, w = image.shape
    rows = image[int(h * 0.4): int(h * 0.6)]
    cols = slice(int(w * 0.25), int(w * 0.75))
    widths: list[float] = []
    contrasts: list[float] = []
    band = 16  # short bands: a slightly turned card does not smear the edges
    for top in range(0, rows.shape[0] - band + 1, band):
        profile = rows[top: top + band, cols].mean(axis=0)
        lo, hi = np.percentile(profile, 5), np.percentile(profile, 95)
        contrasts.append(float((hi - lo) / max(hi + lo, 1e-6)))
        if hi - lo <= 0:
            continue
        widths.extend(_edge_widths((profile - lo) / (hi - lo)))
    contrast = float(np.median(contrasts)) if contrasts else 0.0
    limit = f"≤ {limits.max_edge_px:.1f} px"
    if contrast < limits.min_target_contrast or len(widths) < 4:
        return Finding("focus", False, None, f"target contrast {contrast:.2f}", limit,
                       "no focus target in view: turn the calibration card over, black bars "
                       "up, in the middle of the tray")
    width = float(np.median(widths))
    figure = f"edges {width:.1f} px wide (10–90 %)"
    if width <= limits.max_edge_px:
        return Finding("focus", True, width, figure, limit)
    return Finding("focus", False, width if np.isfinite(width) else None, figure, limit,
                   f"the image is blurred (edges {width:.1f} px wide, at most "
                   f"{limits.max_edge_px:.1f}): clean the lens, check that the camera is "
                   "fixed at its height and that its focus ring has not turned")


def _edge_widths(norm: np.ndarray) -> list[float]:
    """10-90 % widths of the edges in a normalised (0..1) profile; inf when a plateau is
    never reached (an edge blurred wider than the bars)."""
    above = norm >= 0.5
    crossings = np.flatnonzero(above[1:] != above[:-1])
    if len(crossings) < 2:
        return []
    half_gap = int(max(2, np.median(np.diff(crossings)) // 2 + 1))
    widths = []
    for i in crossings[1:-1]:  # the outermost edges may meet the patch's border
        rising = bool(above[i + 1])
        lo_side = norm[max(0, i - half_gap): i + 1] if rising else norm[i + 1: i + 2 + half_gap]
        hi_side = norm[i + 1: i + 2 + half_gap] if rising else norm[max(0, i - half_gap): i + 1]
        x10 = _crossing(lo_side, 0.1, from_end=rising)
        x90 = _crossing(hi_side, 0.9, from_end=not rising)
        if x10 is None or x90 is None:
            widths.append(float("inf"))
            continue
        start_lo = max(0, i - half_gap) if rising else i + 1
        start_hi = i + 1 if rising else max(0, i - half_gap)
        widths.append(abs((start_hi + x90) - (start_lo + x10)))
    return widths


def _crossing(values: np.ndarray, level: float, *, from_end: bool) -> float | None:
    """Where ``values`` crosses ``level`` (interpolated index), searching from the end nearest
    the edge: the last crossing when ``from_end``, else the first."""
    below = values < level
    idx = np.flatnonzero(below[1:] != below[:-1])
    if len(idx) == 0:
        return None
    j = int(idx[-1] if from_end else idx[0])
    a, b = float(values[j]), float(values[j + 1])
    return j + (level - a) / (b - a) if b != a else float(j)
