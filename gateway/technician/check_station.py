"""Station checks: the reader's calibration and the kit stock (expired, exhausted, expiring
soon, low, lots the catalogue no longer lists)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from ..calibration import CalibrationState
from ..kit_stock import KitBox
from ..kits import Catalogue, UnknownCodeError
from .report import Check, Status

CALIBRATE_FIX = "run nongan calibrate with the calibration card"
NO_KIT_BOX = Check("kits", "stock", Status.WARNING, "no kit box is registered",
                   "scan the kit boxes: nongan kits scan")


def calibration_check(reader_id: str, state: CalibrationState, interval: timedelta) -> Check:
    """The reader's calibration state, and when the next one is due."""
    name = f"reader {reader_id}"
    at = state.calibrated_at
    if state.state == "none":
        return Check("calibration", name, Status.FAULT,
                     "never calibrated: the kiosk refuses to test", CALIBRATE_FIX)
    assert at is not None
    due = at + interval
    if state.state == "failed":
        return Check("calibration", name, Status.FAULT,
                     f"the calibration of {at:%Y-%m-%d} failed: " + "; ".join(state.problems),
                     "fix what it says, then " + CALIBRATE_FIX)
    if state.state == "overdue":
        return Check("calibration", name, Status.FAULT,
                     f"calibrated {at:%Y-%m-%d}, overdue since {due:%Y-%m-%d}: the kiosk "
                     "refuses to test", CALIBRATE_FIX)
    if state.state == "due_soon":
        return Check("calibration", name, Status.WARNING,
                     f"calibrated {at:%Y-%m-%d}, due by {due:%Y-%m-%d}", CALIBRATE_FIX + " soon")
    return Check("calibration", name, Status.OK,
                 f"calibrated {at:%Y-%m-%d}, next due {due:%Y-%m-%d}")


@dataclass(frozen=True)
class StockLimits:
    """When kit stock is worth a warning."""

    low_strips: int = 10
    expiring_within: timedelta = timedelta(days=14)


def kit_checks(boxes: list[KitBox], catalogue: Catalogue, today: date,
               limits: StockLimits = StockLimits()) -> list[Check]:
    """One check per stocked kit, plus one per expired box still holding strips.

    An expired box is a warning (the station skips it, but it should leave the kiosk); a kit
    with no usable strip left is a fault (its tests are refused); low or soon-expiring usable
    stock is a warning; a lot the catalogue does not list is a fault (it cannot be read).
    """
    if not boxes:
        return [NO_KIT_BOX]
    checks: list[Check] = []
    by_kit: dict[str, list[KitBox]] = defaultdict(list)
    for box in boxes:
        by_kit[box.kit_id].append(box)
        if box.expires_on < today and box.strips_left > 0:
            checks.append(Check("kits", f"box {box.box_code}", Status.WARNING,
                                f"{box.kit_id} lot {box.lot} expired on {box.expires_on} with "
                                f"{box.strips_left} strip(s) left",
                                f"take it out of the kiosk: nongan kits retire {box.box_code}"))
        try:
            catalogue.lot(box.kit_id, box.lot)
        except UnknownCodeError:
            checks.append(Check("kits", f"box {box.box_code}", Status.FAULT,
                                f"{box.kit_id} lot {box.lot} is not in the kit catalogue "
                                f"(version {catalogue.version}): its strips cannot be read",
                                "update the kit catalogue, or retire the box"))
    fine: list[tuple[str, int, date]] = []
    for kit_id, kit_boxes in sorted(by_kit.items()):
        usable = [b for b in kit_boxes if b.expires_on >= today and b.strips_left > 0]
        left = sum(b.strips_left for b in usable)
        if not usable:
            why = ("all expired" if all(b.expires_on < today for b in kit_boxes)
                   else "all used up or expired")
            checks.append(Check("kits", kit_id, Status.FAULT,
                                f"no usable strip ({why}): its tests are refused",
                                "stock a new box: nongan kits scan"))
            continue
        first = min(b.expires_on for b in usable)
        detail = f"{left} strip(s) in {len(usable)} box(es), first expiry {first}"
        if first - today <= limits.expiring_within:
            checks.append(Check("kits", kit_id, Status.WARNING,
                                f"{detail}: expires in {(first - today).days} day(s)",
                                "use these first and order fresh boxes"))
        elif left < limits.low_strips:
            checks.append(Check("kits", kit_id, Status.WARNING, f"{detail}: running low",
                                "order and stock a new box"))
        else:
            fine.append((kit_id, left, first))
    if fine:
        # Healthy kits share one line: the table is for what needs attention.
        names = f" ({', '.join(k for k, _, _ in fine)})" if len(fine) <= 5 else ""
        checks.append(Check("kits", f"{len(fine)} kit(s)", Status.OK,
                            f"usable: at least {min(n for _, n, _ in fine)} strips each, first "
                            f"expiry {min(d for _, _, d in fine)}{names}"))
    return checks
