"""The person at the kiosk: everything the session knows about them, in one object.

Ending a session drops this object whole (``KioskSession._wipe``) and makes a fresh one, so no
name, phone or choice of the last person survives on the screen or in the session's memory.
A PIN is never kept here: it is checked or hashed the moment it arrives.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from protocol import Call, Certificate, StripReading

from ..producers import KnownProducer
from ..station import Progress
from .panel import PlannedTest
from .steps import ProducerView, RefusalView


@dataclass
class Person:
    language: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    producer: KnownProducer | None = None
    pin_candidate: KnownProducer | None = None
    recent: tuple[ProducerView, ...] | None = None
    """The identify screen's recent producers (masked), loaded off the event loop each time
    the session enters that step; None until then."""
    product_code: str | None = None
    quantity: float | None = None
    unit: str | None = None
    extras: list[str] = field(default_factory=list)
    plan: list[PlannedTest] = field(default_factory=list)
    test_index: int = 0
    attempt: int = 1
    analytes_now: tuple[str, ...] = ()
    prep_index: int = 0
    progress: Progress | None = None
    results: dict[str, StripReading] = field(default_factory=dict)
    reason_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    reading_ids: list[str] = field(default_factory=list)
    refusals: list[RefusalView] = field(default_factory=list)
    error_code: str | None = None
    certificate: Certificate | None = None
    print_status: str | None = None
    voided: bool = False
    correcting: bool = False
    lot_opened: bool = False
    lot_closed: bool = False

    def panel(self, required: list[str]) -> list[str]:
        """The product's analytes, then the declared extras, without duplicates."""
        return list(dict.fromkeys([*required, *self.extras]))

    def calls(self, analytes: tuple[str, ...] | list[str]) -> dict[str, Call]:
        return {a: self.results[a].call for a in analytes if a in self.results}
