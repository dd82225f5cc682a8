"""Testing the lot: one cassette after another, each through the station, then the verdict.

A ``TestRun`` is made when the person confirms the panel and lives as long as the lot: it
knows the planned cassettes, which one is under way (its attempt, the analytes it must read,
the preparation step shown, the reader's progress) and it judges each cassette's readings.
Its configuration is what it needs and nothing more (``TestRunConfig``: attempts allowed per
cassette); the station and the lot book are given to it.

After each cassette: a positive reading blocks the lot at once (``blocked_positive`` is
queued for the supervisor before the screen changes, and no further strip is spent); a suspect
or invalid reading asks for a re-test of those analytes with a new strip, at most
``station.max_retests`` times, after which the lot is ``blocked_unresolved``; when every
analyte is negative the next cassette is prepared, or the results are shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from device_drivers import DeviceError
from protocol import Call, LotOutcome

from ..errors import DeviceFailed, GatewayError, RecordingFailed, ScoringFailed
from ..lots import LotBook
from ..scoring import ScoringError
from ..station import Progress, StripStation, TestRequest
from .lot import LotDraft, LotState
from .panel import PlannedTest


class Verdict(StrEnum):
    """What one cassette's readings mean for the lot."""

    BLOCKED = "blocked"        # a positive reading: the lot is blocked (published)
    RETEST = "retest"          # suspect or invalid: test those analytes again, new strip
    UNRESOLVED = "unresolved"  # still not negative after the re-tests allowed (published)
    NEXT = "next"              # negative: the next cassette of the panel
    PASSED = "passed"          # every cassette negative: the results, then the certificate


@dataclass(frozen=True, slots=True)
class TestRunConfig:
    __test__ = False  # not a pytest class

    max_attempts: int
    """Strips allowed per cassette of the panel: the first and the re-tests."""


class TestRun:
    """The cassettes of one lot (see the module docstring)."""

    __test__ = False  # not a pytest class

    def __init__(self, plan: Sequence[PlannedTest], lot: LotDraft, *, config: TestRunConfig,
                 station: StripStation, lots: LotBook, session_id: str,
                 producer_id: str | None, prep_steps: tuple[str, ...]) -> None:
        if not plan:
            raise ValueError("a test run needs at least one planned cassette")
        self.plan = list(plan)
        self.lot = lot
        self.config = config
        self.station = station
        self.lots = lots
        self.session_id = session_id
        self.producer_id = producer_id
        self.prep_steps = prep_steps
        self.index = 0
        self.attempt = 1
        self.analytes: tuple[str, ...] = self.plan[0].analytes
        self.prep_index = 0
        self.progress: Progress | None = None

    @property
    def planned(self) -> PlannedTest:
        return self.plan[self.index]

    @property
    def untouched(self) -> bool:
        """No strip read yet: the panel may still be changed."""
        return self.index == 0 and not self.lot.readings.reading_ids

    @property
    def attempts_left(self) -> bool:
        return self.attempt < self.config.max_attempts

    def _begin(self, attempt: int, analytes: tuple[str, ...] | None = None) -> None:
        self.attempt = attempt
        self.analytes = analytes or self.planned.analytes
        self.prep_index = 0
        self.progress = None

    # ------------------------------------------------------------------ preparation

    def next_prep(self) -> bool:
        """Show the next preparation step; False when the last one was shown."""
        if self.prep_index + 1 < len(self.prep_steps):
            self.prep_index += 1
            return True
        return False

    def previous_prep(self) -> bool:
        """Show the previous preparation step; False on the first one."""
        if self.prep_index > 0:
            self.prep_index -= 1
            return True
        return False

    # ------------------------------------------------------------------ one cassette

    async def run(self, on_progress: Callable[[Progress], None],
                  cassette_deadline: Callable[[], float]) -> Verdict:
        """Run the cassette under way through the station, record and judge its readings.

        Raises:
            StationRefused: the kit, the calibration or a device stops the test.
            CassetteTimeout: nobody put the cassette in.
            CassetteFailed: the strip is spent and gave no readings; its ``code`` says why
                (``device``, ``scoring``, ``storage``).
            StorageError: the readings were recorded but noting them on the lot (or closing
                it) failed.
        """
        self.progress = None  # until the station has taken the strip and opened the tray
        request = TestRequest(
            kit_id=self.planned.kit_id, analytes=self.analytes,
            product_code=self.lot.product_code or "", session_id=self.session_id,
            producer_id=self.producer_id, attempt=self.attempt,
        )
        try:
            result = await self.station.run(request, on_progress,
                                            cassette_deadline=cassette_deadline)
        except GatewayError:
            raise
        # Where the other packages' error trees enter the kiosk's flow: a device driver
        # (which imports nothing of ours) or the scorer failed, or a file could not be kept.
        except DeviceError as exc:
            raise DeviceFailed(str(exc)) from exc
        except ScoringError as exc:
            raise ScoringFailed(str(exc)) from exc
        except OSError as exc:
            raise RecordingFailed(str(exc)) from exc
        for recorded, score in zip(result.readings, result.scores, strict=True):
            self.lot.readings.add(recorded.reading, score.reason_codes)
        await asyncio.to_thread(self.lots.add_readings, self.session_id,
                                [r.reading.reading_id for r in result.readings])
        return await self._judge()

    async def _judge(self) -> Verdict:
        calls = self.lot.readings.calls(self.analytes)
        positive = [a for a, c in calls.items() if c is Call.POSITIVE]
        unsure = [a for a in self.analytes if calls.get(a) is not Call.NEGATIVE]
        if positive:
            await self.close(LotOutcome.BLOCKED_POSITIVE, "positive: " + ", ".join(positive))
            return Verdict.BLOCKED
        if unsure:
            if self.attempts_left:
                self.analytes = tuple(unsure)
                return Verdict.RETEST
            await self.close(LotOutcome.BLOCKED_UNRESOLVED, "not negative after re-tests: "
                             + ", ".join(f"{a} {calls[a].value}" if a in calls else a
                                         for a in unsure))
            return Verdict.UNRESOLVED
        if self.index + 1 < len(self.plan):
            self.index += 1
            self._begin(attempt=1)
            return Verdict.NEXT
        self.progress = None
        return Verdict.PASSED

    def retest(self) -> None:
        """Prepare the unresolved analytes (or the failed cassette) again, with a new strip."""
        self._begin(attempt=self.attempt + 1, analytes=self.analytes)

    async def close(self, outcome: LotOutcome, note: str) -> None:
        """Publish the lot's outcome (blocked) and close it (the book publishes nothing for a
        lot it has already closed)."""
        await asyncio.to_thread(self.lots.close, self.session_id, outcome, note=note)
        if self.lot.state.open:
            self.lot.move(LotState.CLOSED)
