"""The scoring engine: frames + kit -> one reading per window. A pure function: no I/O, no
globals, nothing kept between calls (it only reads the clock, for ``processing_ms``).

Per frame: locate the cassette and check its placement and focus; per window: check exposure,
glare and the membrane, then read C (required) and T. The burst is combined by the median of
the frames that passed every gate, and its spread is reported; if too few frames pass, the
reading is invalid with the reasons that failed them.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from gateway.kits.models import Kit
from protocol.messages import Call, LineFigures

from ._decide import decide
from ._frames import frame_sha256, prepare_flat_field, validate_frames
from ._locate import Located, locate
from ._profile import RED_WEIGHTS, LineMeasure
from ._window import WindowMeasure, measure_window
from .errors import KitLayoutError
from .reasons import Reason, message
from .result import ScoreResult

DEFAULT_SIZE = (1280, 960)
DEFAULT_PX_PER_MM = 12.0
MAX_SPREAD = 0.1  # T/C spread over a burst beyond which the reading is not trusted
TEXTURE_RED_WEIGHTS = RED_WEIGHTS  # candidate k of green / red ** k on lossless frames
# A window whose veil score (1 = refused as glare) reaches this may hide a veil the search
# could not prove; the light it could add on a line is this share of the membrane's light at
# score 1 (the weakest veil the search is meant to see), in proportion below.
VEIL_SUSPICION = 0.7
VEIL_HIDDEN_LIGHT = 0.03


def score(frames: Sequence[np.ndarray], kit: Kit, *, window: int | None = None,
          flat_field: np.ndarray | None = None, annotate: bool = False,
          expected_size: tuple[int, int] | None = DEFAULT_SIZE,
          px_per_mm: float = DEFAULT_PX_PER_MM, lossless: bool = False) -> ScoreResult:
    """Read one window of a cassette from a burst of frames.

    Args:
        frames: one or more BGR uint8 frames of the same cassette (a burst).
        kit: the kit (resolved for its lot) whose cassette is in the tray.
        window: which window to read; may be omitted for a single-window kit.
        flat_field: optional per-reader illumination correction from the technician's
            blank-card calibration: float array (H, W, 3) or (H, W) of relative *linear*
            illumination, same size as the frames (e.g. from :func:`make_flat_field`). It is
            normalised to median 1 here and divided out of the linearised frames before the
            profile is taken; the exposure gates use the raw frames.
        annotate: also return an annotated copy of the first frame.
        expected_size: (width, height) the reader's frames must have; None accepts any.
        px_per_mm: the reader's nominal magnification (from its calibration).
        lossless: the frames never went through lossy compression (a camera's raw RGB or
            YUYV, a PNG), so their colours can be trusted pixel by pixel: the membrane's
            texture is then cancelled with the red channel where that makes the reading
            quieter. False (JPEG frames, or unknown) reads the green channel alone: JPEG's
            colour errors gather at the lines and would outweigh the gain.

    Raises:
        FrameError: bad frames (none, not uint8, grey, wrong size...). Never a call.
        FlatFieldError: a flat field of the wrong shape or with unusable values.
        KitLayoutError: ``window`` missing for a multi-window kit, or out of range.
    """
    if window is None:
        if kit.windows != 1:
            raise KitLayoutError(f"kit {kit.id} has {kit.windows} windows: say which to read "
                                 "(window=...) or use score_windows()")
        window = 0
    return score_windows(frames, kit, windows=[window], flat_field=flat_field,
                         annotate=annotate, expected_size=expected_size, lossless=lossless,
                         px_per_mm=px_per_mm)[0]


def score_windows(frames: Sequence[np.ndarray], kit: Kit, *,
                  windows: Sequence[int] | None = None,
                  flat_field: np.ndarray | None = None, annotate: bool = False,
                  expected_size: tuple[int, int] | None = DEFAULT_SIZE,
                  px_per_mm: float = DEFAULT_PX_PER_MM, lossless: bool = False
                  ) -> list[ScoreResult]:
    """Read several (default: all) windows of a cassette; one result per window, in order.

    Same arguments and errors as :func:`score`; the cassette is located once per frame.
    """
    started = time.perf_counter()
    checked = validate_frames(frames, expected_size)
    flat = prepare_flat_field(flat_field, checked[0].shape)
    indices = list(range(kit.windows)) if windows is None else list(windows)
    for i in indices:
        if not 0 <= i < kit.windows:
            raise KitLayoutError(f"kit {kit.id} has {kit.windows} window(s); there is no "
                                 f"window {i}")
    hashes = [frame_sha256(f) for f in checked]
    red_weights = TEXTURE_RED_WEIGHTS if lossless else (0.0,)
    per_frame: list[tuple[Located, dict[int, WindowMeasure]]] = []
    for f in checked:
        located = locate(f, kit.cassette, px_per_mm)
        measures: dict[int, WindowMeasure] = {}
        if located.readable and located.pose is not None:
            for i in indices:
                rule = kit.decision_for(i)
                measures[i] = measure_window(f, located.pose, kit.cassette, i, flat,
                                             rule.min_c_absorbance,
                                             located.metrics.get("blur_px", float("nan")),
                                             red_weights=red_weights, lossless=lossless)
        per_frame.append((located, measures))

    annotated = None
    if annotate:
        from .annotate import draw  # drawing is only needed on request

        annotated = draw(checked[0], per_frame[0][0], per_frame[0][1], kit)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    results = [_combine(kit, i, per_frame, hashes, elapsed_ms, annotated) for i in indices]
    if annotate and annotated is not None:
        from .annotate import label_calls

        label_calls(annotated, results)
    return results


def _line_sensitivity(od: float) -> float:
    """Relative loss of a line's density per unit of light added over it (as a share of the
    membrane's light), for small additions: (10**a - 1) / (a ln 10)."""
    return 1.0 if od < 0.02 else (10.0 ** od - 1.0) / (od * math.log(10.0))


def _veil_margin(ratio: float, c_od: float, t_od: float, veil_score: float) -> float:
    """How far a veil that may be hiding (score at or above VEIL_SUSPICION) could move T/C."""
    if veil_score < VEIL_SUSPICION:
        return 0.0
    light = veil_score * VEIL_HIDDEN_LIGHT
    return ratio * light * max(_line_sensitivity(c_od), _line_sensitivity(t_od))


def _frame_problems(located: Located, measure: WindowMeasure | None) -> list[Reason]:
    problems = list(located.problems)
    if measure is not None:
        problems += [p for p in measure.problems if p not in problems]
        if measure.profile is not None and measure.profile.c is None:
            problems.append(Reason.NO_CONTROL_LINE)
    elif not problems:  # pragma: no cover - a readable frame always has a measure
        problems.append(Reason.CASSETTE_ABSENT)
    return problems


def _median_line(lines: list[LineMeasure]) -> LineFigures:
    if not lines:
        return LineFigures()
    return LineFigures(
        position_px=round(float(np.median([x.position_px for x in lines])), 2),
        height=round(float(np.median([x.od for x in lines])), 5),
        area=round(float(np.median([x.area for x in lines])), 4),
    )


def _combine(kit: Kit, index: int, per_frame: list[tuple[Located, dict[int, WindowMeasure]]],
             hashes: list[str], elapsed_ms: float, annotated: np.ndarray | None
             ) -> ScoreResult:
    rule = kit.decision_for(index)
    n = len(per_frame)
    good: list[tuple[LineMeasure, LineMeasure]] = []
    veil_scores: list[float] = []
    measured: list[tuple[LineMeasure, LineMeasure]] = []
    failures: Counter[Reason] = Counter()
    first_failure: dict[Reason, dict[str, float]] = {}
    quality: dict[str, float] = {}
    for located, measures in per_frame:
        measure = measures.get(index)
        problems = _frame_problems(located, measure)
        prof = measure.profile if measure is not None else None
        lines = (prof.c, prof.t) if prof is not None and prof.c is not None \
            and prof.t is not None else None
        if lines is not None:
            measured.append(lines)
        frame_figures = {**located.metrics, **(measure.metrics if measure else {})}
        if not quality or (not problems and lines is not None and not good):
            quality = dict(frame_figures)
        if problems:
            for p in problems:
                failures[p] += 1
                first_failure.setdefault(p, frame_figures)
        elif lines is not None:
            good.append(lines)
            veil_scores.append(frame_figures.get("veil_score", 0.0))

    codes: list[Reason] = []
    call: Call
    source = good if good else measured
    ratios = [max(t.od, 0.0) / c.od for c, t in source]
    ratio = float(np.median(ratios)) if ratios else None
    spread = float(max(ratios) - min(ratios)) if ratios else None
    need = max(1, math.ceil(n / 2))
    if len(good) < need:
        call = Call.INVALID
        codes = [r for r, _ in failures.most_common()]
    else:
        assert ratio is not None and spread is not None
        t_snr = float(np.median([t.snr for _, t in good]))
        call = decide(ratio, t_snr, rule)
        margin = _veil_margin(ratio, float(np.median([c.od for c, _ in good])),
                              float(np.median([max(t.od, 0.0) for _, t in good])),
                              float(np.median(veil_scores)))
        quality["veil_margin"] = margin
        if call in (Call.POSITIVE, Call.NEGATIVE) and margin > 0 and (
                decide(ratio - margin, t_snr, rule) is not call
                or decide(ratio + margin, t_snr, rule) is not call):
            # A veil the search could not prove may be moving this reading across a
            # cut-off: a confident call whose error cannot be bounded is not given.
            call = Call.INVALID
            codes.append(Reason.GLARE)
        if call is Call.SUSPECT:
            codes.append(Reason.SUSPECT_BAND)
        if len(good) > 1 and spread > max(MAX_SPREAD, MAX_SPREAD * ratio):
            call = Call.SUSPECT  # never let an unstable burst decide
            codes.append(Reason.BURST_UNSTABLE)
        if len(good) < n:
            codes.append(Reason.FRAMES_DISCARDED)

    figures: dict[str, object] = {
        "t_c_ratio": ratio if ratio is not None else float("nan"),
        "cutoff_low": rule.cutoff_low, "cutoff_high": rule.cutoff_high,
        "frame_count": n, "t_c_spread": spread if spread is not None else float("nan"),
        "discarded": n - len(good),
        "why": ", ".join(sorted({str(r) for r in failures})),
    }
    texts = []
    for code in codes:
        detail: dict[str, Any] = {**quality, **first_failure.get(code, {}), **figures}
        if "rotation_deg" in detail:
            detail["rotation_deg"] = abs(float(detail["rotation_deg"]))
        if "size_error" in detail:
            detail["size_error"] = abs(float(detail["size_error"]))
        texts.append(message(code, **detail))
    return ScoreResult(
        kit_id=kit.id, window=index, analyte=kit.analytes[index], call=call,
        rule=rule.mode.value, cutoff_low=rule.cutoff_low, cutoff_high=rule.cutoff_high,
        t_c_ratio=None if ratio is None else round(ratio, 5),
        t_c_spread=None if spread is None else round(spread, 5),
        c_line=_median_line([c for c, _ in source]),
        t_line=_median_line([t for _, t in source]),
        reasons=texts, reason_codes=[str(c) for c in codes], frame_count=n,
        frames_used=len(good), frames_sha256=list(hashes), processing_ms=elapsed_ms,
        quality={k: float(v) for k, v in quality.items()}, annotated=annotated,
    )
