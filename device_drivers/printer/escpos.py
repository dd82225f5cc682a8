"""ESC/POS bytes: initialise, raster image (GS v 0), feed, cut, and real-time status (DLE EOT).

Only the commands every 58/80 mm thermal printer shares; Chinese text is printed as part of a
bitmap (see receipt.py), so no code page or CJK mode is ever used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
EOT = b"\x04"

INIT = ESC + b"@"
BAND_ROWS = 256  # GS v 0 in bands: small printers have small receive buffers


def to_raster(image: Image.Image) -> tuple[int, int, bytes]:
    """Pack a 1-bit image as ESC/POS raster data: (bytes per row, rows, data); 1 = black dot."""
    if image.mode != "1":
        raise ValueError(f"raster images must be 1-bit (mode '1'), not mode {image.mode!r}")
    # PIL's mode "1" stores white as 1; ESC/POS wants 1 for a black dot.
    black = ~np.asarray(image, dtype=bool)
    width_bytes = (image.width + 7) // 8
    padded = np.zeros((image.height, width_bytes * 8), dtype=bool)
    padded[:, : image.width] = black
    return width_bytes, image.height, np.packbits(padded, axis=1).tobytes()


def raster_image(image: Image.Image, band_rows: int = BAND_ROWS) -> bytes:
    """``GS v 0`` commands printing ``image`` (mode "1") in bands of ``band_rows`` rows."""
    width_bytes, rows, data = to_raster(image)
    out = bytearray()
    for top in range(0, rows, band_rows):
        height = min(band_rows, rows - top)
        out += GS + b"v0\x00"
        out += width_bytes.to_bytes(2, "little") + height.to_bytes(2, "little")
        out += data[top * width_bytes : (top + height) * width_bytes]
    return bytes(out)


def feed(lines: int) -> bytes:
    """``ESC d n``: print and feed ``lines`` lines."""
    return ESC + b"d" + bytes([max(0, min(255, lines))])


def cut() -> bytes:
    """``GS V 0``: full cut."""
    return GS + b"V\x00"


def receipt_job(image: Image.Image, feed_lines: int = 4, with_cut: bool = True) -> bytes:
    """Everything sent to print one receipt image."""
    return INIT + raster_image(image) + feed(feed_lines) + (cut() if with_cut else b"")


# -- real-time status ----------------------------------------------------------------------------

STATUS_PRINTER = 1
STATUS_OFFLINE_CAUSE = 2
STATUS_ERROR_CAUSE = 3
STATUS_PAPER = 4


def status_request(kind: int) -> bytes:
    """``DLE EOT n``: answered by one byte even while the printer is offline."""
    return DLE + EOT + bytes([kind])


def is_status_byte(value: int) -> bool:
    """Every DLE EOT answer has bit 1 and bit 4 set, bits 0 and 7 clear."""
    return value & 0b1001_0011 == 0b0001_0010


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer says about itself.

    Attributes:
        known: False when the transport cannot read (a plain file): nothing below is known.
        online: the printer accepts data.
        paper: "ok", "low" (near-end sensor) , "out" or "unknown".
        cover_open: the cover is open.
        error: the printer reports an error (cutter jam, overheating...).
    """

    known: bool
    online: bool = True
    paper: str = "unknown"
    cover_open: bool = False
    error: bool = False

    @classmethod
    def unknown(cls) -> PrinterStatus:
        return cls(known=False)

    @classmethod
    def from_bytes(cls, printer: int, offline_cause: int, paper: int) -> PrinterStatus:
        """Decode the answers to DLE EOT 1, 2 and 4."""
        if paper & 0b0110_0000:
            paper_state = "out"
        elif paper & 0b0000_1100:
            paper_state = "low"
        else:
            paper_state = "ok"
        return cls(
            known=True,
            online=not printer & 0b0000_1000,
            paper=paper_state,
            cover_open=bool(offline_cause & 0b0000_0100),
            error=bool(offline_cause & 0b0100_0000),
        )
