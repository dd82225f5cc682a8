"""Find the cassette in a frame: a coarse blob search, then sub-pixel edge fits.

The cassette is white plastic on a darker tray. A quarter-size Otsu threshold finds it
roughly; straight-line fits to edge crossings sampled across its four sides at full resolution
then give its centre, angle and scale to a fraction of a pixel. The same edge profiles tell how
sharp the picture is (the blur gate). Placement gates (absent, misplaced, rotated, reversed,
wrong cassette) are decided here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from gateway.kits.models import CassetteLayout

from ._edges import refine
from ._frames import SRGB_TO_LINEAR
from ._pose import Pose
from .reasons import Reason

COARSE = 4  # downscale factor of the coarse search
MAX_OFFSET_MM = 6.0
MAX_ROTATION_DEG = 5.0
MAX_SCALE_ERROR = 0.08
MAX_BLUR_MM = 0.2  # Gaussian sigma of the edge spread, in mm on the cassette
DARK_PLASTIC = 0.22  # linear green of the white plastic below which the frame is too dark
CLIPPED_PLASTIC = 0.96  # ... and at or above which it is clipped (nominal level 0.6)


@dataclass
class Located:
    """Result of the search: a pose (if any) and the placement problems found."""

    pose: Pose | None
    problems: list[Reason] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        """True when the windows can be measured (a pose and no blocking problem)."""
        return self.pose is not None and not any(p in BLOCKING for p in self.problems)


BLOCKING = {Reason.CASSETTE_ABSENT, Reason.CASSETTE_MISPLACED, Reason.CASSETTE_ROTATED,
            Reason.CASSETTE_REVERSED, Reason.CASSETTE_MISMATCH, Reason.OVEREXPOSED,
            Reason.UNDEREXPOSED}


def locate(frame: np.ndarray, layout: CassetteLayout, px_per_mm: float) -> Located:
    """Find the cassette of ``layout`` in ``frame`` (BGR uint8) and check its placement."""
    h, w = frame.shape[:2]
    green = frame[:, :, 1]
    small = cv2.resize(green, (w // COARSE, h // COARSE), interpolation=cv2.INTER_AREA)
    # Otsu on the image clipped at its 97th percentile: a few glare spots (a small share of
    # the frame) must not become the "bright" class and leave the cassette in the dark one.
    level, _ = cv2.threshold(np.minimum(small, np.percentile(small, 97)).astype(np.uint8), 0,
                             255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, mask = cv2.threshold(small, level, 255, cv2.THRESH_BINARY)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    length_mm, width_mm = layout.size_mm
    expected_area = length_mm * width_mm * (px_per_mm / COARSE) ** 2
    lin_small = SRGB_TO_LINEAR[small]
    blob = max(contours, key=cv2.contourArea) if contours else None
    area = cv2.contourArea(blob) if blob is not None else 0.0
    contrast = 0.0
    if blob is not None:
        inside = mask > 0
        if inside.any() and (~inside).any():
            contrast = float(lin_small[inside].mean() / max(lin_small[~inside].mean(), 1e-4))
    metrics = {"cassette_contrast": contrast, "cassette_area_ratio": area / expected_area}
    if blob is None or area < 0.35 * expected_area or contrast < 1.3:
        # A tenth of the frame clipped is far more than glare spots make: too much light
        # (an overexposed cassette also loses its contrast against the tray).
        saturated = float(np.mean(small >= 250))
        if saturated > 0.1:
            return Located(None, [Reason.OVEREXPOSED], metrics)
        # The tray is dark by design: only a frame that is black throughout (light off)
        # says "too dark" rather than "no cassette".
        if float(np.percentile(lin_small, 99)) < 0.01:
            return Located(None, [Reason.UNDEREXPOSED], metrics)
        return Located(None, [Reason.CASSETTE_ABSENT], metrics)

    # The cassette's white plastic tells the exposure before anything else: in a very dark
    # frame, noise can join the blob to the frame edge and look like a misplaced cassette.
    inside_level = float(np.median(lin_small[mask > 0]))
    metrics["cassette_level"] = inside_level
    if inside_level < DARK_PLASTIC:
        return Located(None, [Reason.UNDEREXPOSED], metrics)
    if inside_level >= CLIPPED_PLASTIC:
        # Edges cannot be fitted on clipped plastic (a large card's fit then turned by 90
        # degrees): the light is the problem, whatever the placement.
        return Located(None, [Reason.OVEREXPOSED], metrics)
    xs, ys = blob[:, 0, 0], blob[:, 0, 1]
    touches = xs.min() <= 1 or ys.min() <= 1 or xs.max() >= small.shape[1] - 2 \
        or ys.max() >= small.shape[0] - 2
    coarse = _coarse_pose(blob, px_per_mm)
    lin_green = cv2.LUT(green, SRGB_TO_LINEAR)
    pose, blur_px, plastic = refine(lin_green, coarse, layout)
    # A blob that reaches the frame's edge is a cassette pushed out of view, or one joined to
    # the edge by a glare spot on the tray beside it. Only a cassette whose fitted outline
    # lies inside the frame, at the expected size and near its place, is the second kind.
    if touches and not (_outline_inside(pose, layout, w, h)
                        and _offset_mm(pose, w, h) <= MAX_OFFSET_MM
                        and abs(pose.scale / px_per_mm - 1.0) <= MAX_SCALE_ERROR):
        metrics["offset_mm"] = _offset_mm(coarse, w, h)
        return Located(coarse, [Reason.CASSETTE_MISPLACED], metrics)
    metrics["blur_px"] = blur_px
    metrics["blur_mm"] = blur_px / pose.scale
    metrics["offset_mm"] = _offset_mm(pose, w, h)
    metrics["rotation_deg"] = math.degrees(pose.angle)
    metrics["scale_px_per_mm"] = pose.scale
    metrics["size_error"] = pose.scale / px_per_mm - 1.0
    metrics["plastic_level"] = plastic

    problems: list[Reason] = []
    if _reversed(lin_green, pose, layout, plastic):
        problems.append(Reason.CASSETTE_REVERSED)
    if metrics["offset_mm"] > MAX_OFFSET_MM:
        problems.append(Reason.CASSETTE_MISPLACED)
    if abs(metrics["rotation_deg"]) > MAX_ROTATION_DEG:
        problems.append(Reason.CASSETTE_ROTATED)
    if abs(metrics["size_error"]) > MAX_SCALE_ERROR:
        problems.append(Reason.CASSETTE_MISMATCH)
    if metrics["blur_mm"] > MAX_BLUR_MM:
        problems.append(Reason.BLURRED)
    return Located(pose, problems, metrics)


def _outline_inside(pose: Pose, layout: CassetteLayout, w: int, h: int,
                    margin_mm: float = 1.0) -> bool:
    """Whether the cassette's outline at ``pose`` lies inside the frame with a margin."""
    hl, hw = layout.size_mm[0] / 2, layout.size_mm[1] / 2
    corners = pose.to_frame(np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]]))
    m = margin_mm * pose.scale
    return bool((corners[:, 0] >= m).all() and (corners[:, 0] <= w - 1 - m).all()
                and (corners[:, 1] >= m).all() and (corners[:, 1] <= h - 1 - m).all())


def _offset_mm(pose: Pose, w: int, h: int) -> float:
    dx = pose.centre[0] - (w - 1) / 2
    dy = pose.centre[1] - (h - 1) / 2
    return math.hypot(dx, dy) / pose.scale


def _coarse_pose(blob: np.ndarray, px_per_mm: float) -> Pose:
    """Centre and angle of the blob's bounding rectangle, at the reader's nominal scale.

    The blob's own size is not trusted: a glare spot touching the cassette swells it.
    """
    box = cv2.boxPoints(cv2.minAreaRect(blob)).astype(np.float64) * COARSE + (COARSE - 1) / 2
    e1, e2 = box[1] - box[0], box[2] - box[1]
    long_edge = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
    if long_edge[0] < 0:  # point the flow axis to the right
        long_edge = -long_edge
    angle = math.atan2(long_edge[1], long_edge[0])
    centre = box.mean(axis=0)
    return Pose((float(centre[0]), float(centre[1])), angle, float(px_per_mm))


def _reversed(img: np.ndarray, pose: Pose, layout: CassetteLayout, plastic: float) -> bool:
    """True when the sample well shows at the far end instead of where the kit puts it."""
    if not math.isfinite(plastic) or plastic <= 0:
        return False
    well = layout.windows[0]
    r = 0.3 * well.well_diameter_mm * pose.scale
    here = _patch_mean(img, pose.to_frame(np.array([well.well_centre_mm]))[0], r)
    there = _patch_mean(img, pose.to_frame(-np.array([well.well_centre_mm]))[0], r)
    if here is None or there is None:
        return False
    return here / plastic > 0.8 and there / plastic < 0.7


def _patch_mean(img: np.ndarray, centre: np.ndarray, r: float) -> float | None:
    x0, x1 = int(centre[0] - r), int(centre[0] + r) + 1
    y0, y1 = int(centre[1] - r), int(centre[1] + r) + 1
    h, w = img.shape
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        return None
    return float(img[y0:y1, x0:x1].mean())
