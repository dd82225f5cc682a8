"""Exposure head-room: whether a burst should be taken again, brighter or darker, before the
scorer refuses it for its exposure.

The reading is a ratio of optical densities, so it does not depend on the exposure as long as
nothing clips and the light is well above the sensor's noise. A burst whose membrane has no
head-room left in its brightest colour (or whose plastic is clipped) would be refused as
``overexposed``; one whose white plastic is too dark, as ``underexposed``. Rather than refuse
at once, the kiosk takes the burst again at the exposure :func:`exposure_advice` gives, which
puts the brightest membrane colour near the middle of the range (``TARGET_LEVEL``). A burst
that is readable but dim (the brightest membrane colour under ``DIM_LEVEL``: an aged LED, a
short exposure) is taken again brighter too: shot noise falls with the square root of the
light, and the head-room is there to use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gateway.kits.models import Kit

from ._frames import validate_frames
from ._locate import locate
from ._window import measure_window
from .engine import DEFAULT_PX_PER_MM, DEFAULT_SIZE
from .reasons import Reason

TARGET_LEVEL = 0.6  # the brightest membrane colour aimed at (linear; head-room is 0.86)
TARGET_WHITE = 0.55  # the white plastic aimed at when the frame is too dark
DIM_LEVEL = 0.35  # a readable membrane whose brightest colour is below this is taken again
DARKER = (0.3, 0.75)  # range of the scale advised against over-exposure
BRIGHTER = (1.3, 2.5)  # ... and against under-exposure
BLACK_LEVEL = 0.02  # below this there is no light to scale (the LED is off)


def exposure_advice(frames: Sequence[np.ndarray], kit: Kit, *,
                    windows: Sequence[int] | None = None,
                    expected_size: tuple[int, int] | None = DEFAULT_SIZE,
                    px_per_mm: float = DEFAULT_PX_PER_MM) -> float | None:
    """The factor to multiply the exposure by and take the burst again, or None when the
    burst's exposure is fine (or cannot be helped: no light at all, no cassette).

    Decided like a reading: when at least half the frames would be refused as over-exposed
    (or under-exposed), the advice is the median of their frames' own factors.

    Raises:
        FrameError: bad frames (as :func:`score` does).
    """
    checked = validate_frames(frames, expected_size)
    indices = list(range(kit.windows)) if windows is None else list(windows)
    over: list[float] = []
    under: list[float] = []
    for frame in checked:
        verdict = _frame_exposure(frame, kit, indices, px_per_mm)
        if verdict is None:
            continue
        reason, level = verdict
        if reason is Reason.OVEREXPOSED:
            over.append(float(np.clip(TARGET_LEVEL / max(level, 1e-6), *DARKER)))
        elif reason is None:  # readable, but dim
            under.append(float(np.clip(TARGET_LEVEL / max(level, 1e-6), *BRIGHTER)))
        elif level >= BLACK_LEVEL:
            under.append(float(np.clip(TARGET_WHITE / level, *BRIGHTER)))
    need = max(1, -(-len(checked) // 2))
    if len(over) >= need:
        return float(np.median(over))
    if len(under) >= need:
        return float(np.median(under))
    return None


def _frame_exposure(frame: np.ndarray, kit: Kit, indices: list[int], px_per_mm: float
                    ) -> tuple[Reason | None, float] | None:
    """(OVEREXPOSED or UNDEREXPOSED, the level that decided it) for one frame; (None, the
    brightest membrane colour) when it is readable but dim; None when it is fine (or nothing
    light could mend is wrong)."""
    located = locate(frame, kit.cassette, px_per_mm)
    level = located.metrics.get("cassette_level", 0.0)
    if Reason.OVEREXPOSED in located.problems:
        return Reason.OVEREXPOSED, max(level, 1.0)  # clipped: at least full scale
    if Reason.UNDEREXPOSED in located.problems:
        return Reason.UNDEREXPOSED, level
    if not located.readable or located.pose is None:
        return None
    dimmest = math.inf
    for i in indices:
        m = measure_window(frame, located.pose, kit.cassette, i, None,
                           kit.decision_for(i).min_c_absorbance,
                           located.metrics.get("blur_px", float("nan")), read=False)
        if Reason.OVEREXPOSED in m.problems:
            peak = m.metrics.get("membrane_peak_level", 1.0)
            return Reason.OVEREXPOSED, peak if m.metrics.get("clipped_share", 0.0) < 0.01 \
                else max(peak, 1.0)
        if Reason.UNDEREXPOSED in m.problems:
            return Reason.UNDEREXPOSED, m.metrics.get("white_level", 0.0)
        dimmest = min(dimmest, m.metrics.get("membrane_peak_level", math.inf))
    if dimmest < DIM_LEVEL:
        return None, dimmest
    return None
