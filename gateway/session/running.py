"""Testing the lot: one cassette after another, each through the station, then the verdict.

After each cassette: a positive reading blocks the lot at once (``blocked_positive`` is
queued for the supervisor before the screen changes, and no further strip is spent); a suspect
or invalid reading asks for a re-test of those analytes with a new strip, at most
``station.max_retests`` times, after which the lot is ``blocked_unresolved``; when every
analyte is negative the next cassette is prepared, or the results are shown.
"""

from __future__ import annotations

import asyncio
import logging

from device_drivers import DeviceError
from protocol import Call, LotOutcome

from ..scoring import ScoringError
from ..station import CassetteTimeout, Phase, Progress, StationRefused, TestRequest
from ..storage import StorageError
from .core import SessionCore
from .preparation import steps_for
from .steps import Notice, RefusalView, Step

log = logging.getLogger(__name__)

PHASE_STEP = {
    Phase.INSERT: Step.INSERT,
    Phase.INCUBATING: Step.INCUBATING,
    Phase.CAPTURING: Step.SCORING,
    Phase.SCORING: Step.SCORING,
}


class RunningMixin(SessionCore):
    def _begin_test(self, attempt: int, analytes: tuple[str, ...] | None = None) -> None:
        p = self.person
        p.attempt = attempt
        p.analytes_now = analytes or p.plan[p.test_index].analytes
        p.prep_index = 0
        p.progress = None
        p.error_code = None

    async def next_prep(self) -> None:
        """Next preparation step; after the last one the tray opens for the cassette."""
        self._require("next_prep")
        p = self.person
        product = self.catalogue.product(p.product_code or "")
        if p.prep_index + 1 < len(steps_for(product.category)):
            p.prep_index += 1
            self._touch()
            return
        self._start_station()

    def _start_station(self) -> None:
        p = self.person
        p.progress = None  # until the station has taken the strip and opened the tray
        self._go(Step.INSERT)
        self._test_task = asyncio.get_running_loop().create_task(
            self._run_test(), name="nongan-session-test")

    def _on_progress(self, progress: Progress) -> None:
        self.person.progress = progress
        step = PHASE_STEP.get(progress.phase)
        if step is not None and step is not self.step:
            self._go(step)
        else:
            self._changed_now()

    async def _run_test(self) -> None:
        p = self.person
        station = self.parts.station
        assert station is not None
        planned = p.plan[p.test_index]
        request = TestRequest(
            kit_id=planned.kit_id, analytes=p.analytes_now, product_code=p.product_code or "",
            session_id=p.session_id,
            producer_id=p.producer.producer_id if p.producer else None, attempt=p.attempt,
        )
        try:
            result = await station.run(request, self._on_progress,
                                       cassette_deadline=self.cassette_deadline)
        except StationRefused as exc:
            p.refusals = [RefusalView(r.code, r.detail, r.kit_id or planned.kit_id)
                          for r in exc.refusals]
            self._test_task = None
            self._go(Step.REFUSED)
            return
        except CassetteTimeout:
            # Nobody put the cassette in: the person has gone.
            self._test_task = None
            await self._end("no cassette was put in the tray")
            return
        except (DeviceError, ScoringError, StorageError, OSError) as exc:
            self._test_failed(planned.kit_id, exc)
            return
        self._test_task = None
        for recorded, score in zip(result.readings, result.scores, strict=True):
            reading = recorded.reading
            p.results[reading.analyte_code] = reading
            p.reason_codes[reading.analyte_code] = tuple(score.reason_codes)
            p.attempts[reading.analyte_code] = p.attempts.get(reading.analyte_code, 0) + 1
            p.reading_ids.append(reading.reading_id)
        try:
            await asyncio.to_thread(self.parts.lots.add_readings, p.session_id,
                                    [r.reading.reading_id for r in result.readings])
            await self._judge()
        except StorageError as exc:
            # The readings are recorded (the station committed them); noting them on the lot
            # or closing it failed. Without this the screen would stay on "scoring" for good.
            self._test_failed(planned.kit_id, exc)

    def _test_failed(self, kit_id: str, exc: Exception) -> None:
        log.error("test of %s failed: %s", kit_id, exc)
        self.person.error_code = ("device" if isinstance(exc, DeviceError) else
                                  "scoring" if isinstance(exc, ScoringError) else "storage")
        self._test_task = None
        self._go(Step.ERROR)

    async def _judge(self) -> None:
        p = self.person
        calls = p.calls(p.analytes_now)
        positive = [a for a, c in calls.items() if c is Call.POSITIVE]
        unsure = [a for a in p.analytes_now if calls.get(a) is not Call.NEGATIVE]
        if positive:
            await self._close_lot(LotOutcome.BLOCKED_POSITIVE,
                                  "positive: " + ", ".join(positive))
            self._go(Step.BLOCKED)
        elif unsure:
            if p.attempt < 1 + self.settings.station.max_retests:
                p.analytes_now = tuple(unsure)
                self._go(Step.RETEST)
            else:
                await self._close_lot(
                    LotOutcome.BLOCKED_UNRESOLVED,
                    "not negative after re-tests: " + ", ".join(
                        f"{a} {calls[a].value}" if a in calls else a for a in unsure))
                self._go(Step.UNRESOLVED)
        elif p.test_index + 1 < len(p.plan):
            p.test_index += 1
            self._begin_test(attempt=1)
            self._go(Step.PREPARE, Notice("notice.test_negative_next",
                                          {"done": p.test_index, "total": len(p.plan)}))
        else:
            p.progress = None
            self._go(Step.RESULTS)

    async def _close_lot(self, outcome: LotOutcome, note: str) -> None:
        p = self.person
        await asyncio.to_thread(self.parts.lots.close, p.session_id, outcome, note=note)
        p.lot_closed = True

    async def retest(self) -> None:
        """Test the unresolved analytes (or the failed cassette) again with a new strip."""
        self._require("retest")
        p = self.person
        if p.attempt >= 1 + self.settings.station.max_retests:
            # An error on the last attempt: nothing more is allowed on this lot.
            await self._close_lot(LotOutcome.BLOCKED_UNRESOLVED,
                                  f"device or reading error on attempt {p.attempt}")
            self._go(Step.UNRESOLVED)
            return
        self._begin_test(attempt=p.attempt + 1, analytes=p.analytes_now)
        self._go(Step.PREPARE)
