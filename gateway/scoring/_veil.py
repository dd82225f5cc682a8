"""Veil glare: weak, broad light added over a result window (a soft reflection of the reader's
light on the window's cover or on a wet membrane).

Added light is *additive* and about the colour of the light, while gold absorbs
*multiplicatively* and mostly green. A line under a veil therefore loses apparent density —
much of it on a dense line, where the added light is large against the little that comes
through — and no baseline gives it back: a veil of a few per cent over C can move T/C by a
tenth. On a dense line the change even looks like a fainter line in every colour (the gold
curve runs parallel to added light near density 0.8), so a veil is found where it shows: on
the membrane around and between the lines, and, through a colour combination that gold does
not change, over the lines too.

In log light, each colour of the window's membrane is compared with a smooth model of the
kit's line-free membrane (a quadratic in both directions, fitted to the membrane away from the
lines, bright outliers discarded: light is only ever added). What is left is texture, noise —
and any veil:

* the *neutral residual* (the three colours' mean) on the membrane away from the lines,
  smoothed at two scales (0.4 and 0.9 mm: a veil is at least a millimetre across, the
  membrane's texture a few tenths);
* the *gold-free residual* ``(log red - rho log green) / (1 - rho)`` everywhere, lines
  included, with rho (gold's red/green absorbance ratio as this camera sees it) measured on the
  lines themselves, so that a camera whose ratio is not the textbook 0.25 does not turn its
  lines into "veils";
* the *shoulders* of each line (0.25-1.2 mm beyond its edges, whole width and three bands
  across), where a veil on the line spills over.

A bump is a veil when it is both unusual for this window (its height over the robust spread
of the same smoothed residual elsewhere in the window) and large against the membrane's own
texture (its height over the pixel-level spread) — or so unusual that nothing else explains it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ROW_INSET_MM = 0.6  # from the window's long edges: the recess shadow stays out
COL_INSET_MM = 0.6
SCALES_MM = (0.4, 0.9)  # smoothing (Gaussian sigma) of the residuals
LINE_CLEAR_MM = 0.25  # beyond a line's fitted edge, the membrane counts as line-free
CORE_INSET_MM = 0.15  # inside a line's fitted edge, its core
SHOULDER_MM = (0.25, 1.2)  # beyond a line's edge: where a veil on the line spills over
RHO_RANGE = (0.1, 0.45)  # plausible red/green absorbance ratios of colloidal gold
RHO_DEFAULT = 0.25
# Decision: a bump is a veil when it is this many times the smoothed residual's own robust
# spread (so unusual that nothing else explains it) ...
Z_CERTAIN = 10.0
Z_CERTAIN_SHOULDER = 9.0
# ... or at least Z_LIKELY times that spread and this many times the pixel-level spread of the
# membrane (its texture and noise), per residual and scale:
Z_LIKELY = 4.5
TEXTURE_FACTOR = {("neutral", 0.4): 3.0, ("gold_free", 0.4): 2.4,
                  ("neutral", 0.9): 1.5, ("gold_free", 0.9): 1.0}


def _robust_sd(r: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(r - np.median(r)))) if r.size else 0.0


def _lower_sd(r: np.ndarray) -> float:
    """The spread of ``r`` from its darker half (median less the 16th percentile: one
    standard deviation of a normal distribution). Added light only ever brightens, so a
    veil, however large, does not inflate it."""
    if r.size == 0:
        return 0.0
    low, mid = np.percentile(r, [15.87, 50.0])
    return float(mid - low)


def _design(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The smooth membrane model's terms: quadratic along and across, and their product."""
    return np.stack([np.ones_like(x), x, x * x, v, v * v, x * v], axis=-1)


def _residuals(design: np.ndarray, logs: np.ndarray, fit: np.ndarray, rounds: int = 6
               ) -> np.ndarray:
    """Each colour's log light less its smooth membrane model (float32, pixels x 3): least
    squares over ``fit``, the three colours together, dropping for good the pixels whose mean
    residual is bright (added light) or deeply dark (specks)."""
    a, z = design[fit], logs[fit]
    keep = np.ones(a.shape[0], bool)
    coef = np.zeros((design.shape[1], logs.shape[1]))
    for _ in range(rounds):
        if keep.sum() < 4 * design.shape[1]:
            break
        coef, *_ = np.linalg.lstsq(a[keep], z[keep], rcond=None)
        r = (z - a @ coef).mean(axis=1)
        sd = _robust_sd(r[keep]) + 1e-9
        new = (r < 2.5 * sd) & (r > -4.0 * sd)
        if np.array_equal(new, keep):
            break
        keep = new
    return (logs - design @ coef).astype(np.float32)


def _gold_ratio(resid: np.ndarray, core: np.ndarray) -> float:
    """Gold's red/green absorbance ratio from the lines' cores (Tukey-weighted slope)."""
    green, red = -resid[core, 1], -resid[core, 2]
    use = green > 0.1
    if use.sum() < 50:
        return RHO_DEFAULT
    g, r = green[use], red[use]
    w = np.ones(g.size)
    rho = RHO_DEFAULT
    for _ in range(5):
        rho = float((w * r * g).sum() / max(float((w * g * g).sum()), 1e-12))
        dev = r - rho * g
        u = dev / (4.685 * (_robust_sd(dev) + 1e-6))
        w = np.where(np.abs(u) < 1.0, (1.0 - u * u) ** 2, 0.0)
    return min(max(rho, RHO_RANGE[0]), RHO_RANGE[1])


def _smoothed(field: np.ndarray, mask: np.ndarray | None, sigma_px: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian smoothing of ``field`` over ``mask`` (normalised: masked pixels do not count)
    and the share of the kernel that fell on the mask."""
    if mask is None:
        return cv2.GaussianBlur(field, (0, 0), sigma_px, borderType=cv2.BORDER_REFLECT), \
            np.ones(field.shape, np.float32)
    m = mask.astype(np.float32)
    num = cv2.GaussianBlur(field * m, (0, 0), sigma_px, borderType=cv2.BORDER_CONSTANT)
    den = cv2.GaussianBlur(m, (0, 0), sigma_px, borderType=cv2.BORDER_CONSTANT)
    return num / np.maximum(den, 1e-6), den


def find_veil(rect: np.ndarray, x_mm: np.ndarray, v_mm: np.ndarray, *, length_mm: float,
              width_mm: float, lines_mm: tuple[float, ...], line_width_mm: float,
              px_per_mm: float, colour: bool = True) -> dict[str, float]:
    """Look for veil glare on a window; returns the figures, ``veil`` 1.0 when found.

    Args:
        rect: the window and its surroundings, linear light (rows, cols, BGR), raw (no flat
            field: a flat field's error would look like structure).
        x_mm, v_mm: each column's distance from the window's sample-side edge and each row's
            from the window's centre line.
        length_mm, width_mm: the window's opening.
        lines_mm: where the lines are (from the window's sample-side edge; fitted if known).
        line_width_mm: their width (fitted if known).
        px_per_mm: the frame's scale.
        colour: the colours can be trusted pixel by pixel (lossless frames): also look
            through the lines with the gold-free residual. JPEG's coarse colour would make
            that residual see veils everywhere, so compressed frames use the neutral one only.
    """
    rows = np.abs(v_mm) <= width_mm / 2 - ROW_INSET_MM
    cols = (x_mm >= COL_INSET_MM) & (x_mm <= length_mm - COL_INSET_MM)
    if rows.sum() < 8 or cols.sum() < 32:
        return {"veil": 0.0}
    logs = np.log(np.maximum(rect[np.ix_(rows, cols)], 1e-4))
    xs, vs = x_mm[cols], v_mm[rows]
    xx, vv = np.meshgrid(xs, vs)
    centres = np.asarray(lines_mm, dtype=np.float64)
    dist = np.min(np.abs(xx[:, :, None] - centres[None, None, :]), axis=2)
    half = line_width_mm / 2
    off = dist > half + LINE_CLEAR_MM
    core = dist < half - CORE_INSET_MM
    design = _design((xx / (length_mm / 2)).ravel(), (vv / (width_mm / 2)).ravel())
    # Fit on every other pixel each way: the model is smooth and this is four times cheaper.
    fit = np.zeros(xx.shape, bool)
    fit[::2, ::2] = True
    fit = (fit & off).ravel()
    flat = logs.reshape(-1, 3).astype(np.float64)
    resid = _residuals(design, flat, fit).reshape(logs.shape)
    rho = _gold_ratio(resid, core)
    neutral = resid.mean(axis=2)
    gold_free = (resid[:, :, 2] - rho * resid[:, :, 1]) / (1.0 - rho)
    texture = {"neutral": _lower_sd(neutral[off]), "gold_free": _lower_sd(gold_free[off])}
    figures: dict[str, float] = {"veil_gold_ratio": rho, "veil_texture": texture["neutral"]}
    interior = (np.abs(vv) <= width_mm / 2 - ROW_INSET_MM - 0.3) \
        & (xx >= COL_INSET_MM + 0.3) & (xx <= length_mm - COL_INSET_MM - 0.3)
    score = 0.0
    level = 0.0
    residuals: list[tuple[str, np.ndarray, np.ndarray | None]] = [("neutral", neutral, off)]
    if colour:
        residuals.append(("gold_free", gold_free, None))
    for name, field, mask in residuals:
        for scale in SCALES_MM:
            smooth, cover = _smoothed(field, mask, scale * px_per_mm)
            where = interior & (cover > 0.4)
            if mask is not None:
                where &= mask
            values = smooth[where]
            if values.size < 16:
                continue
            peak = float(values.max())
            spread = _robust_sd(values) + 1e-6
            z = peak / spread
            ratio = peak / (texture[name] + 1e-6)
            score = max(score, z / Z_CERTAIN,
                        min(z / Z_LIKELY, ratio / TEXTURE_FACTOR[(name, scale)]))
            if name == "neutral":
                level = max(level, peak)
    shoulder_z, shoulders = _shoulders(neutral, off, xs, vs, centres, half, width_mm,
                                       px_per_mm)
    score = max(score, shoulder_z / Z_CERTAIN_SHOULDER)
    figures.update(veil_score=score, veil_level=math.expm1(max(level, 0.0)),
                   veil_shoulder_z=shoulder_z, **shoulders, veil=float(score >= 1.0))
    return figures


def _shoulders(neutral: np.ndarray, off: np.ndarray, xs: np.ndarray, vs: np.ndarray,
               centres: np.ndarray, half: float, width_mm: float, px_per_mm: float
               ) -> tuple[float, dict[str, float]]:
    """The largest excess, in units of its own noise, of the membrane just beyond a line's
    edges (both sides averaged; across the whole width and in three bands), and the whole-
    width excess per line (T first)."""
    line_free = off.all(axis=0)  # columns clear of every line
    span = max(1, round((SHOULDER_MM[1] - SHOULDER_MM[0]) * px_per_mm))
    box = np.ones(span) / span
    inner = width_mm / 2 - ROW_INSET_MM
    bands = [np.ones(vs.size, bool)] + [
        (vs >= -inner + b * 2 * inner / 3) & (vs < -inner + (b + 1) * 2 * inner / 3)
        for b in range(3)]
    best = 0.0
    whole: dict[str, float] = {}
    for b, band in enumerate(bands):
        if band.sum() < 3:
            continue
        profile = neutral[band].mean(axis=0)
        # The noise of one shoulder's mean, from the same averaging over line-free columns;
        # the two shoulders of a line are independent, hence the square root of two.
        smooth = np.convolve(np.where(line_free, profile, 0.0), box, mode="same")
        cover = np.convolve(line_free.astype(float), box, mode="same")
        ok = line_free & (cover > 0.999)
        if ok.sum() < 8:
            continue
        noise = _robust_sd(smooth[ok]) / math.sqrt(2) + 1e-6
        for i, c in enumerate(centres):
            d = np.abs(xs - c)
            near = (d >= half + SHOULDER_MM[0]) & (d <= half + SHOULDER_MM[1])
            if not near.any():
                continue
            excess = float(profile[near].mean())
            best = max(best, excess / noise)
            if b == 0:
                whole[f"veil_shoulder_{i}"] = excess
                whole["veil_shoulder_noise"] = noise
    return best, whole
