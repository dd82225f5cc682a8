"""The kiosk session: the farmer's flow as a server-side state machine.

The UI only renders ``KioskSession.view`` and sends the person's choices (``act``); a test
can do everything the screen can through the same API. See ``machine`` for the flow,
``lots`` for what reaches the supervisor, ``issuing`` for the certificate.
"""

from .core import SessionParts, WrongStep
from .lots import LotLedger
from .machine import LANGUAGES, KioskSession
from .panel import PlannedTest, extra_choices, plan_panel
from .preparation import STEPS_BY_CATEGORY, picture_for, steps_for
from .receipts import certificate_receipt, producer_card_receipt
from .scanning import feed_scanner
from .steps import (
    ACTIONS,
    AnalyteResult,
    CertificateView,
    Notice,
    ProducerView,
    RefusalView,
    SessionView,
    Step,
    TestView,
)
from .units import CERTIFICATE_UNIT, UNITS_BY_CATEGORY, units_for

__all__ = [
    "ACTIONS",
    "CERTIFICATE_UNIT",
    "LANGUAGES",
    "STEPS_BY_CATEGORY",
    "UNITS_BY_CATEGORY",
    "AnalyteResult",
    "CertificateView",
    "KioskSession",
    "LotLedger",
    "Notice",
    "PlannedTest",
    "ProducerView",
    "RefusalView",
    "SessionParts",
    "SessionView",
    "Step",
    "TestView",
    "WrongStep",
    "certificate_receipt",
    "extra_choices",
    "feed_scanner",
    "picture_for",
    "plan_panel",
    "producer_card_receipt",
    "steps_for",
    "units_for",
]
