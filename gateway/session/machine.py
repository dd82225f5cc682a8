"""``KioskSession``: the kiosk flow as a server-side state machine, and its public API.

idle → identify (scan a card / pick a recent producer + PIN / register) → product → quantity
→ panel → for each cassette: prepare → insert → incubating → scoring → (re-test) → results
→ certificate; or blocked (positive) / unresolved / refused / error; every end goes back to
idle and wipes the person's data.

Every choice the screen offers is a method here (``await session.choose_product("chives")``)
and also reachable by name through ``act(name, **params)``, which is what the UI's forms
post; ``view`` is what the screen draws. A method called on a step that does not offer it
raises ``WrongStep``; a person's bad input (a wrong PIN, a quantity of zero) is not an
exception but a ``Notice`` on the view, so the screen says what to do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..pin_lockout import PinLock
from ..pins import PIN_PATTERN
from ..producers import RegistrationError
from .core import SessionCore, WrongStep
from .issuing import IssuingMixin
from .panel import plan_panel
from .receipts import print_receipt, producer_card_receipt
from .running import RunningMixin
from .steps import ACTIONS, Notice, RefusalView, SessionView, Step
from .units import CERTIFICATE_UNIT, MAX_QUANTITY, units_for

log = logging.getLogger(__name__)

LANGUAGES = ("zh-CN", "en")
"""The kiosk's languages, zh-CN first (the screen's catalogues and ``ui.language`` in the
settings follow this list; a test checks they agree)."""
GLOBAL_REFUSALS = ("calibration_", "device_fault", "disk_full")
"""Refusal codes about the kiosk itself rather than one kit: checked when a person starts."""



class KioskSession(RunningMixin, IssuingMixin, SessionCore):
    """One kiosk's session (one person at a time). Build with ``SessionParts``."""

    # ------------------------------------------------------------------ dispatch

    async def act(self, name: str, /, **params: Any) -> SessionView:
        """Do the action ``name`` with the screen's parameters; returns the new view.

        Raises:
            WrongStep: no such action, or not offered on the current step.
            TypeError: parameters that the action does not take.
        """
        allowed = ACTIONS.get(name, frozenset())
        if allowed is not None and self.step not in allowed:
            raise WrongStep(name, self.step)
        method: Callable[..., Any] = getattr(self, name)
        await method(**params)
        return self.view

    # ------------------------------------------------------------------ any step

    async def language(self, language: str) -> None:
        """Switch the screen's language (zh-CN or en) for this person."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")
        self.person.language = language
        self._touch()

    async def keep_alive(self) -> None:
        """"I am still here": the step's timeout starts again."""
        self._touch()

    async def cancel(self) -> None:
        """The person leaves (or taps "start over"): end, wipe, back to idle."""
        if self.step is not Step.IDLE:
            await self._end("the person ended the session")

    async def finish(self) -> None:
        """Done (after a certificate, a block, a refusal or an error): back to idle."""
        self._require("finish")
        await self._end("the session ended after " + self.step.value)

    # ------------------------------------------------------------------ identify

    async def start(self) -> None:
        """The welcome screen was tapped: identify, unless the kiosk cannot test at all."""
        self._require("start")
        refusals = await asyncio.to_thread(self._kiosk_refusals)
        if refusals:
            self.person.refusals = refusals
            self._go(Step.REFUSED)
            return
        await self._enter_identify()

    def _kiosk_refusals(self) -> list[RefusalView]:
        station = self.parts.station
        if station is None:
            return [RefusalView("no_station", "this gateway has no devices configured")]
        any_kit = next(iter(self.catalogue.kits))
        return [RefusalView(r.code, r.detail, r.kit_id) for r in station.readiness(any_kit)
                if r.code.startswith(GLOBAL_REFUSALS)]

    async def scan(self, code: str) -> None:
        """A code from the scanner: a producer's card identifies them (from idle too)."""
        self._require("scan")
        code = code.strip()
        if self.step is Step.IDLE:
            await self.start()
            if self.step is not Step.IDENTIFY:
                return
        producer = await asyncio.to_thread(self.parts.producers.by_card, code)
        if producer is None:
            await self._enter_identify(Notice("notice.card_unknown", level="error"))
            return
        await self._identified(producer)

    def scan_failed(self) -> None:
        """The scanner sent half a code: ask for the card again."""
        if self.step in (Step.IDENTIFY, Step.PIN):
            self.notice = Notice("notice.scan_incomplete", level="error")
            self._touch()

    async def pick_producer(self, producer_id: str) -> None:
        """A name from the recent list: ask for that producer's PIN."""
        self._require("pick_producer")
        producer = await asyncio.to_thread(self.parts.producers.get, producer_id)
        if producer is None:
            await self._enter_identify(Notice("notice.producer_unknown", level="error"))
            return
        if not producer.has_pin:
            await self._enter_identify(Notice("notice.no_pin_use_card", level="error"))
            return
        self.person.pin_candidate = producer
        self._go(Step.PIN)

    async def enter_pin(self, pin: str) -> None:
        """The PIN typed on the keypad (never stored). Wrong ones are counted per producer in
        the kiosk database (``gateway.pin_lockout``): going back and picking the name again,
        or a restart, does not start the count again."""
        self._require("enter_pin")
        candidate = self.person.pin_candidate
        assert candidate is not None
        if not PIN_PATTERN.fullmatch(pin or ""):
            self.notice = Notice("notice.pin_format", level="error")
            self._touch()
            return
        check = await asyncio.to_thread(self.parts.producers.check_pin,
                                        candidate.producer_id, pin)
        if check.ok:
            await self._identified(candidate)
            return
        if check.lock is not None:
            self.person.pin_candidate = None
            await self._enter_identify(self._lock_notice(check.lock))
            return
        self.notice = Notice("notice.pin_wrong", {"left": check.left}, "error")
        self._touch()

    def _lock_notice(self, lock: PinLock) -> Notice:
        if lock.needs_staff:
            return Notice("notice.pin_locked_staff", level="error")
        now = self.parts.producers.pins.now()
        return Notice("notice.pin_locked", {"minutes": lock.minutes_left(now)}, "error")

    async def _identified(self, producer: Any) -> None:
        self.person.producer = producer
        self.person.pin_candidate = None
        await asyncio.to_thread(self.parts.producers.note_visit, producer.producer_id)
        self._go(Step.PRODUCT, Notice("notice.welcome", {"name": producer.name}))

    async def begin_registration(self) -> None:
        self._require("begin_registration")
        self._go(Step.REGISTER)

    async def register(self, name: str, phone: str, origin_code: str, pin: str,
                       origin_detail: str = "") -> None:
        """Register a new producer, print their card, and go on to the product."""
        self._require("register")
        if origin_code not in {code for code, _ in self._origins()}:
            self.notice = Notice("notice.register_invalid", {"field": "origin_code"}, "error")
            self._touch()
            return
        async with self._busy:
            try:
                producer = await asyncio.to_thread(
                    self.parts.producers.register, name=name, phone=phone,
                    origin_code=origin_code, origin_detail=origin_detail, pin=pin)
            except RegistrationError as exc:
                self.notice = Notice("notice.register_invalid", {"field": exc.field}, "error")
                self._touch()
                return
            card = producer.entry.card_code or ""
            status = await asyncio.to_thread(
                print_receipt, self.parts.printer,
                producer_card_receipt(producer.name, producer.producer_id, card))
        self.person.producer = producer
        code = "notice.registered" if status == "printed" else "notice.registered_no_card"
        self._go(Step.PRODUCT, Notice(code, {"name": producer.name}))

    # ------------------------------------------------------------------ the lot

    async def back(self) -> None:
        """One screen back (where going back makes sense)."""
        self._require("back")
        p = self.person
        if self.step in (Step.PIN, Step.REGISTER):
            p.pin_candidate = None
            await self._enter_identify()
        elif self.step is Step.PRODUCT:
            p.producer = None
            await self._enter_identify()
        elif self.step is Step.QUANTITY and not p.correcting:
            self._go(Step.PRODUCT)
        elif self.step is Step.PANEL:
            self._go(Step.QUANTITY)
        elif self.step is Step.PREPARE and p.prep_index > 0:
            p.prep_index -= 1
            self._touch()
        elif self.step is Step.PREPARE and not p.reading_ids and p.test_index == 0:
            # Nothing tested yet: the panel may still be changed.
            self._go(Step.PANEL)
        else:
            self._touch()

    async def choose_product(self, product_code: str) -> None:
        self._require("choose_product")
        product = self.catalogue.products.get(product_code)
        if product is None:
            self.notice = Notice("notice.product_unknown", level="error")
            self._touch()
            return
        if product_code != self.person.product_code:
            self.person.product_code = product_code
            self.person.extras = []
            self.person.unit = None
            self.person.quantity = None
        self._go(Step.QUANTITY)

    async def set_quantity(self, quantity: float | str, unit: str) -> None:
        """How much of the product is in the lot, in one of the product's units."""
        self._require("set_quantity")
        product = self.catalogue.product(self.person.product_code or "")
        try:
            value = float(quantity)
        except (TypeError, ValueError):
            value = 0.0
        if not 0 < value <= MAX_QUANTITY or value != value:
            self.notice = Notice("notice.quantity_invalid", {"max": int(MAX_QUANTITY)}, "error")
            self._touch()
            return
        if unit not in units_for(product.category):
            self.notice = Notice("notice.unit_invalid", level="error")
            self._touch()
            return
        self.person.quantity = round(value, 3)
        self.person.unit = unit
        if self.person.correcting:
            self.person.correcting = False
            if self.person.lot_opened and not self.person.lot_closed:
                await asyncio.to_thread(self._open_lot)
            self._go(Step.RESULTS)
            return
        self._go(Step.PANEL)

    async def toggle_extra(self, analyte: str) -> None:
        """Add or remove an analyte the producer says they used ("test what you used")."""
        self._require("toggle_extra")
        extras = self.person.extras
        if analyte in extras:
            extras.remove(analyte)
        elif analyte in self.view.extra_choices:
            extras.append(analyte)
        self._touch()

    async def confirm_panel(self) -> None:
        """Plan the cassettes; refuse (saying why) if any analyte cannot be tested now."""
        self._require("confirm_panel")
        p = self.person
        product = self.catalogue.product(p.product_code or "")
        station = self.parts.station
        if station is None:
            p.refusals = [RefusalView("no_station", "this gateway has no devices configured")]
            self._go(Step.REFUSED)
            return
        panel = p.panel(list(product.analytes))
        plan, blocked = await asyncio.to_thread(plan_panel, self.catalogue, panel,
                                                station.readiness)
        if blocked:
            views = [RefusalView(r.code, r.detail, r.kit_id) for refusals in blocked.values()
                     for r in refusals]
            p.refusals = list(dict.fromkeys(views))
            self._go(Step.REFUSED)
            return
        p.plan = plan
        p.test_index = 0
        self._begin_test(attempt=1)
        await asyncio.to_thread(self._open_lot)
        p.lot_opened = True
        self._go(Step.PREPARE)

    def _open_lot(self) -> None:
        p = self.person
        self.parts.lots.open(
            p.session_id, product_code=p.product_code or "",
            producer_id=p.producer.producer_id if p.producer else None,
            quantity=p.quantity, unit=CERTIFICATE_UNIT.get(p.unit or "", p.unit))


__all__ = ["ACTIONS", "KioskSession", "WrongStep"]
