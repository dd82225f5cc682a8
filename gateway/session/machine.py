"""``KioskSession``: the kiosk flow as a server-side state machine, and its public API.

idle → identify (scan a card / pick a recent producer + PIN / register) → product → quantity
→ panel → for each cassette: prepare → insert → incubating → scoring → (re-test) → results
→ certificate; or blocked (positive) / unresolved / refused / error; every end goes back to
idle and wipes the person's data. docs/kiosk.md draws it from the declarations below.

Every choice the screen offers is a method here declared with ``@action`` (the steps that
offer it, the steps it leads to; its parameters are the screen's form fields): call it
(``await session.choose_product("chives")``) or name it (``act(name, **params)``, what the
UI's forms post). ``ACTIONS`` and ``ACTION_FIELDS`` are read from these declarations.
``view`` is what the screen draws. An action on a step that does not offer it raises
``WrongStep``; a person's bad input (a wrong PIN, a quantity of zero) is not an exception but
a ``Notice`` on the view, so the screen says what to do.

The cassettes are a ``TestRun`` (``running``), the certificate is the ``CertificateDesk``'s
(``issuing``); the session decides only which step comes next.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from protocol import LotOutcome

from ..errors import GatewayError
from ..pin_lockout import PinLock
from ..pins import PIN_PATTERN
from ..producers import KnownProducer, RegistrationError
from ..station import CassetteTimeout, Phase, Progress, StationRefused
from ..storage import StorageError
from .actions import WORKING, Action, WrongStep, action, declared_actions, transitions
from .core import SessionCore
from .issuing import VOID_REASONS
from .lot import LotState
from .panel import plan_panel
from .person import Issued
from .preparation import steps_for
from .receipts import PrintStatus, print_receipt, producer_card_receipt
from .running import TestRun, TestRunConfig, Verdict
from .steps import Notice, RefusalView, SessionView, Step
from .units import CERTIFICATE_UNIT, MAX_QUANTITY, units_for

log = logging.getLogger(__name__)

LANGUAGES = ("zh-CN", "en")
"""The kiosk's languages, zh-CN first (the screen's catalogues and ``ui.language`` in the
settings follow this list; a test checks they agree)."""
GLOBAL_REFUSALS = ("calibration_", "device_fault", "disk_full")
"""Refusal codes about the kiosk itself rather than one kit: checked when a person starts."""

PHASE_STEP = {
    Phase.INSERT: Step.INSERT,
    Phase.INCUBATING: Step.INCUBATING,
    Phase.CAPTURING: Step.SCORING,
    Phase.SCORING: Step.SCORING,
}
VERDICT_STEP = {
    Verdict.BLOCKED: Step.BLOCKED,
    Verdict.RETEST: Step.RETEST,
    Verdict.UNRESOLVED: Step.UNRESOLVED,
    Verdict.NEXT: Step.PREPARE,
    Verdict.PASSED: Step.RESULTS,
}
NO_STATION = RefusalView("no_station", "this gateway has no devices configured")


class KioskSession(SessionCore):
    """One kiosk's session (one person at a time). Build with ``SessionParts``."""

    async def act(self, name: str, /, **params: Any) -> SessionView:
        """Do the action ``name`` with the screen's parameters; returns the new view.

        Raises:
            WrongStep: no such action, or not offered on the current step.
            TypeError: parameters that the action does not take.
        """
        if name not in ACTION_TABLE:
            raise WrongStep(name, self.step)
        await getattr(self, name)(**params)
        return self.view

    # ------------------------------------------------------------------ any step

    @action(touches=False)  # a refused language changes nothing, not even the timeout
    async def language(self, language: str) -> None:
        """Switch the screen's language (zh-CN or en) for this person."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")
        self.person.language = language
        self._touch()

    @action(touches=False)
    async def keep_alive(self) -> None:
        """"I am still here": the step's timeout starts again."""
        self._touch()

    @action(leads_to={Step.IDLE}, touches=False)
    async def cancel(self) -> None:
        """The person leaves (or taps "start over"): end, wipe, back to idle."""
        if self.step is not Step.IDLE:
            await self._end("the person ended the session")

    @action(Step.CERTIFICATE, Step.BLOCKED, Step.UNRESOLVED, Step.REFUSED, Step.ERROR,
            leads_to={Step.IDLE})
    async def finish(self) -> None:
        """Done (after a certificate, a block, a refusal or an error): back to idle."""
        await self._end("the session ended after " + self.step.value)

    # ------------------------------------------------------------------ identify

    @action(Step.IDLE, leads_to={Step.IDENTIFY, Step.REFUSED})
    async def start(self) -> None:
        """The welcome screen was tapped: identify, unless the kiosk cannot test at all."""
        refusals = await asyncio.to_thread(self._kiosk_refusals)
        if refusals:
            self.person.refusals = tuple(refusals)
            self._go(Step.REFUSED)
            return
        await self._enter_identify()

    def _kiosk_refusals(self) -> list[RefusalView]:
        station = self.parts.station
        if station is None:
            return [NO_STATION]
        any_kit = next(iter(self.catalogue.kits))
        return [RefusalView(r.code, r.detail, r.kit_id) for r in station.readiness(any_kit)
                if r.code.startswith(GLOBAL_REFUSALS)]

    @action(Step.IDLE, Step.IDENTIFY, Step.PIN,
            leads_to={Step.IDLE: {Step.IDENTIFY, Step.REFUSED},
                      Step.IDENTIFY: {Step.PRODUCT}, Step.PIN: {Step.IDENTIFY, Step.PRODUCT}})
    async def scan(self, code: str) -> None:
        """A code from the scanner: a producer's card identifies them (from idle too)."""
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
            self._say(Notice("notice.scan_incomplete", level="error"))

    @action(Step.IDENTIFY, leads_to={Step.PIN, Step.IDENTIFY})
    async def pick_producer(self, producer_id: str) -> None:
        """A name from the recent list: ask for that producer's PIN."""
        producer = await asyncio.to_thread(self.parts.producers.get, producer_id)
        if producer is None:
            await self._enter_identify(Notice("notice.producer_unknown", level="error"))
            return
        if not producer.has_pin:
            await self._enter_identify(Notice("notice.no_pin_use_card", level="error"))
            return
        self.person.identity.pin_candidate = producer
        self._go(Step.PIN)

    @action(Step.PIN, leads_to={Step.PRODUCT, Step.IDENTIFY})
    async def enter_pin(self, pin: str) -> None:
        """The PIN typed on the keypad (never stored).

        Wrong ones are counted per producer in the kiosk database (``gateway.pin_lockout``):
        going back and picking the name again, or a restart, does not start the count again.
        """
        who = self.person.identity
        candidate = who.pin_candidate
        assert candidate is not None
        if not PIN_PATTERN.fullmatch(pin or ""):
            self._say(Notice("notice.pin_format", level="error"))
            return
        check = await asyncio.to_thread(self.parts.producers.check_pin,
                                        candidate.producer_id, pin)
        if check.ok:
            await self._identified(candidate)
            return
        if check.lock is not None:
            who.pin_candidate = None
            await self._enter_identify(self._lock_notice(check.lock))
            return
        self._say(Notice("notice.pin_wrong", {"left": check.left}, "error"))

    def _lock_notice(self, lock: PinLock) -> Notice:
        if lock.needs_staff:
            return Notice("notice.pin_locked_staff", level="error")
        now = self.parts.producers.pins.now()
        return Notice("notice.pin_locked", {"minutes": lock.minutes_left(now)}, "error")

    async def _identified(self, producer: KnownProducer) -> None:
        who = self.person.identity
        who.producer = producer
        who.pin_candidate = None
        await asyncio.to_thread(self.parts.producers.note_visit, producer.producer_id)
        self._go(Step.PRODUCT, Notice("notice.welcome", {"name": producer.name}))

    @action(Step.IDENTIFY, leads_to={Step.REGISTER})
    async def begin_registration(self) -> None:
        """A new producer: show the registration form."""
        self._go(Step.REGISTER)

    @action(Step.REGISTER, leads_to={Step.PRODUCT})
    async def register(self, name: str, phone: str, origin_code: str, pin: str,
                       origin_detail: str = "") -> None:
        """Register a new producer, print their card, and go on to the product."""
        if origin_code not in {code for code, _ in self.config.origins}:
            self._say(Notice("notice.register_invalid", {"field": "origin_code"}, "error"))
            return
        async with self._busy:
            try:
                producer = await asyncio.to_thread(
                    self.parts.producers.register, name=name, phone=phone,
                    origin_code=origin_code, origin_detail=origin_detail, pin=pin)
            except RegistrationError as exc:
                self._say(Notice("notice.register_invalid", {"field": exc.field}, "error"))
                return
            card = producer.entry.card_code or ""
            status = await asyncio.to_thread(
                print_receipt, self.parts.printer,
                producer_card_receipt(producer.name, producer.producer_id, card))
        self.person.identity.producer = producer
        code = ("notice.registered" if status is PrintStatus.PRINTED
                else "notice.registered_no_card")
        self._go(Step.PRODUCT, Notice(code, {"name": producer.name}))

    # ------------------------------------------------------------------ the lot

    @action(Step.PIN, Step.REGISTER, Step.PRODUCT, Step.QUANTITY, Step.PANEL, Step.PREPARE,
            leads_to={Step.PIN: {Step.IDENTIFY}, Step.REGISTER: {Step.IDENTIFY},
                      Step.PRODUCT: {Step.IDENTIFY}, Step.QUANTITY: {Step.PRODUCT},
                      Step.PANEL: {Step.QUANTITY}, Step.PREPARE: {Step.PANEL}})
    async def back(self) -> None:
        """One screen back (where going back makes sense)."""
        p = self.person
        run = p.testing
        if self.step in (Step.PIN, Step.REGISTER):
            p.identity.pin_candidate = None
            await self._enter_identify()
        elif self.step is Step.PRODUCT:
            p.identity.producer = None
            await self._enter_identify()
        elif self.step is Step.QUANTITY and not p.lot.state.correcting:
            self._go(Step.PRODUCT)
        elif self.step is Step.PANEL:
            self._go(Step.QUANTITY)
        elif self.step is Step.PREPARE and run is not None and run.previous_prep():
            self._touch()
        elif self.step is Step.PREPARE and run is not None and run.untouched:
            # Nothing tested yet: the panel may still be changed.
            self._go(Step.PANEL)
        else:
            self._touch()

    @action(Step.PRODUCT, leads_to={Step.QUANTITY})
    async def choose_product(self, product_code: str) -> None:
        """The produce, picked from pictures (a new choice forgets the quantity and extras)."""
        if self.catalogue.products.get(product_code) is None:
            self._say(Notice("notice.product_unknown", level="error"))
            return
        lot = self.person.lot
        if product_code != lot.product_code:
            lot.product_code = product_code
            lot.extras = []
            lot.unit = None
            lot.quantity = None
        self._go(Step.QUANTITY)

    @action(Step.QUANTITY, leads_to={Step.PANEL, Step.RESULTS})
    async def set_quantity(self, quantity: float | str, unit: str) -> None:
        """How much of the product is in the lot, in one of the product's units."""
        lot = self.person.lot
        product = self.catalogue.product(lot.product_code or "")
        try:
            value = float(quantity)
        except (TypeError, ValueError):
            value = 0.0
        if not 0 < value <= MAX_QUANTITY or value != value:
            self._say(Notice("notice.quantity_invalid", {"max": int(MAX_QUANTITY)}, "error"))
            return
        if unit not in units_for(product.category):
            self._say(Notice("notice.unit_invalid", level="error"))
            return
        lot.quantity = round(value, 3)
        lot.unit = unit
        if lot.state.correcting:
            lot.move(LotState.VOIDED)  # corrected: a new certificate may be issued
            self._go(Step.RESULTS)
            return
        self._go(Step.PANEL)

    @action(Step.PANEL)
    async def toggle_extra(self, analyte: str) -> None:
        """Add or remove an analyte the producer says they used ("test what you used")."""
        extras = self.person.lot.extras
        if analyte in extras:
            extras.remove(analyte)
        elif analyte in self.view.extra_choices:
            extras.append(analyte)
        self._touch()

    @action(Step.PANEL, leads_to={Step.PREPARE, Step.REFUSED})
    async def confirm_panel(self) -> None:
        """Plan the cassettes; refuse (saying why) if any analyte cannot be tested now."""
        p = self.person
        product = self.catalogue.product(p.lot.product_code or "")
        station = self.parts.station
        if station is None:
            p.refusals = (NO_STATION,)
            self._go(Step.REFUSED)
            return
        panel = p.lot.panel(list(product.analytes))
        plan, blocked = await asyncio.to_thread(plan_panel, self.catalogue, panel,
                                                station.readiness)
        if blocked:
            views = [RefusalView(r.code, r.detail, r.kit_id) for refusals in blocked.values()
                     for r in refusals]
            p.refusals = tuple(dict.fromkeys(views))
            self._go(Step.REFUSED)
            return
        producer = p.identity.producer
        p.testing = TestRun(
            plan, p.lot, config=TestRunConfig(max_attempts=self.config.max_attempts),
            station=station, lots=self.parts.lots, session_id=p.session_id,
            producer_id=producer.producer_id if producer else None,
            prep_steps=steps_for(product.category),
        )
        await asyncio.to_thread(self._open_lot)
        p.lot.move(LotState.OPEN)
        self._go(Step.PREPARE)

    def _open_lot(self) -> None:
        p = self.person
        producer = p.identity.producer
        self.parts.lots.open(
            p.session_id, product_code=p.lot.product_code or "",
            producer_id=producer.producer_id if producer else None,
            quantity=p.lot.quantity, unit=CERTIFICATE_UNIT.get(p.lot.unit or "", p.lot.unit))

    # ------------------------------------------------------------------ the cassettes

    @action(Step.PREPARE, leads_to={Step.INSERT})
    async def next_prep(self) -> None:
        """Next preparation step; after the last one the tray opens for the cassette."""
        run = self.person.testing
        assert run is not None
        if run.next_prep():
            self._touch()
            return
        run.progress = None  # until the station has taken the strip and opened the tray
        self._go(Step.INSERT)
        self._test_task = asyncio.get_running_loop().create_task(
            self._run_cassette(run), name="nongan-session-test")

    def _on_progress(self, progress: Progress) -> None:
        run = self.person.testing
        if run is not None:
            run.progress = progress
        step = PHASE_STEP.get(progress.phase)
        if step is not None and step is not self.step:
            self._go(step)
        else:
            self._changed_now()

    async def _run_cassette(self, run: TestRun) -> None:
        kit_id = run.planned.kit_id
        try:
            verdict = await run.run(self._on_progress, self.cassette_deadline)
        except StationRefused as exc:
            self.person.refusals = tuple(RefusalView(r.code, r.detail, r.kit_id or kit_id)
                                         for r in exc.refusals)
            self._test_task = None
            self._go(Step.REFUSED)
            return
        except CassetteTimeout:
            # Nobody put the cassette in: the person has gone.
            self._test_task = None
            await self._end("no cassette was put in the tray")
            return
        except GatewayError as exc:
            # The strip is spent (a device, the scorer, the disk: ``exc.code``), or the
            # readings are recorded but noting them on the lot or closing it failed. Without
            # this the screen would stay on "scoring" for good.
            self._test_failed(kit_id, exc)
            return
        self._test_task = None
        notice = None
        if verdict is Verdict.NEXT:
            notice = Notice("notice.test_negative_next",
                            {"done": run.index, "total": len(run.plan)})
        self._go(VERDICT_STEP[verdict], notice)

    def _test_failed(self, kit_id: str, exc: GatewayError) -> None:
        log.error("test of %s failed (%s): %s", kit_id, exc.code, exc)
        self.person.error_code = exc.code
        self.person.error_key = exc.translation_key
        self._test_task = None
        self._go(Step.ERROR)

    @action(Step.RETEST, Step.ERROR, leads_to={Step.PREPARE, Step.UNRESOLVED})
    async def retest(self) -> None:
        """Test the unresolved analytes (or the failed cassette) again with a new strip."""
        run = self.person.testing
        assert run is not None
        if not run.attempts_left:
            # An error on the last attempt: nothing more is allowed on this lot.
            await run.close(LotOutcome.BLOCKED_UNRESOLVED,
                            f"device or reading error on attempt {run.attempt}")
            self._go(Step.UNRESOLVED)
            return
        run.retest()
        self._go(Step.PREPARE)

    # ------------------------------------------------------------------ the certificate

    @action(Step.RESULTS, leads_to={Step.CERTIFICATE, Step.ERROR})
    async def issue(self) -> None:
        """The producer confirms the promise: issue, commit, then print."""
        async with self._busy:
            await self._issue_and_print()

    async def _issue_and_print(self) -> None:
        p = self.person
        producer = p.identity.producer
        assert producer is not None
        replaces = p.issued.certificate if p.issued is not None and p.lot.state.voided \
            else None
        try:
            certificate = await asyncio.to_thread(self.desk.issue, p.session_id, producer,
                                                  p.lot, replaces)
        except StorageError as exc:
            log.error("could not issue the certificate: %s", exc)
            p.error_code = exc.code
            p.error_key = exc.translation_key
            self._go(Step.ERROR)
            return
        p.lot.move(LotState.CERTIFIED)
        p.issued = Issued(certificate)
        self._go(Step.CERTIFICATE)
        await self._print()

    async def _print(self) -> None:
        issued = self.person.issued
        assert issued is not None
        issued.print_status = await asyncio.to_thread(self.desk.print, issued.certificate)
        key = issued.print_status.notice_key
        self.notice = Notice(key, level="error") if key is not None else None
        self._touch()

    @action(Step.CERTIFICATE)
    async def reprint(self) -> None:
        """Print the same certificate again (after loading paper or switching on)."""
        issued = self.person.issued
        assert issued is not None
        if self.person.lot.state.voided:
            self._say(Notice("notice.voided", level="error"))
            return
        async with self._busy:
            issued.print_status = PrintStatus.PRINTING
            self._touch()
            await self._print()

    @action(Step.CERTIFICATE, leads_to={Step.QUANTITY, Step.ERROR})
    async def void(self, reason: str) -> None:
        """Void the certificate just issued, with a reason, and publish the void event.

        ``wrong_quantity`` goes back to the quantity (then a new certificate), ``printer_jam``
        issues and prints a new one at once, ``other`` just voids it.
        """
        if reason not in VOID_REASONS:
            raise ValueError(f"void reason must be one of {sorted(VOID_REASONS)}")
        p = self.person
        issued = p.issued
        assert issued is not None
        async with self._busy:
            if not p.lot.state.voided:
                await asyncio.to_thread(self.desk.void, issued.certificate, reason)
                p.lot.move(LotState.VOIDED)
            if reason == "wrong_quantity":
                p.lot.move(LotState.CORRECTING)
                self._go(Step.QUANTITY, Notice("notice.voided_correct_quantity"))
            elif reason == "printer_jam":
                await self._issue_and_print()
            else:
                self._say(Notice("notice.voided"))


ACTION_TABLE: dict[str, Action] = declared_actions(KioskSession)
"""Every action the screen may post, by name (read from the ``@action`` declarations)."""
KioskSession.TRANSITIONS = transitions(ACTION_TABLE)
ACTIONS: dict[str, frozenset[Step] | None] = {n: a.steps for n, a in ACTION_TABLE.items()}
"""The actions the screen may post, and the steps that offer each (None: every step)."""
ACTION_FIELDS: dict[str, tuple[str, ...]] = {n: a.fields for n, a in ACTION_TABLE.items()
                                            if a.fields}
"""The form fields each action takes (the screen ignores any other field)."""

__all__ = ["ACTIONS", "ACTION_FIELDS", "ACTION_TABLE", "WORKING", "KioskSession", "WrongStep"]
