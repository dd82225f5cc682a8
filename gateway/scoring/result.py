"""What a reading returns: the call, every figure behind it, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from protocol.messages import Call, LineFigures

from .reasons import Reason

# Fields of protocol.messages.StripReading that come from the scorer, same names.
READING_FIELDS = ("window", "call", "rule", "cutoff_low", "cutoff_high", "t_c_ratio",
                  "t_c_spread", "c_line", "t_line", "reasons", "frame_count",
                  "frames_sha256", "processing_ms")


@dataclass(frozen=True)
class ScoreResult:
    """One window's reading.

    Attributes:
        call: negative / positive / suspect / invalid (``protocol.messages.Call``).
        rule: the kit's decision mode for this window (``tc_ratio``, ``t_disappearance``,
            ``sandwich_threshold``).
        cutoff_low, cutoff_high: the cut-offs used (the suspect band lies between them).
        t_c_ratio: median T/C (ratio of line optical densities) over the usable frames, or
            None when there is none (invalid).
        t_c_spread: max - min of T/C over the usable frames (0 for one frame).
        c_line, t_line: position (px from the window's sample-side edge), height (optical
            density of the line core, base 10, green) and area (absorbance x px).
        reasons: what went wrong or is uncertain, in words a person can act on (English).
        reason_codes: the same as stable codes (``Reason`` values) for translation.
        frame_count: frames given; frames_used: frames that passed every gate.
        frames_sha256: SHA-256 of each frame's raw BGR pixels.
        processing_ms: wall time of the whole call (shared by the windows of one call).
        quality: the gate figures (blur, offset, rotation, exposure, glare, membrane...).
        annotated: the first frame with the window, profile and C/T marks drawn, if asked.
    """

    kit_id: str
    window: int
    analyte: str
    call: Call
    rule: str
    cutoff_low: float
    cutoff_high: float
    t_c_ratio: float | None
    t_c_spread: float | None
    c_line: LineFigures
    t_line: LineFigures
    reasons: list[str]
    reason_codes: list[str]
    frame_count: int
    frames_used: int
    frames_sha256: list[str]
    processing_ms: float
    quality: dict[str, float] = field(default_factory=dict)
    annotated: np.ndarray | None = field(default=None, repr=False, compare=False)

    def has(self, code: Reason | str) -> bool:
        """Whether ``code`` is among the reasons."""
        return str(code) in self.reason_codes

    def reading_fields(self) -> dict[str, Any]:
        """The fields of ``protocol.messages.StripReading`` this result fills, by name."""
        return {name: getattr(self, name) for name in READING_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no image)."""
        out: dict[str, Any] = {
            "kit_id": self.kit_id, "window": self.window, "analyte": self.analyte,
            "call": self.call.value, "rule": self.rule, "cutoff_low": self.cutoff_low,
            "cutoff_high": self.cutoff_high, "t_c_ratio": self.t_c_ratio,
            "t_c_spread": self.t_c_spread, "c_line": self.c_line.model_dump(),
            "t_line": self.t_line.model_dump(), "reasons": self.reasons,
            "reason_codes": self.reason_codes, "frame_count": self.frame_count,
            "frames_used": self.frames_used, "frames_sha256": self.frames_sha256,
            "processing_ms": round(self.processing_ms, 3),
            "quality": {k: (round(v, 4) if isinstance(v, float) else v)
                        for k, v in self.quality.items()},
        }
        return out
