"""Checks on real strip photographs from ../shared/field-images (see its README), skipped
cleanly when the folder is absent. Nothing here is tuned to these images; they are not kiosk
frames, so a small generic band finder reads them instead of the cassette pipeline:

* Open_Reader (sandwich strips, window crops, some turned 30-45 degrees): the strongest
  line-shaped dark band in the picture (thin pencil strokes removed first), searched over
  every orientation, as an absorbance;
  Spearman correlation of that signal against dilution, and separation from the controls.
* QuickVue frames (one negative strip filmed 28 times; only the blue control line shows): the
  control line is found by its colour (a blue dye absorbs red more than green and blue) and
  its shape (an unbroken thin band with clear membrane on both sides, unlike the printed
  marks), the result window by the dark neutral edges on either side of it, and a
  gold-coloured band (absorbing green far more than red) is looked for inside the window away
  from C. A frame with one is a positive call; the count should be 0. As a positive control,
  each frame is read again with a faint gold line painted into its window.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np

from gateway.scoring import SRGB_TO_LINEAR


def field_checks(folder: Path) -> dict[str, object]:
    """Run every check whose data is present; ``lines`` holds the printable summary."""
    if not folder.is_dir():
        return {"lines": [f"skipped: {folder} not found (fresh clone without field images)"]}
    out: dict[str, object] = {"lines": []}
    lines: list[str] = out["lines"]  # type: ignore[assignment]
    reader = folder / "open_reader"
    if (reader / "labels.csv").is_file():
        out["open_reader"] = open_reader(reader, lines)
    else:
        lines.append("Open_Reader: skipped (folder or labels.csv absent)")
    quickvue = folder / "quickvue_frames"
    if quickvue.is_dir() and any(quickvue.glob("*.jpg")):
        out["quickvue"] = quickvue_frames(quickvue, lines)
    else:
        lines.append("QuickVue: skipped (folder absent)")
    return out


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    def ranks(v: list[float]) -> np.ndarray:
        arr = np.asarray(v, dtype=float)
        order = arr.argsort(kind="mergesort")
        r = np.empty(len(arr))
        r[order] = np.arange(len(arr), dtype=float)
        for value in np.unique(arr):
            tie = arr == value
            r[tie] = r[tie].mean()
        return r
    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _rotations(img: np.ndarray, angles: np.ndarray):
    h, w = img.shape[:2]
    for a in angles:
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), float(a), 1.0)
        yield a, cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT)


def band_response(absorbance: np.ndarray, thickness: int, length: int) -> np.ndarray:
    """Mean absorbance of a horizontal band (thickness x length) minus its two flanks."""
    band = cv2.blur(absorbance, (length, thickness))
    shift = thickness + 2
    up = np.roll(band, shift, axis=0)
    down = np.roll(band, -shift, axis=0)
    return band - 0.5 * (up + down)


def line_signal(grey: np.ndarray) -> float:
    """Strongest line-shaped band (absorbance) over all orientations and a few thicknesses."""
    lin = SRGB_TO_LINEAR[grey].astype(np.float32)
    # Pencil outlines and cut edges are dark strokes a few px wide; a test line is a band.
    # A grey closing with a 7 px disc removes the strokes and keeps the bands.
    lin = cv2.morphologyEx(lin, cv2.MORPH_CLOSE,
                           cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    h, w = lin.shape
    background = cv2.blur(lin, (61, 61))
    absorbance = -np.log10(np.maximum(lin, 1e-4) / np.maximum(background, 1e-4))
    best = 0.0
    margin_y, margin_x = h // 5, w // 5
    for _, rot in _rotations(absorbance, np.arange(0, 180, 3)):
        for thickness in (6, 10, 16):
            resp = band_response(rot, thickness, 40)
            best = max(best, float(resp[margin_y:h - margin_y, margin_x:w - margin_x].max()))
    return best


def open_reader(folder: Path, lines: list[str]) -> dict[str, object]:
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    signals: dict[str, float] = {}
    for row in rows:
        grey = cv2.imread(str(folder / row["filename"]), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            continue
        signals[row["filename"]] = line_signal(grey)
    vacc = [(float(r["dilution_factor"]), signals[r["filename"]]) for r in rows
            if r["sample_group"] == "vaccinated_serum" and r["filename"] in signals]
    ctrl = [signals[r["filename"]] for r in rows
            if r["sample_group"] != "vaccinated_serum" and r["filename"] in signals]
    rho_all = spearman([math.log2(d) for d, _ in vacc], [s for _, s in vacc])
    upto32 = [(d, s) for d, s in vacc if d <= 32]
    rho_32 = spearman([math.log2(d) for d, _ in upto32], [s for _, s in upto32])
    threshold = float(np.mean(ctrl) + 3 * np.std(ctrl, ddof=1))
    by_dilution: dict[float, list[float]] = {}
    for d, s in vacc:
        by_dilution.setdefault(d, []).append(s)
    separated = [d for d, ss in sorted(by_dilution.items()) if min(ss) > threshold]
    highest = max(separated) if separated else None
    cv_vals = [np.std(ss, ddof=1) / np.mean(ss) for ss in by_dilution.values()
               if len(ss) > 1 and np.mean(ss) > 0]
    lines.append(f"Open_Reader: {len(vacc)} vaccinated + {len(ctrl)} controls; Spearman rho "
                 f"(line signal vs log dilution) {rho_all:.3f} over 1:1-1:128, "
                 f"{rho_32:.3f} over 1:1-1:32 (expect about -1 up to 1:32)")
    lines.append("  signal (absorbance) by dilution, mean of 3: " + ", ".join(
        f"1:{int(d)} {np.mean(ss):.3f}" for d, ss in sorted(by_dilution.items()))
        + f"; controls {np.mean(ctrl):.3f} +- {np.std(ctrl, ddof=1):.3f}")
    lines.append(f"  every replicate above controls' mean + 3 SD ({threshold:.3f}) up to "
                 f"1:{int(highest) if highest else 0}; median replicate CV "
                 f"{np.median(cv_vals):.1%}")
    return {"spearman_all": rho_all, "spearman_to_1_32": rho_32,
            "separated_up_to_dilution": highest, "control_threshold": threshold}


def quickvue_frames(folder: Path, lines: list[str]) -> dict[str, object]:
    files = sorted(folder.glob("*.jpg"))
    positives, found, ratios, controls = 0, 0, [], 0
    for f in files:
        frame = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if frame is None:
            continue
        lin = _half_linear(frame)
        result = quickvue_read(lin)
        if result is None:
            continue
        found += 1
        positive, ratio, where = result
        positives += positive
        ratios.append(ratio)
        # Positive control, so that "0 positives" is a check that can fail: the same frame
        # with a faint gold line (green density 0.05) painted 3 mm from C must read positive.
        painted = quickvue_read(_paint_line(lin, where, 3.0, 0.05), np.array([where[0]]))
        controls += bool(painted and painted[0])
    lines.append(f"QuickVue: {len(files)} frames; control line found in {found}; positive "
                 f"calls {positives} (expect 0); T/C median {np.median(ratios):.3f}, "
                 f"max {np.max(ratios):.3f}; positive control (a gold line of density 0.05 "
                 f"painted 3 mm from C) read positive in {controls}/{found}" if ratios else
                 f"QuickVue: {len(files)} frames; control line found in none")
    return {"frames": len(files), "control_found": found, "positive_calls": positives,
            "t_c_max": float(np.max(ratios)) if ratios else None,
            "positive_control_detected": controls}


STRIP_WIDTH_MM = 5.0  # lateral-flow strips are 4-5 mm wide; sets the scale
WINDOW_MAX_MM = 10.0  # look this far from the control line for the window's edges
T_POSITIVE_RATIO = 0.1  # sandwich: a test band this strong relative to C is a line
LINE_MAX_THICKNESS = 0.3  # a result line is ~1 mm on a ~5 mm strip; printed blocks are thicker
CLEAR_MEMBRANE = 0.8  # beside a line, at least this share of the strip's white: not print
FLANK_MM = 2.0  # clear membrane expected this far on both sides of a result line


def _half_linear(frame: np.ndarray) -> np.ndarray:
    small = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2),
                       interpolation=cv2.INTER_AREA)
    return SRGB_TO_LINEAR[small].astype(np.float32)


def _paint_line(lin: np.ndarray, where: tuple[float, int, int, float], offset_mm: float,
                od: float) -> np.ndarray:
    """A copy of ``lin`` with a gold line of green density ``od`` drawn ``offset_mm`` along
    the strip from the control line found at ``where`` (angle, y, x in the turned image,
    px per mm), across the strip's middle."""
    angle, y, x, px_per_mm = where
    h, w = lin.shape[:2]
    turn = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), float(angle), 1.0)
    back = cv2.invertAffineTransform(turn)
    yy = y + offset_mm * px_per_mm
    half_w, half_t = 1.5 * px_per_mm, 0.4 * px_per_mm
    corners = np.array([[x - half_w, yy - half_t], [x + half_w, yy - half_t],
                        [x + half_w, yy + half_t], [x - half_w, yy + half_t]])
    poly = corners @ back[:, :2].T + back[:, 2]
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    out = lin.copy()
    gold = np.power(10.0, -od * np.array([0.5, 1.0, 0.25], np.float32)).astype(np.float32)
    out[mask > 0] *= gold
    return out


def quickvue_call(frame: np.ndarray) -> tuple[bool, float] | None:
    """(positive?, T/C) for one phone frame, or None if no control line is found."""
    result = quickvue_read(_half_linear(frame))
    return None if result is None else (result[0], result[1])


def quickvue_read(lin: np.ndarray, angles: np.ndarray | None = None
                  ) -> tuple[bool, float, tuple[float, int, int, float]] | None:
    """Read a half-size linear frame: (positive?, T/C, where C is), or None without C.

    The result window is bounded by the cassette's dark (neutral) edges above and below the
    control line; a test line is a gold-coloured band inside it, away from C.
    """
    background = cv2.blur(lin, (41, 41))
    absorb = -np.log10(np.maximum(lin, 1e-4) / np.maximum(background, 1e-4))
    # A blue dye absorbs red more than green *and* blue; the colour fringes at the edges of
    # black print (lens dispersion) do not pass both.
    blue_dye = absorb[:, :, 2] - np.maximum(absorb[:, :, 1], absorb[:, :, 0])
    gold = absorb[:, :, 1] - 0.5 * absorb[:, :, 2] - 0.5 * absorb[:, :, 0]
    stack = np.dstack([blue_dye, gold, absorb[:, :, 1], lin[:, :, 1], absorb[:, :, 2],
                       absorb[:, :, 0]])
    best = None
    search = np.arange(-20, 21, 2) if angles is None else angles
    # Search with the two planes the control line needs (turning all six is slow).
    probe = np.ascontiguousarray(stack[:, :, [0, 3]])
    for angle, turned in _rotations(probe, search):
        resp = band_response(np.ascontiguousarray(turned[:, :, 0]), 4, 20)
        for y, x, value in _peaks(resp, count=6, spacing=15):
            # A control line is one unbroken band across the strip; printed marks (dashes,
            # letters) near it are broken. Keep the strongest unbroken band.
            if value > 0.02 and _line_like(turned, y, x, value) and \
                    (best is None or value > best[0]):
                best = (value, angle, y, x)
    if best is None:
        return None
    rot = next(r for _, r in _rotations(stack, np.array([best[1]])))
    best = (*best, rot)
    c_signal, angle, y, x, rot = best
    row = rot[y - 2:y + 3, :, 0].mean(axis=0)
    across = np.nonzero(row > c_signal / 2)[0]
    near = across[np.abs(across - x) < 80]
    width_px = float(near.max() - near.min() + 1) if near.size else 30.0
    px_per_mm = max(width_px, 10.0) / STRIP_WIDTH_MM
    x0, x1 = max(int(x - width_px / 4), 0), int(x + width_px / 4) + 1
    # Along the strip: the window's edges are neutral (dark in every colour); a gold line
    # is not (it hardly absorbs red), so a strong test line is never taken for an edge.
    a_g = rot[:, x0:x1, 2].mean(axis=1)
    a_rb = np.minimum(rot[:, x0:x1, 4], rot[:, x0:x1, 5]).mean(axis=1)
    neutral = np.where(a_rb > 0.6 * a_g, a_g, 0.0)
    reach = int(WINDOW_MAX_MM * px_per_mm)
    # Window edges: the nearest strongly absorbing rows on each side of C, beyond C's band.
    gap = int(1.0 * px_per_mm)
    above = [i for i in range(y - gap, max(y - reach, 0), -1) if neutral[i] > 0.04]
    below = [i for i in range(y + gap, min(y + reach, neutral.size)) if neutral[i] > 0.04]
    top = above[0] if above else max(y - reach, 0)
    bottom = below[0] if below else min(y + reach, neutral.size - 1)
    gold_resp = band_response(np.ascontiguousarray(rot[:, :, 1]), 4,
                              max(int(width_px * 0.6), 8))
    column = gold_resp[:, x0:x1].mean(axis=1)
    idx = np.arange(column.size)
    margin = int(0.8 * px_per_mm)
    zone = (idx > top + margin) & (idx < bottom - margin) & (np.abs(idx - y) > gap)
    where = (float(angle), int(y), int(x), px_per_mm)
    if not zone.any():
        return False, 0.0, where
    values = column[zone]
    noise = 1.4826 * float(np.median(np.abs(values - np.median(values)))) + 1e-4
    t_signal = float(values.max())
    ratio = max(t_signal, 0.0) / c_signal
    positive = t_signal > 5 * noise and ratio >= T_POSITIVE_RATIO
    return positive, ratio, where


def _peaks(resp: np.ndarray, count: int, spacing: int) -> list[tuple[int, int, float]]:
    """The ``count`` strongest local maxima, at least ``spacing`` px apart."""
    work = resp.copy()
    out = []
    for _ in range(count):
        k = int(np.argmax(work))
        y, x = divmod(k, work.shape[1])
        out.append((y, x, float(work[y, x])))
        work[max(y - spacing, 0):y + spacing + 1, max(x - spacing, 0):x + spacing + 1] = -np.inf
    return out


def _line_like(stack: np.ndarray, y: int, x: int, value: float) -> bool:
    """Whether the band through (x, y) looks like a result line: unbroken across the strip,
    thin compared with the strip's width, on clear membrane on both sides (printed marks
    are broken, or blocks, or sit against other print)."""
    img, light = stack[:, :, 0], stack[:, :, 1]  # blue-dye absorbance, linear green
    row = img[max(y - 2, 0):y + 3, :].mean(axis=0)
    above = row > value / 2
    left, right = x, x
    while left > 0 and above[left - 1]:
        left -= 1
    while right < row.size - 1 and above[right + 1]:
        right += 1
    width = right - left + 1
    if width < 12:
        return False
    segments = np.array_split(row[left:right + 1], 4)
    means = [float(seg.mean()) for seg in segments]
    if min(means) < 0.5 * max(means):
        return False
    cols = slice(max(x - width // 4, 0), x + width // 4 + 1)
    column = img[:, cols].mean(axis=1)
    peak = float(column[y])
    top, bottom = y, y
    while top > 0 and column[top - 1] > peak / 2:
        top -= 1
    while bottom < column.size - 1 and column[bottom + 1] > peak / 2:
        bottom += 1
    thickness = bottom - top + 1
    if thickness > LINE_MAX_THICKNESS * width:
        return False
    # Both sides must be as light as the whitest part of the strip nearby (membrane, not
    # print); the local-background absorbance cannot tell, since it adapts to dark print.
    flank = light[:, cols].mean(axis=1)
    reach = int(FLANK_MM * width / STRIP_WIDTH_MM)
    lo, hi = top - 3 - reach, bottom + 3 + reach
    if lo < 0 or hi >= flank.size:
        return False
    white = float(np.percentile(flank[lo:hi + 1], 90))
    # The median of each side: a thin test line beside C is fine, a block of print is not.
    sides = (np.median(flank[lo:top - 2]), np.median(flank[bottom + 3:hi + 1]))
    return float(min(sides)) >= CLEAR_MEMBRANE * white
