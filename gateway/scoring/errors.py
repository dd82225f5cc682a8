"""Errors of the scoring engine: bad input is an error, never a call."""

from __future__ import annotations


class ScoringError(Exception):
    """Base of every scoring error; the message says what is wrong and what to do."""


class FrameError(ScoringError):
    """A frame that cannot be scored: wrong type, depth, channels or size, or no frames."""


class ImageFileError(ScoringError):
    """An image file that is missing, empty, truncated or not an image."""


class FlatFieldError(ScoringError):
    """A flat-field correction of the wrong shape or with unusable values."""


class KitLayoutError(ScoringError):
    """A window index the kit does not have."""
