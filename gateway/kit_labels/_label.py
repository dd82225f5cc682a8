"""What a kit box label says, whichever form it was printed in, and the error for a bad one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from ..errors import KitError

CODE_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""Kit ids and lots as the catalogue and the wire carry them (protocol ``Code``)."""
SERIAL_PATTERN = re.compile(r"[!-~]{1,20}")
"""A box serial: printable ASCII without spaces (GS1 AI 21 allows up to 20 characters)."""
MAX_STRIPS = 10_000

SCAN_AGAIN = "scan the label again, holding it steady until the scanner beeps"


class LabelError(KitError, ValueError):
    """A code that is not a usable kit box label: cut short, malformed, or another code.

    Attributes:
        fix: what the technician can do about it, in plain words.
    """

    code = "label"
    translation_key = "error.label"

    def __init__(self, message: str, fix: str = SCAN_AGAIN) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True, slots=True)
class KitLabel:
    """The contents of one kit box label.

    Attributes:
        form: ``gs1`` (a maker's GS1 code), ``nongan`` (a locally printed NGK1 label) or
            ``typed`` (entered by hand with ``nongan kits add``).
        lot: the kit lot.
        expires_on: the box's expiry date.
        strips: strips in the box, if the label says (GS1 AI 30 is optional).
        serial: the box's own serial number, if any (GS1 AI 21).
        gtin: the GS1 trade item number (GS1 labels), which the catalogue maps to a kit.
        kit_id: the kit, named directly (nongan and typed labels).
        raw: the text as scanned or typed.
    """

    form: Literal["gs1", "nongan", "typed"]
    lot: str
    expires_on: date
    strips: int | None = None
    serial: str | None = None
    gtin: str | None = None
    kit_id: str | None = None
    raw: str = ""

    @property
    def product_key(self) -> str:
        """What names the kit on the label: the GTIN, or the kit id."""
        return self.gtin or self.kit_id or "?"


def check_lot(lot: str) -> str:
    if not CODE_PATTERN.fullmatch(lot):
        raise LabelError(
            f"lot {lot!r} has characters the kiosk cannot record (letters, digits, _ . - only, "
            "at most 64)", fix="check the label; if the maker's lots look like this, the kit "
            "catalogue must list them: ask for a catalogue update")
    return lot


def check_serial(serial: str) -> str:
    if not SERIAL_PATTERN.fullmatch(serial):
        raise LabelError(f"box serial {serial!r} is not 1-20 printable characters without "
                         "spaces")
    return serial


def check_strips(strips: int) -> int:
    if not 1 <= strips <= MAX_STRIPS:
        raise LabelError(f"a box holds 1 to {MAX_STRIPS} strips, the label says {strips}",
                         fix="check the label; type the count in with nongan kits add")
    return strips
