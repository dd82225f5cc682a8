"""The steps of a kiosk session and the small value types its view is made of.

The screen shows exactly one step at a time; ``Step`` names it. Everything here is plain data
with stable codes: the kiosk UI translates each code with its catalogue (zh-CN and en), so
the session never produces a sentence a person reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .receipts import PrintStatus


class Step(StrEnum):
    IDLE = "idle"                # the welcome screen; nobody's data in memory
    IDENTIFY = "identify"        # scan your card, pick your name, or register
    PIN = "pin"                  # a name was picked: type the PIN
    REGISTER = "register"        # a new producer: name, phone, origin, PIN
    PRODUCT = "product"          # pick the produce from pictures
    QUANTITY = "quantity"        # how much, in which unit
    PANEL = "panel"              # the tests the product needs + "test what you used"
    PREPARE = "prepare"          # sample preparation, one step at a time
    INSERT = "insert"            # the tray is open: put the cassette in
    INCUBATING = "incubating"    # the reader holds the cassette for the kit's time
    SCORING = "scoring"          # capturing and reading the strip
    RETEST = "retest"            # suspect or invalid: test again with a new strip
    RESULTS = "results"          # every reading negative: confirm the promise
    CERTIFICATE = "certificate"  # issued: printed (or not) and shown as a QR
    BLOCKED = "blocked"          # a positive reading: no certificate, the lot is blocked
    UNRESOLVED = "unresolved"    # still not negative after the re-tests allowed
    REFUSED = "refused"          # the kiosk cannot test now (kit, calibration, device)
    ERROR = "error"              # a device or the reader failed during a test


MACHINE_BUSY: frozenset[Step] = frozenset({Step.IDLE, Step.INCUBATING, Step.SCORING})
"""Steps without an inactivity timeout: nobody is there yet, or the machine is working."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A one-line message for the screen: a catalogue code and its placeholders."""

    code: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)
    level: str = "info"  # "info" or "error"


@dataclass(frozen=True, slots=True)
class ProducerView:
    producer_id: str
    display_name: str
    phone_tail: str
    has_pin: bool


@dataclass(frozen=True, slots=True)
class RefusalView:
    """Why a test cannot start: the station's refusal code, its detail (for logs and the
    technician), and the kit it concerns."""

    code: str
    detail: str
    kit_id: str | None = None


@dataclass(frozen=True, slots=True)
class TestView:
    """The kit being tested now."""

    __test__ = False

    index: int
    total: int
    kit_id: str
    analytes: tuple[str, ...]
    attempt: int
    max_attempts: int
    prep_steps: tuple[str, ...]
    prep_index: int
    phase: str | None = None
    remaining_s: float | None = None
    total_s: float | None = None


@dataclass(frozen=True, slots=True)
class AnalyteResult:
    analyte: str
    call: str | None  # negative / positive / suspect / invalid, None before its test
    reason_codes: tuple[str, ...] = ()
    attempts: int = 0
    t_c_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class CertificateView:
    token: str
    serial: str
    verify_url: str
    product_code: str
    quantity: float
    unit: str
    promisor_name: str
    issued_at: str
    print_status: PrintStatus
    voided: bool = False


@dataclass(frozen=True, slots=True)
class SessionView:
    """Everything the screen needs to draw the current step (a snapshot; never mutated)."""

    version: int
    step: Step
    language: str
    seconds_left: float | None = None
    warning: bool = False
    notice: Notice | None = None
    producer: ProducerView | None = None
    pin_for: ProducerView | None = None
    recent: tuple[ProducerView, ...] = ()
    origins: tuple[tuple[str, str], ...] = ()
    product_code: str | None = None
    quantity: float | None = None
    unit: str | None = None
    units: tuple[str, ...] = ()
    correcting: bool = False
    panel_required: tuple[str, ...] = ()
    panel_extras: tuple[str, ...] = ()
    extra_choices: tuple[str, ...] = ()
    test: TestView | None = None
    tests_done: int = 0
    results: tuple[AnalyteResult, ...] = ()
    refusals: tuple[RefusalView, ...] = ()
    error_code: str | None = None
    error_key: str | None = None
    """The catalogue key of the error step's words (the error's translation key)."""
    certificate: CertificateView | None = None
