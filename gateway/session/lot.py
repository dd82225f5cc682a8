"""The lot a person brings: what it is, what the strips said, and where it stands.

``LotState`` replaces four flags that had to be set together (opened, closed, voided,
correcting): one value, moved only along the declared ``LOT_MOVES``, so "voided but never
certified" or "closed and still open" cannot be said. The ledger's own record of the lot is
``LotBook``'s (``gateway.lots``); this is the session's side of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from protocol import Call, StripReading

from ..errors import SessionError


class LotState(StrEnum):
    NEW = "new"                # nothing written for it: no strip used yet
    OPEN = "open"              # strips may be used: ending now reports the lot abandoned
    CLOSED = "closed"          # its outcome is published (blocked: positive or unresolved)
    CERTIFIED = "certified"    # a certificate was issued, closing the lot with it
    VOIDED = "voided"          # that certificate was voided; another may be issued
    CORRECTING = "correcting"  # voided for a wrong quantity: the person corrects it first

    @property
    def open(self) -> bool:
        """Strips may have been used and no outcome is published yet."""
        return self is LotState.OPEN

    @property
    def voided(self) -> bool:
        """The last certificate of the lot was voided."""
        return self in (LotState.VOIDED, LotState.CORRECTING)

    @property
    def correcting(self) -> bool:
        return self is LotState.CORRECTING


LOT_MOVES: dict[LotState, frozenset[LotState]] = {
    LotState.NEW: frozenset({LotState.OPEN}),
    LotState.OPEN: frozenset({LotState.OPEN, LotState.CLOSED, LotState.CERTIFIED}),
    LotState.CLOSED: frozenset(),
    LotState.CERTIFIED: frozenset({LotState.VOIDED, LotState.CORRECTING}),
    LotState.VOIDED: frozenset({LotState.CERTIFIED, LotState.CORRECTING}),
    LotState.CORRECTING: frozenset({LotState.VOIDED}),
}
"""Where a lot may go from each state (a re-opened panel updates an open lot's details)."""


class LotStateError(SessionError, RuntimeError):
    """A lot was moved along a path ``LOT_MOVES`` does not allow (a bug)."""

    code = "lot_state"


@dataclass
class LotReadings:
    """What the strips said about the lot, per analyte (the latest reading of each)."""

    results: dict[str, StripReading] = field(default_factory=dict)
    reason_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    reading_ids: list[str] = field(default_factory=list)

    def add(self, reading: StripReading, reason_codes: Sequence[str]) -> None:
        analyte = reading.analyte_code
        self.results[analyte] = reading
        self.reason_codes[analyte] = tuple(reason_codes)
        self.attempts[analyte] = self.attempts.get(analyte, 0) + 1
        self.reading_ids.append(reading.reading_id)

    def calls(self, analytes: Sequence[str]) -> dict[str, Call]:
        return {a: self.results[a].call for a in analytes if a in self.results}


@dataclass
class LotDraft:
    """The person's lot: the produce, how much, the declared extras, readings and state."""

    product_code: str | None = None
    quantity: float | None = None
    unit: str | None = None
    extras: list[str] = field(default_factory=list)
    readings: LotReadings = field(default_factory=LotReadings)
    state: LotState = LotState.NEW

    def panel(self, required: Sequence[str]) -> list[str]:
        """The product's analytes, then the declared extras, without duplicates."""
        return list(dict.fromkeys([*required, *self.extras]))

    def move(self, target: LotState) -> None:
        """Move to ``target``; raises ``LotStateError`` if ``LOT_MOVES`` does not allow it."""
        if target not in LOT_MOVES[self.state]:
            raise LotStateError(f"a lot cannot go from {self.state.value} to {target.value}")
        self.state = target
