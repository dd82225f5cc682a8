"""One window of a located cassette: rectify it, check its quality, read its profile.

The window and a band of plastic around it are resampled into window coordinates at the
frame's own scale (no loss of detail). Quality gates then compare the membrane with the white
plastic beside it, which cancels the light and the exposure: too bright (no head-room left in
the brightest colour) or too dark, glare (a bright or clipped patch), a wet membrane (darker in
every colour), an uncleared one (still tinted by unbound gold). Once the lines are read, the
membrane around them is searched for veil glare (``_veil``), which no patch test can see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from gateway.kits.models import CassetteLayout, WindowLayout

from ._frames import SRGB_TO_LINEAR
from ._linefit import GOLD_RED_TO_GREEN
from ._pose import Pose
from ._profile import ProfileReading, read_profile
from ._veil import find_veil
from .reasons import Reason

PLASTIC_BAND_MM = (1.2, 2.8)  # plastic sampled this far beside the window's long edges
EDGE_INSET_MM = 0.5
PROFILE_INSET_MM = 1.0
PROFILE_WIDTH = 0.9  # middle fraction of the window width averaged into the profile

UNDEREXPOSED_LEVEL = 0.22  # white plastic beside the window, green, linear
# The membrane's brightest colour at or above this (linear) leaves no head-room: sensor noise
# and the membrane's texture reach the clipping level, and clipped pixels bias the reading.
HEADROOM_LEVEL = 0.86
CLIPPED_LEVEL = 0.96
MAX_CLIPPED_SHARE = 0.5  # beyond this it is not a glare spot but the whole window
CLIPPED_PATCH_PX = 5  # clipping counts as glare when a patch this wide is clipped on average
GLARE_FACTOR = 1.25
GLARE_MIN_PX = 25
WET_RATIO = 0.76
UNCLEARED_OD = 0.07
MAX_PROFILE_NOISE = 0.02


@dataclass
class WindowMeasure:
    """What one frame says about one window."""

    problems: list[Reason] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    profile: ProfileReading | None = None
    corners_px: np.ndarray | None = None  # the window outline in the frame
    origin_px: np.ndarray | None = None  # frame point of the profile's x = 0
    axis_px: np.ndarray | None = None  # frame direction of the profile's x


def measure_window(frame: np.ndarray, pose: Pose, layout: CassetteLayout, index: int,
                   flat: np.ndarray | None, min_c_absorbance: float,
                   blur_px: float, *, red_weights: tuple[float, ...] = (0.0,),
                   lossless: bool = False, read: bool = True) -> WindowMeasure:
    """Rectify window ``index`` of ``frame``, run its quality gates and read its profile
    (``red_weights``: the candidate k of the texture correction green / red ** k; (0,) reads
    green alone). ``lossless`` frames' colours are trusted pixel by pixel, so the veil search
    also looks through the lines; ``read=False`` stops after the exposure and patch gates."""
    win = layout.windows[index]
    s = pose.scale
    (cu, cv), (wl, ww) = win.centre_mm, win.size_mm
    u0, v0 = cu - wl / 2 - 0.5, cv - ww / 2 - PLASTIC_BAND_MM[1] - 0.2
    cols = math.ceil((wl + 1.0) * s)
    rows = math.ceil((ww + 2 * PLASTIC_BAND_MM[1] + 0.4) * s)
    m = pose.matrix()
    # Output pixel (j, i) -> cassette mm (u0 + j / s, v0 + i / s) -> frame px.
    a = m[:, :2] / s
    b = m[:, :2] @ np.array([u0, v0]) + m[:, 2]
    out_corners = np.array([[0, 0], [cols, 0], [cols, rows], [0, rows]], dtype=np.float64)
    frame_corners = out_corners @ a.T + b
    h, w = frame.shape[:2]
    x0 = max(math.floor(frame_corners[:, 0].min()) - 2, 0)
    y0 = max(math.floor(frame_corners[:, 1].min()) - 2, 0)
    x1 = min(math.ceil(frame_corners[:, 0].max()) + 3, w)
    y1 = min(math.ceil(frame_corners[:, 1].max()) + 3, h)
    result = WindowMeasure()
    result.corners_px = pose.to_frame(_corners(win))
    result.origin_px = pose.to_frame(np.array([[cu - wl / 2, cv]]))[0]
    result.axis_px = np.array([math.cos(pose.angle), math.sin(pose.angle)])
    if x0 >= x1 or y0 >= y1:
        result.problems.append(Reason.CASSETTE_MISPLACED)
        return result
    crop = cv2.LUT(frame[y0:y1, x0:x1], SRGB_TO_LINEAR)
    warp = np.hstack([a, (b - (x0, y0))[:, None]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    rect = cv2.warpAffine(crop, warp, (cols, rows), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    if flat is not None:
        flat_rect = cv2.warpAffine(flat[y0:y1, x0:x1], warp, (cols, rows), flags=flags,
                                   borderMode=cv2.BORDER_REPLICATE)
        corrected = rect / flat_rect
    else:
        corrected = rect

    u = u0 + np.arange(cols) / s  # cassette mm of each column / row
    v = v0 + np.arange(rows) / s
    x_mm = u - (cu - wl / 2)  # from the window's sample-side edge
    inset = EDGE_INSET_MM
    mem_cols = (x_mm >= inset) & (x_mm <= wl - inset)
    mem_rows = np.abs(v - cv) <= ww / 2 - inset
    membrane = rect[np.ix_(mem_rows, mem_cols)]
    lw = layout.line_width_mm
    off_lines = mem_cols & (np.abs(x_mm - win.t_mm) > lw / 2 + 0.9) \
        & (np.abs(x_mm - win.c_mm) > lw / 2 + 0.9)
    background = rect[np.ix_(mem_rows, off_lines)].reshape(-1, 3)
    band = (np.abs(v - cv) >= ww / 2 + PLASTIC_BAND_MM[0]) \
        & (np.abs(v - cv) <= ww / 2 + PLASTIC_BAND_MM[1])
    plastic = rect[np.ix_(band, (x_mm >= 0) & (x_mm <= wl))].reshape(-1, 3)

    _gates(result, membrane, background, plastic)
    if not read or any(p in (Reason.OVEREXPOSED, Reason.UNDEREXPOSED)
                       for p in result.problems):
        return result

    prof_cols = (x_mm >= PROFILE_INSET_MM) & (x_mm <= wl - PROFILE_INSET_MM)
    prof_rows = np.abs(v - cv) <= ww / 2 * PROFILE_WIDTH
    middle = corrected[np.ix_(prof_rows, prof_cols)]
    means = middle.mean(axis=0, dtype=np.float64)  # per column: blue, green, red
    result.profile = read_profile(means[:, 1], means[:, 2], x_mm[prof_cols], px_per_mm=s,
                                  t_mm=win.t_mm, c_mm=win.c_mm, line_width_mm=lw,
                                  min_c_absorbance=min_c_absorbance, blur_px=blur_px,
                                  red_weights=red_weights)
    result.metrics["profile_noise"] = result.profile.noise
    result.metrics["texture_red_weight"] = result.profile.red_weight
    _veil_gate(result, rect, x_mm, v - cv, win, lw, s, lossless)
    if result.profile.noise > MAX_PROFILE_NOISE:
        result.problems.append(Reason.PROFILE_NOISY)
    return result


def _veil_gate(result: WindowMeasure, rect: np.ndarray, x_mm: np.ndarray, v_mm: np.ndarray,
               win: WindowLayout, line_width_mm: float, scale: float, lossless: bool) -> None:
    """Veil glare over the window (raw light: a flat field's own error is not a veil), with
    the lines where the profile found them."""
    prof = result.profile
    lines = (win.t_mm, win.c_mm)
    width = line_width_mm
    if prof is not None and prof.c is not None and prof.t is not None:
        lines = (prof.t.position_px / scale, prof.c.position_px / scale)
        width = float(np.clip(prof.width_px / scale, 0.5 * line_width_mm, 2 * line_width_mm))
    figures = find_veil(rect, x_mm, v_mm, length_mm=win.size_mm[0], width_mm=win.size_mm[1],
                        lines_mm=lines, line_width_mm=width, px_per_mm=scale,
                        colour=lossless)
    found = figures.pop("veil", 0.0) >= 1.0
    result.metrics.update(figures)
    if found and Reason.GLARE not in result.problems:
        result.problems.append(Reason.GLARE)


def _corners(win: WindowLayout) -> np.ndarray:
    (cu, cv), (wl, ww) = win.centre_mm, win.size_mm
    return np.array([[cu - wl / 2, cv - ww / 2], [cu + wl / 2, cv - ww / 2],
                     [cu + wl / 2, cv + ww / 2], [cu - wl / 2, cv + ww / 2]])


def _gates(result: WindowMeasure, membrane: np.ndarray, background: np.ndarray,
           plastic: np.ndarray) -> None:
    """Exposure, glare, wet and uncleared gates (raw linear light, before any flat field)."""
    pixels = membrane.reshape(-1, 3)
    med = np.median(background if background.size else pixels, axis=0)
    peak = float(med.max())
    clipped = float(np.mean(pixels.max(axis=1) >= CLIPPED_LEVEL))
    # Exposure is judged on the white plastic: a wet membrane is dark however well lit.
    white = float(np.median(plastic[:, 1])) if plastic.size else float(med[1])
    result.metrics.update(membrane_level=float(med[1]), membrane_peak_level=peak,
                          white_level=white, clipped_share=clipped)
    # Too bright is the exposure, not glare, when the membrane itself has no head-room:
    # then noise alone clips pixels all over it (re-capture darker, don't wipe the window).
    if peak >= HEADROOM_LEVEL or clipped > MAX_CLIPPED_SHARE:
        result.problems.append(Reason.OVEREXPOSED)
        return
    if white < UNDEREXPOSED_LEVEL:
        result.problems.append(Reason.UNDEREXPOSED)
        return
    # Glare: a patch brighter than the membrane in every colour (white light), or a clipped
    # patch (a lone clipped pixel is noise on a bright membrane).
    patch = cv2.blur(membrane, (CLIPPED_PATCH_PX, CLIPPED_PATCH_PX)).reshape(-1, 3)
    bright = (pixels >= GLARE_FACTOR * med[None, :]).all(axis=1) \
        | (patch.max(axis=1) >= CLIPPED_LEVEL)
    glare_px = int(bright.sum())
    result.metrics["glare_px"] = glare_px
    if glare_px >= GLARE_MIN_PX:
        result.problems.append(Reason.GLARE)
    if plastic.size == 0 or background.size == 0:
        return
    ratio = med / np.maximum(np.median(plastic, axis=0), 1e-6)
    # Gold tints the membrane (green falls more than red); water darkens it in every colour.
    gold_od = math.log10(max(ratio[2], 1e-6) / max(ratio[1], 1e-6)) / (1 - GOLD_RED_TO_GREEN)
    neutral = float(ratio[2] * 10 ** (GOLD_RED_TO_GREEN * gold_od))
    result.metrics.update(background_od=gold_od, membrane_ratio=neutral)
    if neutral < WET_RATIO:
        result.problems.append(Reason.MEMBRANE_WET)
    if gold_od > UNCLEARED_OD:
        result.problems.append(Reason.MEMBRANE_UNCLEARED)
