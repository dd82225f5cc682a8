"""Strip scoring: a pure function of frames and a kit that reads colloidal-gold cassettes.

:func:`score` reads one window from a burst of frames and returns a :class:`ScoreResult`
(the call, T/C, both lines' figures, the reasons, frame hashes, timing); :func:`score_windows`
reads every window of a multi-strip card. Bad input raises a :class:`ScoringError`, never a
call. The method, the quality gates and how to add a kit: docs/scoring.md.
"""

from ._frames import make_flat_field
from .engine import DEFAULT_PX_PER_MM, DEFAULT_SIZE, score, score_windows
from .errors import FlatFieldError, FrameError, ImageFileError, KitLayoutError, ScoringError
from .io import load_frame
from .reasons import MESSAGES, Reason
from .result import ScoreResult

__all__ = [
    "DEFAULT_PX_PER_MM",
    "DEFAULT_SIZE",
    "MESSAGES",
    "FlatFieldError",
    "FrameError",
    "ImageFileError",
    "KitLayoutError",
    "Reason",
    "ScoreResult",
    "ScoringError",
    "load_frame",
    "make_flat_field",
    "score",
    "score_windows",
]
