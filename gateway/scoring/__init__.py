"""Strip scoring: a pure function of frames and a kit that reads colloidal-gold cassettes.

:func:`score` reads one window from a burst of frames and returns a :class:`ScoreResult`
(the call, T/C, both lines' figures, the reasons, frame hashes, timing); :func:`score_windows`
reads every window of a multi-strip card. Bad input raises a :class:`ScoringError`, never a
call. :func:`exposure_advice` tells the kiosk to take a burst again, darker or brighter,
before a reading would be refused for its exposure. The method, the quality gates and how to
add a kit: docs/scoring.md.

Also public, for the tools that share the scorer's pieces (the technician's calibration, the
benchmark's naive reader): :data:`SRGB_TO_LINEAR` (the 8-bit sRGB to linear light look-up),
:func:`locate` (find the cassette: a :class:`Located` with its :class:`Pose`) and
:func:`decide` (a T/C to a call by the kit's rule). The underscore modules are the engine's
own: nothing outside this package imports them.
"""

from ._decide import decide
from ._frames import SRGB_TO_LINEAR, make_flat_field
from ._locate import Located, locate
from ._pose import Pose
from .engine import DEFAULT_PX_PER_MM, DEFAULT_SIZE, score, score_windows
from .errors import FlatFieldError, FrameError, ImageFileError, KitLayoutError, ScoringError
from .exposure import exposure_advice
from .io import load_frame
from .reasons import MESSAGES, Reason
from .result import ScoreResult

__all__ = [
    "DEFAULT_PX_PER_MM",
    "DEFAULT_SIZE",
    "MESSAGES",
    "SRGB_TO_LINEAR",
    "FlatFieldError",
    "FrameError",
    "ImageFileError",
    "KitLayoutError",
    "Located",
    "Pose",
    "Reason",
    "ScoreResult",
    "ScoringError",
    "decide",
    "exposure_advice",
    "load_frame",
    "locate",
    "make_flat_field",
    "score",
    "score_windows",
]
