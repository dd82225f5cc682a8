"""The kit catalogue's data model: products, analytes, kits (with their cassette layout,
decision rule and lots) and the dated limits table. Validated with pydantic on load.

Every number a kit carries (cut-offs, detection limit, incubation and read times, line
positions) comes from the kit's instructions and may change per lot; the seeded values are
defaults, flagged ``defaults = true``, to be replaced from each kit's insert.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
"""Same pattern as ``protocol.messages.Code``: what goes on the wire."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Mm = Annotated[float, Field(gt=0, le=200)]
Gtin14 = Annotated[str, StringConstraints(pattern=r"^[0-9]{14}$")]
"""A GS1 GTIN written with 14 digits (shorter GTINs padded with leading zeros)."""


def gtin_check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit of a GTIN's digits without the last one."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Model):
    zh: Name
    en: Name


class Product(_Model):
    """A produce type a farmer can pick on the kiosk."""

    code: Code
    names: Names
    category: Literal["vegetable", "fruit", "tea", "livestock", "poultry", "eggs", "aquatic"]
    picture: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}\.(svg|png)$")]
    analytes: list[Code] = Field(min_length=1, max_length=16)


class Analyte(_Model):
    """A residue a kit detects."""

    code: Code
    names: Names
    kind: Literal["pesticide", "veterinary_drug", "banned_substance"]


class Format(StrEnum):
    COMPETITIVE = "competitive"
    """Small molecules: the analyte stops the T line forming; weaker T means more analyte."""
    SANDWICH = "sandwich"
    """Larger analytes: the T line forms only when the analyte is there."""


class Mode(StrEnum):
    TC_RATIO = "tc_ratio"
    """Competitive: T/C below cutoff_low is positive, at or above cutoff_high negative."""
    T_DISAPPEARANCE = "t_disappearance"
    """Competitive: positive when T has gone (T/C below cutoff_low), negative when T is
    clearly visible (T/C at or above cutoff_high)."""
    SANDWICH_THRESHOLD = "sandwich_threshold"
    """Sandwich: T/C at or above cutoff_high is positive, below cutoff_low negative."""


class Decision(_Model):
    """How a window's figures become a call. Between the cut-offs lies the suspect band."""

    mode: Mode
    cutoff_low: Annotated[float, Field(gt=0, le=5)]
    cutoff_high: Annotated[float, Field(gt=0, le=5)]
    min_c_absorbance: Annotated[float, Field(gt=0, le=2)] = 0.1
    """A C line weaker than this (peak absorbance, green) makes the strip invalid."""

    @model_validator(mode="after")
    def _band(self) -> Decision:
        if self.cutoff_low > self.cutoff_high:
            raise ValueError(
                f"cutoff_low {self.cutoff_low} is above cutoff_high {self.cutoff_high}"
            )
        return self


class WindowLayout(_Model):
    """One window of a cassette; lengths in mm, cassette coordinates (u along the flow)."""

    centre_mm: tuple[float, float]
    size_mm: tuple[Mm, Mm]
    t_mm: Mm
    """T line centre, from the window's sample-side edge."""
    c_mm: Mm
    """C line centre, from the window's sample-side edge."""
    well_centre_mm: tuple[float, float]
    well_diameter_mm: Mm = 6.0


class CassetteLayout(_Model):
    """The cassette's outline and windows, from the kit's drawing."""

    id: Code
    size_mm: tuple[Mm, Mm]
    corner_radius_mm: Annotated[float, Field(ge=0, le=20)] = 3.0
    line_width_mm: Annotated[float, Field(gt=0, le=5)] = 1.0
    windows: list[WindowLayout] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _fits(self) -> CassetteLayout:
        hl, hw = self.size_mm[0] / 2, self.size_mm[1] / 2
        lw = self.line_width_mm
        for i, w in enumerate(self.windows):
            (cu, cv), (wl, ww) = w.centre_mm, w.size_mm
            if abs(cu) + wl / 2 > hl or abs(cv) + ww / 2 > hw:
                raise ValueError(f"window {i} does not fit on the {self.size_mm} mm cassette")
            (su, sv), r = w.well_centre_mm, w.well_diameter_mm / 2
            if abs(su) + r > hl or abs(sv) + r > hw:
                raise ValueError(f"window {i}: sample well does not fit on the cassette")
            for name, pos in (("t_mm", w.t_mm), ("c_mm", w.c_mm)):
                if not lw <= pos <= wl - lw:
                    raise ValueError(
                        f"window {i}: {name}={pos} must lie within the window "
                        f"({lw} to {wl - lw} mm)"
                    )
            if abs(w.c_mm - w.t_mm) < 2.5 * lw:
                raise ValueError(f"window {i}: T and C lines closer than 2.5 line widths")
            for j, o in enumerate(self.windows[:i]):
                if (abs(o.centre_mm[0] - cu) < (o.size_mm[0] + wl) / 2
                        and abs(o.centre_mm[1] - cv) < (o.size_mm[1] + ww) / 2):
                    raise ValueError(f"windows {j} and {i} overlap")
        return self


class Lot(_Model):
    """One production lot of a kit; its own instructions may change the kit's figures."""

    lot: Code
    expires_on: date
    cutoff_low: Annotated[float, Field(gt=0, le=5)] | None = None
    cutoff_high: Annotated[float, Field(gt=0, le=5)] | None = None
    detection_limit: Annotated[float, Field(gt=0)] | None = None
    incubation_s: Annotated[int, Field(gt=0, le=7200)] | None = None
    read_window_s: Annotated[int, Field(gt=0, le=7200)] | None = None


class Kit(_Model):
    """A rapid-test kit: one cassette type, one analyte per window, how to read it."""

    id: Code
    names: Names
    defaults: bool = Field(
        description="True while the figures are placeholders, not yet copied from the insert."
    )
    format: Format
    decision: Decision
    window_decisions: list[Decision] | None = Field(
        default=None, description="Per-window rules of a multi-analyte card, else None."
    )
    analytes: list[Code] = Field(min_length=1, max_length=4, description="One per window.")
    cassette: CassetteLayout
    incubation_s: Annotated[int, Field(gt=0, le=7200)]
    read_window_s: Annotated[int, Field(gt=0, le=7200)]
    """How long after the incubation the strip may still be read."""
    detection_limit: Annotated[float, Field(gt=0)]
    detection_limit_unit: Literal["mg/kg", "µg/kg"]
    blank_t_c: Annotated[float, Field(gt=0, le=5)] = 1.2
    """Typical T/C of a blank (analyte-free) sample; inhibition is measured against it."""
    lots: list[Lot] = Field(default_factory=list)
    lot: Lot | None = Field(default=None, description="Set on a kit resolved for one lot.")
    gtins: list[Gtin14] = Field(
        default_factory=list, max_length=20,
        description="GS1 GTINs printed on this kit's boxes (a box QR's AI 01): scanning a box "
        "finds its kit by them.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Kit:
        n = len(self.cassette.windows)
        if len(self.analytes) != n:
            raise ValueError(f"{len(self.analytes)} analytes for {n} windows (one per window)")
        if self.window_decisions is not None and len(self.window_decisions) != n:
            raise ValueError(f"{len(self.window_decisions)} window_decisions for {n} windows")
        for d in [self.decision, *(self.window_decisions or [])]:
            competitive = d.mode in (Mode.TC_RATIO, Mode.T_DISAPPEARANCE)
            if competitive != (self.format is Format.COMPETITIVE):
                raise ValueError(f"decision mode {d.mode.value} does not suit a "
                                 f"{self.format.value} kit")
        seen: set[str] = set()
        for lot in self.lots:
            if lot.lot in seen:
                raise ValueError(f"lot {lot.lot} listed twice")
            seen.add(lot.lot)
            low = lot.cutoff_low if lot.cutoff_low is not None else self.decision.cutoff_low
            high = lot.cutoff_high if lot.cutoff_high is not None else self.decision.cutoff_high
            if low > high:
                raise ValueError(f"lot {lot.lot}: cutoff_low {low} is above cutoff_high {high}")
        for gtin in self.gtins:
            if int(gtin[-1]) != gtin_check_digit(gtin[:-1]):
                raise ValueError(f"GTIN {gtin} has a wrong check digit "
                                 f"(expected {gtin_check_digit(gtin[:-1])})")
        if len(set(self.gtins)) != len(self.gtins):
            raise ValueError("a GTIN is listed twice")
        return self

    @property
    def windows(self) -> int:
        """Number of windows (strips) on the cassette."""
        return len(self.cassette.windows)

    def decision_for(self, window: int) -> Decision:
        """The decision rule of one window (a card may have one per window)."""
        if not 0 <= window < self.windows:
            raise IndexError(f"kit {self.id} has {self.windows} window(s), not {window + 1}")
        if self.window_decisions is not None:
            return self.window_decisions[window]
        return self.decision

    def for_lot(self, lot: Lot) -> Kit:
        """This kit with one lot's own figures applied (cut-offs, limit, times)."""
        if lot not in self.lots:
            raise ValueError(f"lot {lot.lot} is not a lot of kit {self.id}")
        changes: dict[str, object] = {"lot": lot}
        cut = {k: v for k, v in (("cutoff_low", lot.cutoff_low),
                                 ("cutoff_high", lot.cutoff_high)) if v is not None}
        if cut:
            changes["decision"] = self.decision.model_copy(update=cut)
            if self.window_decisions is not None:
                changes["window_decisions"] = [d.model_copy(update=cut)
                                               for d in self.window_decisions]
        for name in ("detection_limit", "incubation_s", "read_window_s"):
            value = getattr(lot, name)
            if value is not None:
                changes[name] = value
        # Re-validate: a lot's figures must still make a consistent kit.
        return Kit.model_validate({**self.model_dump(), **{
            k: (v.model_dump() if isinstance(v, BaseModel) else
                [x.model_dump() for x in v] if isinstance(v, list) else v)
            for k, v in changes.items()}})


class Limit(_Model):
    """One row of the limits table: an MRL, or 'must not be detected', over a date range."""

    analyte: Code
    products: list[str] = Field(min_length=1, description="Product codes, or ['*'] for all.")
    mrl: Annotated[float, Field(gt=0)] | None = None
    unit: Literal["mg/kg", "µg/kg"] | None = None
    banned: bool = False
    effective_from: date | None = None
    effective_until: date | None = Field(default=None, description="Last day it applies.")
    source: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    verify: bool = Field(description="True until checked against the current standard.")

    @model_validator(mode="after")
    def _one_kind(self) -> Limit:
        if self.banned == (self.mrl is not None):
            raise ValueError("a limit is either an mrl (with unit) or banned = true")
        if self.mrl is not None and self.unit is None:
            raise ValueError("an mrl needs its unit")
        if (self.effective_from and self.effective_until
                and self.effective_until < self.effective_from):
            raise ValueError("effective_until is before effective_from")
        return self

    def applies(self, product: str, on: date) -> bool:
        """Whether this row covers ``product`` on the day ``on``."""
        if "*" not in self.products and product not in self.products:
            return False
        if self.effective_from is not None and on < self.effective_from:
            return False
        return not (self.effective_until is not None and on > self.effective_until)
