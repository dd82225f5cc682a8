"""The nongan kit box label, for boxes labelled at the station (no maker's GS1 code).

One line of text, fields separated by ``|``, printable on any label printer as a QR code and
typed on a keyboard-wedge scanner's US layout without trouble::

    NGK1|<kit id>|<lot>|<expiry YYYY-MM-DD>|<strips>[|<box serial>]
    NGK1|gold-procymidone-v1|DEMO-2026A|2027-06-30|50|B0001

The kit id and lot are the kit catalogue's (letters, digits, ``_ . -``); the serial is
optional but lets a second box of the same lot be told from a re-scan of the first.
"""

from __future__ import annotations

from datetime import date

from ._label import CODE_PATTERN, KitLabel, LabelError, check_lot, check_serial, check_strips

PREFIX = "NGK1"


def looks_like_local(code: str) -> bool:
    return code.strip().upper().startswith("NGK")


def parse_local(code: str) -> KitLabel:
    """Read a nongan kit box label.

    Raises:
        LabelError: another version, too few or too many fields (cut short), or a field that
            is not what it should be (named in the message).
    """
    text = code.strip()
    parts = text.split("|")
    if parts[0] != PREFIX:
        raise LabelError(f"{parts[0]!r} is not a nongan kit label version this kiosk reads "
                         f"(expected {PREFIX})", fix="print the label again with this version")
    if len(parts) < 5:
        raise LabelError(f"the label has {len(parts)} of at least 5 fields ({text!r}): cut "
                         "short?")
    if len(parts) > 6:
        raise LabelError(f"the label has {len(parts)} fields, at most 6 ({text!r})",
                         fix="print the label again")
    kit_id, lot, expiry, strips = parts[1:5]
    if not CODE_PATTERN.fullmatch(kit_id):
        raise LabelError(f"field 2 (kit id) {kit_id!r} is not a kit id")
    try:
        expires_on = date.fromisoformat(expiry)
    except ValueError:
        raise LabelError(f"field 4 (expiry) {expiry!r} is not a date YYYY-MM-DD") from None
    if len(expiry) != 10:
        raise LabelError(f"field 4 (expiry) {expiry!r} is not written YYYY-MM-DD")
    if not strips.isdigit() or not strips.isascii():
        raise LabelError(f"field 5 (strips) {strips!r} is not a whole number")
    serial = check_serial(parts[5]) if len(parts) == 6 else None
    return KitLabel(form="nongan", kit_id=kit_id, lot=check_lot(lot), expires_on=expires_on,
                    strips=check_strips(int(strips)), serial=serial, raw=code)


def format_local(kit_id: str, lot: str, expires_on: date, strips: int,
                 serial: str | None = None) -> str:
    """The text of a nongan kit box label (what its QR code holds)."""
    fields = [PREFIX, kit_id, lot, expires_on.isoformat(), str(strips)]
    if serial is not None:
        fields.append(serial)
    return "|".join(fields)
