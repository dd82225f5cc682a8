"""Registering a kit box from its label: find the kit, check the lot, add the box to stock.

The kit comes from the catalogue (by GTIN for a maker's GS1 label, by id for a nongan label);
the lot must be one the catalogue lists for that kit, not expired, with the same expiry as
the catalogue says — otherwise the box is refused with what to do, and nothing is stored.

Each box gets a box code: ``{GTIN or kit id}/{lot}/{serial}``. A label without a serial
cannot tell a second box of the same lot from a re-scan of the first; the first such box is
``…/#1`` and a second one is refused unless the technician says it is another box
(``another_box=True``; ``nongan kits scan --another-box``), which makes ``…/#2`` and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from ..errors import KitError
from ..kit_stock import KitBox, KitStockBook, StockError
from ..kits import Catalogue, Kit, Lot, UnknownCodeError
from ._label import KitLabel, check_lot, check_serial, check_strips

CATALOGUE_FIX = ("update the kit catalogue (a newer nongan release, or the folder named by "
                 "kits.catalogue in the settings), then scan the box again")


class RegistrationError(KitError):
    """A box that may not go into stock; ``code`` is stable, ``fix`` says what to do."""

    translation_key = "error.box_refused"

    def __init__(self, code: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.code = code  # unknown_kit, unknown_lot, expired, expiry_mismatch, no_count, ...
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Registration:
    """A registered box. ``new`` is False when the box was already in stock (a re-scan)."""

    box: KitBox
    kit: Kit
    label: KitLabel
    new: bool


def typed_label(kit_id: str, lot: str, expires_on: date, strips: int,
                serial: str | None = None) -> KitLabel:
    """A label for a box typed in by hand (``nongan kits add --kit ...``)."""
    return KitLabel(form="typed", kit_id=kit_id, lot=check_lot(lot), expires_on=expires_on,
                    strips=check_strips(strips),
                    serial=check_serial(serial) if serial is not None else None,
                    raw=f"typed: {kit_id} {lot} {expires_on} {strips} {serial or ''}".strip())


def find_kit(catalogue: Catalogue, label: KitLabel) -> tuple[Kit, Lot]:
    """The catalogue's kit and lot for a label.

    Raises:
        RegistrationError: unknown GTIN or kit id, or a lot the catalogue does not list.
    """
    try:
        kit = (catalogue.kit_for_gtin(label.gtin) if label.gtin is not None
               else catalogue.kit(label.kit_id or ""))
    except UnknownCodeError as exc:
        raise RegistrationError("unknown_kit", str(exc), CATALOGUE_FIX) from None
    try:
        lot = catalogue.lot(kit.id, label.lot)
    except UnknownCodeError:
        raise RegistrationError(
            "unknown_lot",
            f"lot {label.lot} of kit {kit.id} is not in the kit catalogue (version "
            f"{catalogue.version}): its cut-offs and times are unknown, so it cannot be read",
            CATALOGUE_FIX) from None
    return kit, lot


def register_label(stock: KitStockBook, catalogue: Catalogue, label: KitLabel, *,
                   today: date, strips: int | None = None, another_box: bool = False
                   ) -> Registration:
    """Put the box a label describes into stock.

    Args:
        stock: the kiosk's kit stock.
        catalogue: the kit catalogue (kits, lots, GTINs).
        label: the parsed label (``parse_label``) or a typed one (``typed_label``).
        today: the kiosk's date, for the expiry check.
        strips: the count, when the label has none or the box is not full (overrides it).
        another_box: the label has no serial and a box of this lot is registered already:
            this is a further box, not a re-scan.

    Raises:
        RegistrationError: the kit or lot is unknown, the box has expired, the label's expiry
            differs from the catalogue's, the count is unknown, or the box code is taken.
    """
    kit, lot = find_kit(catalogue, label)
    if label.expires_on < today:
        raise RegistrationError(
            "expired", f"this box of {kit.id} lot {lot.lot} expired on {label.expires_on}",
            "do not stock it: put it aside for disposal")
    if label.expires_on != lot.expires_on:
        raise RegistrationError(
            "expiry_mismatch",
            f"the label says lot {lot.lot} expires on {label.expires_on}, the kit catalogue "
            f"says {lot.expires_on}",
            "check the box; if the label is right, the catalogue must be corrected: "
            + CATALOGUE_FIX)
    count = strips if strips is not None else label.strips
    if count is None:
        raise RegistrationError(
            "no_count", f"the label of this {kit.id} box does not say how many strips it holds",
            "count them and give the number: nongan kits scan --strips N (or kits add)")
    label = replace(label, strips=check_strips(count))
    box_code, existing = _box_code(stock, label, another_box)
    try:
        box = stock.register_box(box_code=box_code, kit_id=kit.id, lot=lot.lot,
                                 expires_on=label.expires_on, strips=count)
    except StockError as exc:
        raise RegistrationError("box_conflict", str(exc),
                                "check the label: two boxes must not share a serial") from None
    return Registration(box=box, kit=kit, label=label, new=not existing)


def _box_code(stock: KitStockBook, label: KitLabel, another_box: bool) -> tuple[str, bool]:
    """The box code for a label, and whether such a box is registered already."""
    stem = f"{label.product_key}/{label.lot}"
    if label.serial is not None:
        code = f"{stem}/{label.serial}"
        return code, stock.box(code) is not None
    taken = stock.box_codes_like(f"{stem}/#")
    if taken and not another_box:
        raise RegistrationError(
            "unserialised_rescan",
            f"a box of this lot without a serial number is registered already "
            f"({', '.join(sorted(taken))}); a label without a serial cannot tell another box "
            "from a re-scan",
            "if this is another box, scan it again with --another-box; if it is the same box, "
            "nothing needs doing")
    return f"{stem}/#{len(taken) + 1}", False
