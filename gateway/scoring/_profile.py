"""From an intensity profile along a strip to the C and T lines' optical densities.

The profile is the mean linear green intensity across the middle of the window, along the
flow. Illumination and membrane background are removed by a robust quadratic baseline (in
log intensity, so any gain drops out). C is looked for first, near where the kit puts it, and
is required; its shape is fitted through the camera's blur (see ``_linefit``), and T is then
fitted with that shape at its expected offset from C. T/C is the ratio of the two lines'
fitted core densities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._linefit import GOLD_RED_TO_GREEN, Fit, LineModel

LOG10 = math.log(10.0)


@dataclass(frozen=True)
class LineMeasure:
    """One line as measured on the profile."""

    position_px: float  # from the window's sample-side edge, frame pixels
    od: float  # optical density of the line core, base 10
    height: float  # peak absorbance of the measured profile above baseline
    area: float  # absorbance x px summed over the line
    snr: float  # density over its standard error


@dataclass(frozen=True)
class ProfileReading:
    """Everything read from one window's profile (``c`` is None without a C line)."""

    c: LineMeasure | None
    t: LineMeasure | None
    noise: float  # robust standard deviation of absorbance off the lines
    width_px: float
    edge_px: float  # fitted softness of the line edges (Gaussian sigma, in density)
    absorbance: np.ndarray
    x_mm: np.ndarray
    red_weight: float = 0.0  # k of the texture correction green / red ** k (0: green alone)


def _smooth(a: np.ndarray, sigma_px: float) -> np.ndarray:
    r = max(1, int(3 * sigma_px))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_px) ** 2)
    k /= k.sum()
    padded = np.pad(a, r, mode="edge")
    return np.convolve(padded, k, mode="valid")


def _robust_sd(r: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation (1.0 for no samples)."""
    return 1.4826 * float(np.median(np.abs(r - np.median(r)))) if r.size else 1.0


def _baseline(x: np.ndarray, logi: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Robust quadratic fit of log intensity over the line-free samples."""
    xn = (x - x.mean()) / max(float(np.ptp(x)), 1e-9)
    keep = free.copy()
    fit = np.zeros_like(logi)
    for _ in range(4):
        if keep.sum() < 6:
            break
        coef = np.polyfit(xn[keep], logi[keep], 2)
        fit = np.polyval(coef, xn)
        r = logi - fit
        sd = _robust_sd(r[keep]) + 1e-6
        # Dark outliers are unmasked line tails or specks: drop them, keep bright ones.
        keep = free & (r > -3 * sd)
    return fit


def _measure(x: np.ndarray, absorbance: np.ndarray, fit: Fit) -> LineMeasure:
    span = np.abs(x - fit.centre) <= fit.width / 2 + 2 * fit.sigma_e + 2
    area = float(absorbance[span].sum()) if span.any() else 0.0
    height = float(np.interp(fit.centre, x, absorbance))
    return LineMeasure(position_px=fit.centre, od=fit.od, height=height, area=area,
                       snr=fit.od / max(fit.od_sd, 1e-9))


RED_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # candidate k in green / red ** k
NOISE_SCALE_MM = 1.0  # free-membrane noise is judged at about a line's width


def _noise_at_scale(resid: np.ndarray, free: np.ndarray, span: int) -> float:
    """Robust SD of ``resid`` averaged over ``span`` neighbouring free samples."""
    if span > 1:
        k = np.ones(span) / span
        sm = np.convolve(np.where(free, resid, 0.0), k, mode="same")
        cover = np.convolve(free.astype(float), k, mode="same")
        ok = free & (cover > 0.999)  # whole window of free samples only
        if ok.sum() >= 6:
            return _robust_sd(sm[ok])
    return _robust_sd(resid[free])


def _texture_weight(logg: np.ndarray, logr: np.ndarray, x_mm: np.ndarray, free: np.ndarray,
                    span: int, gold_red_to_green: float, red_weights: tuple[float, ...]
                    ) -> tuple[float, np.ndarray, np.ndarray]:
    """The k of green / red ** k whose line-free membrane is quietest per unit of gold
    signal, with that log profile and its baseline.

    The membrane's texture darkens every colour alike while gold darkens green four times
    more than red, so the quotient cancels texture at the cost of red's own noise.
    """
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for k in red_weights:
        comb = logg - k * logr
        base = _baseline(x_mm, comb, free)
        cost = _noise_at_scale(base - comb, free, span) / (1 - k * gold_red_to_green)
        if best is None or cost < best[0]:
            best = (cost, k, comb, base)
    assert best is not None, "red_weights is empty"
    return best[1], best[2], best[3]


def read_profile(green: np.ndarray, red: np.ndarray, x_mm: np.ndarray, *, px_per_mm: float,
                 t_mm: float, c_mm: float, line_width_mm: float, min_c_absorbance: float,
                 blur_px: float, gold_red_to_green: float = GOLD_RED_TO_GREEN,
                 red_weights: tuple[float, ...] = RED_WEIGHTS) -> ProfileReading:
    """Find C (required) and then T on a window's intensity profiles.

    Args:
        green, red: mean linear intensity per column along the flow, in each colour.
        x_mm: each column's distance from the window's sample-side edge, mm.
        px_per_mm: scale of the frame.
        t_mm, c_mm, line_width_mm: where the kit puts the lines and how wide they are.
        min_c_absorbance: weakest acceptable C line (peak absorbance, green).
        blur_px: the camera's blur (Gaussian sigma, px) measured on the cassette edges.
        gold_red_to_green: gold's absorbance in red relative to green.
        red_weights: candidate weights k of the texture correction (0 = green alone).
    """
    x = x_mm * px_per_mm
    logg = np.log10(np.maximum(green, 1e-4))
    logr = np.log10(np.maximum(red, 1e-4))
    margin = line_width_mm / 2 + 0.9
    free = (np.abs(x_mm - t_mm) > margin) & (np.abs(x_mm - c_mm) > margin)
    span = max(1, round(NOISE_SCALE_MM * px_per_mm))
    k, comb, base = _texture_weight(logg, logr, x_mm, free, span, gold_red_to_green,
                                    red_weights)
    gain = 1 - k * gold_red_to_green
    y = np.power(10.0, comb - base)  # intensity relative to the baseline (green / red ** k)
    absorbance = (base - comb) / gain  # in green units whatever k is
    noise = _robust_sd(absorbance[free])
    smooth = _smooth(absorbance, 1.0)
    width_px = line_width_mm * px_per_mm
    empty = ProfileReading(None, None, noise, width_px, blur_px, absorbance, x_mm, k)

    search = np.abs(x_mm - c_mm) <= 1.5
    if not search.any():
        return empty
    i = int(np.argmax(np.where(search, smooth, -np.inf)))
    peak = float(smooth[i])
    if peak < min_c_absorbance or peak < 8 * noise:
        return empty

    model = LineModel(x, y, blur_px if math.isfinite(blur_px) else 1.0,
                      noise * gain * LOG10, red_weight=k,
                      gold_red_to_green=gold_red_to_green)
    # A flat-topped line's maximum can sit anywhere on its top: start from the centroid of
    # the part of the dip above a third of its depth.
    dip = 1.0 - y
    near = (np.abs(x - x[i]) <= width_px + 3) & (dip >= dip[i] / 3)
    guess = float((x[near] * dip[near]).sum() / dip[near].sum()) if near.any() else float(x[i])
    c_fit = model.fit_free(guess, width_px, peak)
    t_expected = c_fit.centre - (c_mm - t_mm) * px_per_mm
    shifts = np.arange(-0.6 * px_per_mm, 0.6 * px_per_mm + 1e-9, 0.5)
    candidates = model.fit_density(t_expected + shifts, c_fit)
    zero = int(np.argmin(np.abs(shifts)))
    # The best-fitting position (not the darkest: picking the largest of many chances would
    # add the membrane's texture to T).
    best_t = min(range(len(candidates)), key=lambda j: candidates[j].sse)
    if candidates[best_t].od / max(candidates[best_t].od_sd, 1e-9) >= 5:
        # Clearly there: refine its position around the best candidate.
        fine = candidates[best_t].centre + np.arange(-0.5, 0.51, 0.1)
        t_fit = min(model.fit_density(fine, c_fit), key=lambda f: f.sse)
    else:
        # Too faint to locate: measure it where the kit says it is, so noise is not
        # mistaken for a line by picking the largest of many chances.
        t_fit = candidates[zero]
    return ProfileReading(_measure(x, absorbance, c_fit), _measure(x, absorbance, t_fit),
                          noise, c_fit.width, c_fit.sigma_e, absorbance, x_mm, k)
