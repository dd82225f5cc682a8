"""Checking and preparing frames: validation, hashing, and the sRGB-to-linear look-up.

The reader's camera delivers sRGB-encoded 8-bit BGR frames (the Pi camera's default
pipeline). Absorbance must be computed on linear light, so every intensity is linearised with
the inverse sRGB curve before anything is averaged or divided.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .errors import FlatFieldError, FrameError

MAX_FRAMES = 32  # the wire contract carries at most 32 frame hashes


def _srgb_to_linear() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return lin.astype(np.float32)


SRGB_TO_LINEAR = _srgb_to_linear()


def validate_frames(frames: Sequence[np.ndarray], expected_size: tuple[int, int] | None
                    ) -> list[np.ndarray]:
    """Check a burst and return it as a list of C-contiguous BGR uint8 arrays.

    Args:
        frames: one or more frames of the same strip.
        expected_size: (width, height) every frame must have, or None for any size.

    Raises:
        FrameError: no frames, too many, or a frame of the wrong type, depth, channels or size.
    """
    if isinstance(frames, np.ndarray):
        raise FrameError("pass a sequence of frames (a list), not a single array")
    if len(frames) == 0:
        raise FrameError("no frames to score: capture at least one frame")
    if len(frames) > MAX_FRAMES:
        raise FrameError(f"{len(frames)} frames in one burst; at most {MAX_FRAMES}")
    out = []
    first_shape = None
    for i, f in enumerate(frames):
        if not isinstance(f, np.ndarray):
            raise FrameError(f"frame {i} is a {type(f).__name__}, not an image array")
        if f.size == 0:
            raise FrameError(f"frame {i} is empty (zero pixels)")
        if f.dtype != np.uint8:
            depth = "16-bit" if f.dtype == np.uint16 else str(f.dtype)
            raise FrameError(f"frame {i} is a {depth} image; the scorer reads 8-bit BGR frames "
                             "as the reader's camera delivers them")
        if f.ndim == 2 or (f.ndim == 3 and f.shape[2] == 1):
            raise FrameError(f"frame {i} is a grey (single-channel) image; the scorer needs "
                             "colour (BGR) to find the gold lines")
        if f.ndim != 3 or f.shape[2] != 3:
            raise FrameError(f"frame {i} has shape {f.shape}; expected height x width x 3 (BGR)")
        h, w = f.shape[:2]
        if expected_size is not None and (w, h) != tuple(expected_size):
            raise FrameError(f"frame {i} is {w}x{h}; this reader's frames are "
                             f"{expected_size[0]}x{expected_size[1]}")
        if first_shape is None:
            first_shape = f.shape
        elif f.shape != first_shape:
            raise FrameError(f"frame {i} is {w}x{h} but frame 0 is "
                             f"{first_shape[1]}x{first_shape[0]}: one burst, one size")
        out.append(np.ascontiguousarray(f))
    return out


def frame_sha256(frame: np.ndarray) -> str:
    """SHA-256 of a frame's raw pixels (BGR, row-major), independent of any file encoding."""
    return hashlib.sha256(frame.data.cast("B")).hexdigest()


def prepare_flat_field(flat: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Check a flat field and normalise it to a median of 1 per channel (float32, H x W x 3).

    Raises:
        FlatFieldError: wrong shape, not finite, or not strictly positive.
    """
    if flat is None:
        return None
    if not isinstance(flat, np.ndarray) or flat.dtype.kind != "f":
        raise FlatFieldError("flat_field must be a float array (linear light), e.g. float32")
    h, w = shape[:2]
    if flat.ndim == 2:
        flat = flat[:, :, None]
    if flat.ndim != 3 or flat.shape[:2] != (h, w) or flat.shape[2] not in (1, 3):
        raise FlatFieldError(f"flat_field has shape {flat.shape}; expected ({h}, {w}) or "
                             f"({h}, {w}, 3) like the frames")
    sample = flat[::8, ::8].astype(np.float32)
    if not np.all(np.isfinite(flat)):
        raise FlatFieldError("flat_field has NaN or infinite values: recalibrate the reader")
    if float(flat.min()) <= 0:
        raise FlatFieldError("flat_field has zero or negative values: recalibrate the reader")
    median = np.median(sample.reshape(-1, sample.shape[2]), axis=0).astype(np.float32)
    norm = (flat.astype(np.float32) / median[None, None, :])
    if float(norm.min()) < 0.2 or float(norm.max()) > 5.0:
        raise FlatFieldError("flat_field varies more than 5x across the frame: the blank-card "
                             "calibration image is unusable; recalibrate the reader")
    if norm.shape[2] == 1:
        norm = np.repeat(norm, 3, axis=2)
    return np.ascontiguousarray(norm)


def make_flat_field(frames: Sequence[np.ndarray], *, smooth_px: float = 3.0) -> np.ndarray:
    """Build a flat field from frames of a blank white card under the reader's light.

    The frames are linearised, averaged and lightly smoothed (to remove sensor noise, not the
    illumination pattern). Pass the result to ``score(..., flat_field=...)``.

    Returns:
        float32 array (H, W, 3) of relative linear illumination, median 1 per channel.
    """
    import cv2  # local: the only OpenCV use in this module

    checked = validate_frames(frames, None)
    acc: np.ndarray = np.zeros(checked[0].shape, dtype=np.float32)
    for f in checked:
        acc += SRGB_TO_LINEAR[f]
    acc /= np.float32(len(checked))
    if smooth_px > 0:
        acc = cv2.GaussianBlur(acc, (0, 0), smooth_px)
    if float(acc.min()) <= 0 or float(acc[::8, ::8].max()) >= 0.98:
        raise FlatFieldError("the blank-card frames are black or saturated somewhere: adjust "
                             "exposure and photograph the card again")
    prepared = prepare_flat_field(acc, acc.shape)
    assert prepared is not None
    return prepared
