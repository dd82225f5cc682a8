"""The person at the kiosk: everything the session knows about them, in a few typed parts.

- ``Identity``: who they are (or whose PIN they are typing), and the names offered to pick;
- ``LotDraft`` (``gateway.session.lot``): their lot, its readings and its state;
- ``TestRun`` (``gateway.session.running``): the cassettes of the lot, once the panel is set;
- ``Issued``: the certificate issued for the lot and how its printing went;
- why the session stopped short, if it did (refusals, an error code).

Ending a session drops the ``Person`` whole (``KioskSession._wipe``) and makes a fresh one, so
no name, phone or choice of the last person survives on the screen or in the session's memory.
A PIN is never kept here: it is checked or hashed the moment it arrives.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocol import Certificate

from ..producers import KnownProducer
from .lot import LotDraft
from .receipts import PrintStatus
from .steps import ProducerView, RefusalView

if TYPE_CHECKING:
    from .running import TestRun


@dataclass
class Identity:
    producer: KnownProducer | None = None
    pin_candidate: KnownProducer | None = None
    """A name picked from the list whose PIN is being typed."""
    recent: tuple[ProducerView, ...] | None = None
    """The identify screen's recent producers (masked), loaded off the event loop each time
    the session enters that step; None until then."""


@dataclass
class Issued:
    """The lot's certificate (the last one issued) and its printing."""

    certificate: Certificate
    print_status: PrintStatus = PrintStatus.PRINTING


@dataclass
class Person:
    language: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    identity: Identity = field(default_factory=Identity)
    lot: LotDraft = field(default_factory=LotDraft)
    testing: TestRun | None = None
    issued: Issued | None = None
    refusals: tuple[RefusalView, ...] = ()
    error_code: str | None = None
    """Why the session is on the error step: the error's code (device, scoring, storage...)."""
    error_key: str | None = None
    """The catalogue key of the words for it (the error's ``translation_key``)."""
