"""The session's core: its step, the person's data, timeouts, change notification, the view.

Everything runs on the gateway's event loop. A step's inactivity timeout starts when the step
is entered and restarts at each of the person's actions; ``warning_s`` before the end the view
says ``warning`` (the screen shows "Still there? Tap to continue"); at the end the session
ends as abandoned and the person's data is wiped. Steps where nobody is expected to act (idle,
and while the reader works) have no timeout.

The view is a frozen snapshot with a ``version`` that grows at each change; ``wait_for_change``
lets the screen (long polling) or a test wait for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from device_drivers import Printer

from ..cancellation import cancel_and_wait
from ..issuance import CertificateIssuer
from ..kits import Catalogue
from ..producers import KnownProducer, ProducerRegistry
from ..settings import GatewaySettings
from ..station import StripStation
from .lots import LotLedger
from .panel import extra_choices
from .person import Person
from .preparation import steps_for
from .steps import (
    ACTIONS,
    MACHINE_BUSY,
    AnalyteResult,
    CertificateView,
    Notice,
    ProducerView,
    SessionView,
    Step,
    TestView,
)
from .units import units_for

log = logging.getLogger(__name__)

LONG_STEPS = frozenset({Step.REGISTER, Step.PREPARE})


class WrongStep(Exception):
    """An action that the current step does not offer (a stale screen, or a bug in a test)."""

    def __init__(self, action: str, step: Step) -> None:
        super().__init__(f"{action} is not possible on the {step.value} step")
        self.action = action
        self.step = step


@dataclass
class SessionParts:
    """What a session drives; the gateway builds it from its own parts."""

    settings: GatewaySettings
    catalogue: Catalogue
    producers: ProducerRegistry
    lots: LotLedger
    issuer: CertificateIssuer
    station: StripStation | None
    printer: Printer | None


class SessionCore:
    def __init__(self, parts: SessionParts, *, now: Callable[[], float] = time.monotonic
                 ) -> None:
        self.parts = parts
        self.settings = parts.settings
        self.catalogue = parts.catalogue
        self._now = now
        self.step = Step.IDLE
        self.person = Person(language=self.settings.ui.language)
        self.notice: Notice | None = None
        self.version = 0
        self._deadline: float | None = None
        self._warned = False
        self._changed = asyncio.Event()
        self._busy = asyncio.Lock()
        self._test_task: asyncio.Task[None] | None = None
        self._view: SessionView | None = None

    def _require(self, action: str) -> None:
        """Check that the step offers ``action``; every action calls this first.

        It also restarts the step's timeout: the person just did something, and an action
        that awaits (a database write, the printer) must not be overtaken by a timeout that
        wipes the person in the middle of it.
        """
        allowed = ACTIONS.get(action, frozenset())
        if allowed is not None and self.step not in allowed:
            raise WrongStep(action, self.step)
        if self._deadline is not None:
            self._touch()

    # ------------------------------------------------------------------ change + timeouts

    def _timeout_for(self, step: Step) -> float | None:
        if step in MACHINE_BUSY:
            return None
        if step is Step.INSERT:
            return self.settings.station.cassette_timeout_s
        if step in LONG_STEPS:
            return self.settings.session.long_step_timeout_s
        return self.settings.session.step_timeout_s

    def _go(self, step: Step, notice: Notice | None = None) -> None:
        """Enter ``step`` (restarting its timeout) and tell whoever waits."""
        self.step = step
        self.notice = notice
        self._touch()

    def _touch(self) -> None:
        """The person did something: the step's timeout starts again."""
        timeout = self._timeout_for(self.step)
        self._deadline = None if timeout is None else self._now() + timeout
        self._warned = False
        self._changed_now()

    def _changed_now(self) -> None:
        self.version += 1
        self._view = None
        # Wake every waiter of this version; later waiters wait on a fresh event.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for_change(self, since: int, wait_s: float) -> SessionView:
        """The view once its version is above ``since``, or the current one after ``wait_s``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                while self.version <= since:
                    await self._changed.wait()
        return self.view

    def seconds_left(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - self._now())

    def cassette_deadline(self) -> float:
        """The station's deadline for the cassette, in loop time (follows the session's)."""
        loop = asyncio.get_running_loop()
        left = self.seconds_left()
        return loop.time() + (left if left is not None else 0.0)

    async def tick(self) -> None:
        """Check the timeout: warn first, then end the session. Called by ``run_timers``."""
        if self._deadline is None:
            return
        left = self._deadline - self._now()
        if left <= 0:
            log.info("session timed out on the %s step", self.step.value)
            await self._end("timeout on the " + self.step.value + " screen")
        elif left <= self.settings.session.warning_s and not self._warned:
            self._warned = True
            self._changed_now()

    async def run_timers(self, interval: float = 0.25) -> None:
        """Run until cancelled, checking timeouts (the gateway runs this in its task group)."""
        while True:
            await asyncio.sleep(interval)
            if not self._busy.locked():
                await self.tick()

    # ------------------------------------------------------------------ ending

    async def _end(self, why: str) -> None:
        """End the session: stop a running test, close the lot, wipe the person, go idle."""
        task, self._test_task = self._test_task, None
        if task is not None and not task.done():
            await cancel_and_wait(task)
        person = self.person
        if person.lot_opened and not person.lot_closed:
            try:
                await asyncio.to_thread(self.parts.lots.abandon, person.session_id, why)
            except Exception:  # the wipe must happen whatever the disk says
                log.exception("could not record the abandoned lot of session %s",
                              person.session_id)
        self._wipe()

    def _wipe(self) -> None:
        self.person = Person(language=self.settings.ui.language)
        self.notice = None
        self._go(Step.IDLE)

    # ------------------------------------------------------------------ the view

    @property
    def view(self) -> SessionView:
        if self._view is None:
            self._view = self._make_view()
        left = self.seconds_left()
        # seconds_left changes without a version change: refresh it on every read.
        return _with_time(self._view, left, self._warned)

    def _producer_view(self, producer: KnownProducer, *, masked: bool) -> ProducerView:
        return ProducerView(
            producer_id=producer.producer_id,
            display_name=producer.masked_name if masked else producer.name,
            phone_tail=producer.masked_phone,
            has_pin=producer.has_pin,
        )

    async def _enter_identify(self, notice: Notice | None = None) -> None:
        """Enter IDENTIFY with its recent-producers list read from the database in a thread
        (the view, built on the event loop, only reads it from the person)."""
        person = self.person
        recent = await asyncio.to_thread(self._recent)
        if self.person is not person:  # the session ended meanwhile (a timeout): stay idle
            return
        person.recent = recent
        self._go(Step.IDENTIFY, notice)

    def _recent(self) -> tuple[ProducerView, ...]:
        limit = self.settings.session.recent_producers
        if limit == 0:
            return ()
        return tuple(self._producer_view(p, masked=True)
                     for p in self.parts.producers.recent(limit))

    def _make_view(self) -> SessionView:
        p = self.person
        step = self.step
        product = self.catalogue.products.get(p.product_code or "")
        test = None
        if step in (Step.PREPARE, Step.INSERT, Step.INCUBATING, Step.SCORING, Step.RETEST,
                    Step.ERROR) and p.plan and p.test_index < len(p.plan):
            planned = p.plan[p.test_index]
            prep = steps_for(product.category) if product else ()
            progress = p.progress
            test = TestView(
                index=p.test_index, total=len(p.plan), kit_id=planned.kit_id,
                analytes=p.analytes_now or planned.analytes, attempt=p.attempt,
                max_attempts=1 + self.settings.station.max_retests, prep_steps=prep,
                prep_index=p.prep_index,
                phase=progress.phase.value if progress else None,
                remaining_s=progress.remaining_s if progress else None,
                total_s=progress.total_s if progress else None,
            )
        required = list(product.analytes) if product else []
        panel = p.panel(required)
        results = tuple(
            AnalyteResult(
                analyte=a,
                call=p.results[a].call.value if a in p.results else None,
                reason_codes=p.reason_codes.get(a, ()),
                attempts=p.attempts.get(a, 0),
                t_c_ratio=p.results[a].t_c_ratio if a in p.results else None,
            )
            for a in panel
        ) if p.plan or p.results else ()
        cert = None
        if p.certificate is not None:
            c = p.certificate
            cert = CertificateView(
                token=c.token, serial=c.serial, verify_url=c.verify_url,
                product_code=c.product_code, quantity=c.quantity, unit=p.unit or "",
                promisor_name=c.promisor_name, issued_at=c.issued_at.isoformat(),
                print_status=p.print_status or "printing", voided=p.voided,
            )
        return SessionView(
            version=self.version,
            step=step,
            language=p.language,
            notice=self.notice,
            producer=self._producer_view(p.producer, masked=False) if p.producer else None,
            pin_for=self._producer_view(p.pin_candidate, masked=True)
            if p.pin_candidate else None,
            recent=(p.recent if p.recent is not None else self._recent())
            if step is Step.IDENTIFY else (),
            origins=self._origins() if step is Step.REGISTER else (),
            product_code=p.product_code,
            quantity=p.quantity,
            unit=p.unit,
            units=units_for(product.category) if product else (),
            correcting=p.correcting,
            panel_required=tuple(required),
            panel_extras=tuple(p.extras),
            extra_choices=tuple(extra_choices(self.catalogue, product.code))
            if product and step is Step.PANEL else (),
            test=test,
            tests_done=p.test_index,
            results=results,
            refusals=tuple(p.refusals),
            error_code=p.error_code,
            certificate=cert,
        )

    def _origins(self) -> tuple[tuple[str, str], ...]:
        device = self.settings.device
        here = (device.place_code, device.station_name or device.place_code)
        more = tuple((o.code, o.name) for o in self.settings.session.origins
                     if o.code != device.place_code)
        return (here, *more)


def _with_time(view: SessionView, left: float | None, warned: bool) -> SessionView:
    return replace(view, seconds_left=left, warning=warned)

