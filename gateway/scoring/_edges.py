"""Sub-pixel cassette edges: profiles sampled across the four sides, robust line fits, the
pose they give, and how sharp the edges are (the blur gate, and the camera blur the line
model uses).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gateway.kits.models import CassetteLayout

from ._pose import Pose

EDGE_REACH_MM = 2.0


def _side_profiles(img: np.ndarray, origin: np.ndarray, along: np.ndarray, normal: np.ndarray,
                   offsets: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample profiles across one side; returns (t, profiles (n, k), valid mask (n,))."""
    t = np.arange(-reach, reach + 0.25, 0.5, dtype=np.float64)
    pts = origin[None, :] + offsets[:, None] * along[None, :]
    xy = pts[:, None, :] + t[None, :, None] * normal[None, None, :]
    h, w = img.shape
    # The inner half (plastic and the expected edge) must be in view; beyond it the border
    # is replicated, which only matters if the cassette leaves the frame (caught earlier).
    inner = xy[:, : len(t) // 2 + 1]
    valid = ((inner[..., 0].min(axis=1) >= 0) & (inner[..., 0].max(axis=1) <= w - 1)
             & (inner[..., 1].min(axis=1) >= 0) & (inner[..., 1].max(axis=1) <= h - 1))
    prof = cv2.remap(img, xy[..., 0].astype(np.float32), xy[..., 1].astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return t, prof, valid


def _crossings(t: np.ndarray, prof: np.ndarray, band: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per profile (inside -> outside): 50 % crossing, plastic level and contrast.

    The plastic and tray levels come from the first and last ``band`` px of each profile, so
    the edge may lie anywhere between them.
    """
    inner = np.median(prof[:, t < t[0] + band], axis=1)
    outer = np.median(prof[:, t > t[-1] - band], axis=1)
    level = (inner + outer) / 2
    below = prof < level[:, None]
    first = np.argmax(below, axis=1)  # first sample below the midpoint, from the inside
    ok = below.any(axis=1) & (first > 0)
    cross = np.full(len(prof), np.nan)
    rows = np.nonzero(ok)[0]
    i1 = first[ok]
    p0, p1 = prof[rows, i1 - 1], prof[rows, i1]
    frac = (p0 - level[ok]) / np.maximum(p0 - p1, 1e-9)
    cross[ok] = t[i1 - 1] + frac * (t[1] - t[0])
    return cross, inner, inner - outer


def _fit_side(offsets: np.ndarray, cross: np.ndarray) -> tuple[float, float, int]:
    """Robust straight line cross = a + b * offset; returns (a, b, points used).

    Every pair of points proposes a line; the one most points agree with (within 1 px) wins
    and is refitted by least squares on those points. A glare spot or a nick in the edge
    then costs a few points, not the fit.
    """
    ok = np.isfinite(cross)
    x, y = offsets[ok], cross[ok]
    if x.size < 3:
        return 0.0, 0.0, int(x.size)
    i, j = np.triu_indices(x.size, 1)
    dx = x[j] - x[i]
    good = np.abs(dx) > 1e-6
    i, j = i[good], j[good]
    b = (y[j] - y[i]) / (x[j] - x[i])
    a = y[i] - b * x[i]
    votes = (np.abs(y[None, :] - (a[:, None] + b[:, None] * x[None, :])) < 1.0).sum(axis=1)
    best = int(np.argmax(votes))
    keep = np.abs(y - (a[best] + b[best] * x)) < 1.0
    if keep.sum() < 3:
        return float(np.median(y)), 0.0, int(keep.sum())
    bb, aa = np.polyfit(x[keep], y[keep], 1)
    return float(aa), float(bb), int(keep.sum())


def refine(img: np.ndarray, coarse: Pose, layout: CassetteLayout
            ) -> tuple[Pose, float, float]:
    """Sub-pixel pose from the four edges; also the edge blur (px) and plastic level.

    A first pass reaches far (the coarse blob may be swollen by a glare spot touching the
    cassette); a second, close pass around the improved pose gives the precise figures.
    """
    pose, _, _ = _edge_pass(img, coarse, layout, reach_mm=5.0, band_mm=1.0)
    return _edge_pass(img, pose, layout, reach_mm=EDGE_REACH_MM, band_mm=0.9)


def _edge_pass(img: np.ndarray, start: Pose, layout: CassetteLayout, reach_mm: float,
               band_mm: float) -> tuple[Pose, float, float]:
    eu = np.array([math.cos(start.angle), math.sin(start.angle)])
    ev = np.array([-eu[1], eu[0]])
    c = np.array(start.centre)
    half_l = layout.size_mm[0] / 2 * start.scale
    half_w = layout.size_mm[1] / 2 * start.scale
    reach = reach_mm * start.scale
    band = band_mm * start.scale
    # Stay clear of the rounded corners.
    corner = (layout.corner_radius_mm + 1.0) * start.scale
    long_off = np.linspace(-1, 1, 14) * (half_l - corner)
    short_off = np.linspace(-1, 1, 10) * (half_w - corner)
    sides = {
        "top": (c - half_w * ev, eu, -ev, long_off),
        "bottom": (c + half_w * ev, eu, ev, long_off),
        "left": (c - half_l * eu, ev, -eu, short_off),
        "right": (c + half_l * eu, ev, eu, short_off),
    }
    fits: dict[str, tuple[float, float, int]] = {}
    quality: dict[str, float] = {}
    blurs: list[float] = []
    plastic: list[float] = []
    for name, (origin, along, normal, offsets) in sides.items():
        t, prof, valid = _side_profiles(img, origin, along, normal, offsets, reach)
        cross, inner, contrast = _crossings(t, prof, band)
        ratio = contrast / np.maximum(inner, 1e-6)
        cross[~valid | (ratio < 0.25)] = np.nan
        fits[name] = _fit_side(offsets, cross)
        plastic.extend(inner[np.isfinite(cross)].tolist())
        blur = _edge_blur(t, prof, cross, band)
        # A true edge is sharp; the edge of a glare spot spilling over the side is not.
        quality[name] = -blur if blur is not None else -1e9
        if blur is not None:
            blurs.append(blur)
    centre, angle, scale = _combine(fits, quality, c, eu, ev, start, layout,
                                    {"top": len(long_off), "bottom": len(long_off),
                                     "left": len(short_off), "right": len(short_off)})
    pose = Pose((float(centre[0]), float(centre[1])), angle, float(scale))
    blur_px = float(np.median(blurs)) if blurs else float("nan")
    level = float(np.median(plastic)) if plastic else float("nan")
    return pose, blur_px, level


def _combine(fits: dict[str, tuple[float, float, int]], quality: dict[str, float],
             c: np.ndarray, eu: np.ndarray, ev: np.ndarray, start: Pose,
             layout: CassetteLayout, samples: dict[str, int]
             ) -> tuple[np.ndarray, float, float]:
    """Centre, angle and scale from the four side fits, surviving one bad side per pair.

    A side hidden by glare, nicked or out of reach is replaced by the opposite side and the
    cassette's known size; when the two pairs disagree on the scale, the pair with the cleaner
    edges is trusted.
    """
    length_mm, width_mm = layout.size_mm
    half_l = length_mm / 2 * start.scale
    half_w = width_mm / 2 * start.scale
    ok = {n: fits[n][2] >= max(3, int(0.4 * samples[n])) for n in fits}
    # Edge positions along the axes of the starting pose (px from its centre).
    pos = {"top": -(half_w + fits["top"][0]), "bottom": half_w + fits["bottom"][0],
           "left": -(half_l + fits["left"][0]), "right": half_l + fits["right"][0]}
    pairs = {"v": ("top", "bottom", width_mm), "u": ("left", "right", length_mm)}
    size_scale = {axis: (pos[b] - pos[a]) / mm for axis, (a, b, mm) in pairs.items()
                  if ok[a] and ok[b]}
    if len(size_scale) == 2 and abs(size_scale["v"] / size_scale["u"] - 1) < 0.01:
        scale = (pos["bottom"] - pos["top"] + pos["right"] - pos["left"]) / (length_mm + width_mm)
        trusted = {"u", "v"}
    elif size_scale:
        def pair_quality(axis: str) -> float:
            a, b, _ = pairs[axis]
            return min(quality[a], quality[b])
        best = max(size_scale, key=pair_quality)
        scale, trusted = size_scale[best], {best}
    else:
        scale, trusted = start.scale, set()
    shift = {}
    for axis, (a, b, mm) in pairs.items():
        if axis in trusted:
            shift[axis] = (pos[a] + pos[b]) / 2
            continue
        good = [n for n in (a, b) if ok[n]]
        if not good:
            shift[axis] = 0.0
            continue
        side = max(good, key=lambda n: quality[n])
        half = scale * mm / 2
        shift[axis] = pos[side] + half if side == a else pos[side] - half
    centre = c + shift["u"] * eu + shift["v"] * ev
    slopes = []
    if ok["top"]:
        slopes.append(-fits["top"][1])
    if ok["bottom"]:
        slopes.append(fits["bottom"][1])
    angle = start.angle + (math.atan(float(np.mean(slopes))) if slopes else 0.0)
    return centre, angle, scale


def _edge_blur(t: np.ndarray, prof: np.ndarray, cross: np.ndarray, reach_in: float
               ) -> float | None:
    # reach_in: how far inside the edge the plastic level is taken (px).
    """Gaussian sigma (px) of one side's edge, from its profiles aligned and averaged."""
    ok = np.isfinite(cross)
    if ok.sum() < 3:
        return None
    grid = np.arange(-reach_in, reach_in + 0.01, 0.25)
    aligned = np.array([np.interp(grid, t - x, p) for x, p in zip(cross[ok], prof[ok],
                                                                   strict=True)])
    mean = aligned.mean(axis=0)
    inner = mean[grid < -0.6 * reach_in].mean()
    level50 = np.interp(0.0, grid, mean)
    drop = inner - level50
    if drop <= 0:
        return None
    # Where the profile has fallen 20 % of the way to the midpoint (10 % of the full step):
    # a Gaussian edge gets there 1.2816 sigma inside the 50 % point.
    target = inner - 0.2 * drop
    inside = np.nonzero((grid < 0) & (mean <= target))[0]
    if inside.size == 0:
        return None
    k = inside[0]
    if k == 0:
        return float(reach_in / 1.2816)
    f = (mean[k - 1] - target) / max(mean[k - 1] - mean[k], 1e-9)
    t10 = grid[k - 1] + f * (grid[k] - grid[k - 1])
    return float(-t10 / 1.2816)
