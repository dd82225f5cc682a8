"""The kiosk session: the farmer's flow as a server-side state machine.

The UI only renders ``KioskSession.view`` and sends the person's choices (``act``); a test
can do everything the screen can through the same API. See ``actions`` for how actions and
events are declared, ``machine`` for the flow, ``running`` for the cassettes, ``issuing`` for
the certificate, ``lot`` for the lot's state and ``lots`` for what reaches the supervisor.
"""

from .actions import EVENTS, WORKING, Action, Event, IllegalTransition, WrongStep
from .config import SessionConfig
from .core import SessionParts
from .issuing import VOID_REASONS, CertificateDesk, DeskConfig
from .lot import LOT_MOVES, LotDraft, LotReadings, LotState, LotStateError
from .machine import ACTION_FIELDS, ACTION_TABLE, ACTIONS, LANGUAGES, KioskSession
from .panel import PlannedTest, extra_choices, plan_panel
from .preparation import STEPS_BY_CATEGORY, picture_for, steps_for
from .receipts import PrintStatus, certificate_receipt, print_receipt, producer_card_receipt
from .running import TestRun, TestRunConfig, Verdict
from .scanning import feed_scanner
from .steps import (
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
    "ACTION_FIELDS",
    "ACTION_TABLE",
    "CERTIFICATE_UNIT",
    "EVENTS",
    "LANGUAGES",
    "LOT_MOVES",
    "STEPS_BY_CATEGORY",
    "UNITS_BY_CATEGORY",
    "VOID_REASONS",
    "WORKING",
    "Action",
    "AnalyteResult",
    "CertificateDesk",
    "CertificateView",
    "DeskConfig",
    "Event",
    "IllegalTransition",
    "KioskSession",
    "LotDraft",
    "LotReadings",
    "LotState",
    "LotStateError",
    "Notice",
    "PlannedTest",
    "PrintStatus",
    "ProducerView",
    "RefusalView",
    "SessionConfig",
    "SessionParts",
    "SessionView",
    "Step",
    "TestRun",
    "TestRunConfig",
    "TestView",
    "Verdict",
    "WrongStep",
    "certificate_receipt",
    "extra_choices",
    "feed_scanner",
    "picture_for",
    "plan_panel",
    "print_receipt",
    "producer_card_receipt",
    "steps_for",
    "units_for",
]
