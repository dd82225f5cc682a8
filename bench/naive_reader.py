"""The naive baseline the benchmark compares against: column means of grey levels, no
baseline removal, no linearisation, no quality gates.

To isolate the reading method from the localisation, it crops each window where our
localiser found it (a naive reader with a fixed crop would do far worse in a tray that lets
the cassette move by millimetres). T/C is the ratio of the two lines' grey-level dips below the
brightest column of the window. The only way it says "invalid" is a C dip under 8 grey levels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from gateway.kits.models import Kit
from gateway.scoring import Pose, decide, locate
from protocol.messages import Call

MIN_C_DIP = 8.0  # grey levels


@dataclass(frozen=True)
class NaiveResult:
    call: Call
    ratio: float | None


def naive_score(frames: Sequence[np.ndarray], kit: Kit, window: int = 0,
                px_per_mm: float = 12.0, pose: Pose | None = None) -> NaiveResult:
    """Read one window of the first frame the naive way (``pose``: a localisation already
    made for this frame, to save doing it once per window)."""
    frame = frames[0]
    if pose is None:
        pose = locate(frame, kit.cassette, px_per_mm).pose
    if pose is None:
        return NaiveResult(Call.INVALID, None)
    win = kit.cassette.windows[window]
    (cu, cv), (wl, ww) = win.centre_mm, win.size_mm
    s = pose.scale
    cols, rows = int(wl * s), int(ww * 0.6 * s)
    m = pose.matrix()
    a = m[:, :2] / s
    b = m[:, :2] @ np.array([cu - wl / 2, cv - ww * 0.3]) + m[:, 2]
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    crop = cv2.warpAffine(grey, np.hstack([a, b[:, None]]), (cols, rows),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    profile = crop.mean(axis=0)
    x_mm = np.arange(cols) / s
    white = float(profile[(x_mm > 0.5) & (x_mm < wl - 0.5)].max())

    def dip(at_mm: float) -> float:
        near = np.abs(x_mm - at_mm) <= 1.5
        return white - float(profile[near].min()) if near.any() else 0.0

    c, t = dip(win.c_mm), dip(win.t_mm)
    if c < MIN_C_DIP:
        return NaiveResult(Call.INVALID, None)
    ratio = max(t, 0.0) / c
    return NaiveResult(decide(ratio, math.inf if t > 3 else 0.0, kit.decision_for(window)),
                       ratio)
