"""Reading frames from image files, with clear errors for everything that is not a usable
image. The engine itself does no I/O; the CLI and the tools use this."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import ImageFileError

_JPEG_START, _JPEG_END = b"\xff\xd8", b"\xff\xd9"
_PNG_START = b"\x89PNG\r\n\x1a\n"


def is_jpeg_file(path: Path | str) -> bool:
    """Whether the file holds a JPEG (by its first bytes, whatever its name says)."""
    try:
        with open(path, "rb") as f:
            return f.read(2) == _JPEG_START
    except OSError:
        return False


def load_frame(path: Path | str) -> np.ndarray:
    """Read an image file as it is stored (no conversion): the scorer then checks its depth,
    channels and size.

    Raises:
        ImageFileError: the file is missing, unreadable, empty, truncated or not an image.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImageFileError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{p}: is a folder, not an image") from None
    except OSError as exc:
        raise ImageFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ImageFileError(f"{p}: empty file (0 bytes): capture the picture again")
    # OpenCV decodes a cut-off JPEG or PNG partly and only warns; refuse it outright.
    if data.startswith(_JPEG_START) and not data.rstrip(b"\x00").endswith(_JPEG_END):
        raise ImageFileError(f"{p}: truncated JPEG (no end marker): capture the picture again")
    if data.startswith(_PNG_START) and b"IEND" not in data[-32:]:
        raise ImageFileError(f"{p}: truncated PNG (no IEND chunk): capture the picture again")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ImageFileError(f"{p}: not an image OpenCV can read")
    return image
