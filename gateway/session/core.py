"""The session's core: its step, the person, timeouts, change notification, the view.

Everything runs on the gateway's event loop. A step's inactivity timeout starts when the step
is entered and restarts at each of the person's actions; ``warning_s`` before the end the view
says ``warning`` (the screen shows "Still there? Tap to continue"); at the end the session
ends as abandoned and the person's data is wiped. Steps where nobody is expected to act (idle,
and while the reader works) have no timeout.

A step is entered only by a declared transition (``gateway.session.actions``): ``_go`` refuses
any other with ``IllegalTransition``.

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
from ..lots import LotBook
from ..producers import ProducerBook
from ..station import StripStation
from .actions import Action, IllegalTransition, WrongStep
from .config import SessionConfig
from .issuing import CertificateDesk, DeskConfig
from .person import Person
from .steps import MACHINE_BUSY, Notice, ProducerView, SessionView, Step
from .view import make_view, producer_view

log = logging.getLogger(__name__)

LONG_STEPS = frozenset({Step.REGISTER, Step.PREPARE})


@dataclass
class SessionParts:
    """What a session drives; the gateway builds it from its own parts."""

    config: SessionConfig
    catalogue: Catalogue
    producers: ProducerBook
    lots: LotBook
    issuer: CertificateIssuer
    station: StripStation | None
    printer: Printer | None


class SessionCore:
    TRANSITIONS: frozenset[tuple[Step, Step]] = frozenset()
    """Every declared (from, to) step pair; set by ``KioskSession`` from its declarations."""

    def __init__(self, parts: SessionParts, *, now: Callable[[], float] = time.monotonic
                 ) -> None:
        self.parts = parts
        self.config = parts.config
        self.catalogue = parts.catalogue
        self.desk = CertificateDesk(DeskConfig(station_name=parts.config.station_name),
                                    issuer=parts.issuer, printer=parts.printer,
                                    lots=parts.lots, catalogue=parts.catalogue)
        self._now = now
        self.step = Step.IDLE
        self.person = Person(language=self.config.language)
        self.notice: Notice | None = None
        self.version = 0
        self._deadline: float | None = None
        self._warned = False
        self._changed = asyncio.Event()
        self._busy = asyncio.Lock()
        self._test_task: asyncio.Task[None] | None = None
        self._view: SessionView | None = None

    def is_idle(self) -> bool:
        """Nobody is using the kiosk: the welcome screen, no one's data in memory, no test
        running (what the updater asks before it switches releases)."""
        return self.step is Step.IDLE

    def _begin(self, action: Action) -> None:
        """Check that the step offers ``action`` (every action does this first, see
        ``gateway.session.actions.action``) and restart the step's timeout."""
        if not action.offered_on(self.step):
            raise WrongStep(action.name, self.step)
        if action.touches and self._deadline is not None:
            self._touch()

    # ------------------------------------------------------------------ change + timeouts

    def _timeout_for(self, step: Step) -> float | None:
        if step in MACHINE_BUSY:
            return None
        if step is Step.INSERT:
            return self.config.cassette_timeout_s
        if step in LONG_STEPS:
            return self.config.long_step_timeout_s
        return self.config.step_timeout_s

    def _go(self, step: Step, notice: Notice | None = None) -> None:
        """Enter ``step`` (restarting its timeout) and tell whoever waits.

        Raises:
            IllegalTransition: no action or event declares the move (a bug).
        """
        if (step is not self.step and step is not Step.IDLE
                and (self.step, step) not in self.TRANSITIONS):
            raise IllegalTransition(self.step, step)
        self.step = step
        self.notice = notice
        self._touch()

    def _touch(self) -> None:
        """The person did something: the step's timeout starts again."""
        timeout = self._timeout_for(self.step)
        self._deadline = None if timeout is None else self._now() + timeout
        self._warned = False
        self._changed_now()

    def _say(self, notice: Notice) -> None:
        """Tell the person something on the same step (a wrong PIN, a bad quantity)."""
        self.notice = notice
        self._touch()

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
        elif left <= self.config.warning_s and not self._warned:
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
        if person.lot.state.open:
            try:
                await asyncio.to_thread(self.parts.lots.abandon, person.session_id, why)
            except Exception:  # the wipe must happen whatever the disk says
                log.exception("could not record the abandoned lot of session %s",
                              person.session_id)
        self._wipe()

    def _wipe(self) -> None:
        self.person = Person(language=self.config.language)
        self.notice = None
        self._go(Step.IDLE)

    # ------------------------------------------------------------------ the view

    @property
    def view(self) -> SessionView:
        if self._view is None:
            recent: tuple[ProducerView, ...] = ()
            if self.step is Step.IDENTIFY:
                held = self.person.identity.recent
                recent = held if held is not None else self._recent()
            self._view = make_view(version=self.version, step=self.step, notice=self.notice,
                                   person=self.person, catalogue=self.catalogue,
                                   config=self.config, recent=recent)
        left = self.seconds_left()
        # seconds_left changes without a version change: refresh it on every read.
        return replace(self._view, seconds_left=left, warning=self._warned)

    async def _enter_identify(self, notice: Notice | None = None) -> None:
        """Enter IDENTIFY with its recent-producers list read from the database in a thread
        (the view, built on the event loop, only reads it from the person)."""
        person = self.person
        recent = await asyncio.to_thread(self._recent)
        if self.person is not person:  # the session ended meanwhile (a timeout): stay idle
            return
        person.identity.recent = recent
        self._go(Step.IDENTIFY, notice)

    def _recent(self) -> tuple[ProducerView, ...]:
        limit = self.config.recent_producers
        if limit == 0:
            return ()
        return tuple(producer_view(p, masked=True) for p in self.parts.producers.recent(limit))
