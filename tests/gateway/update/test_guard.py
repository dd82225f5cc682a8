"""The guard's decisions, with a scripted systemd and self-check: keep, go back, and why.

The releases are folders with a ``.venv`` (the guard only moves links); the end-to-end test
runs the same guard on real releases."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway.storage import KioskDatabase
from gateway.update.errors import UpdateError
from gateway.update.guard import Guard, GuardPolicy, Verdict, selfcheck_process
from gateway.update.journal import Kind, State, UpdateJournal
from gateway.update.layout import ReleaseLayout
from gateway.update.manual import roll_back
from gateway.update.service import ServiceError, UnitStatus
from gateway.update.trial import Trial

KIOSK = "nongan-kiosk.service"


@dataclass
class ScriptedService:
    """systemd as the guard sees it. ``crash_on_start``: after a start, the service crashes
    and is restarted by systemd that many times, one per look at it (as time passes)."""

    crash_on_start: int = 0
    refuse: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    state: str = "active"
    restarts: int = 0
    _crashes: int = 0

    def _do(self, verb: str, unit: str) -> None:
        self.calls.append(f"{verb} {unit}")
        if verb in self.refuse:
            raise ServiceError(f"systemctl {verb} {unit} failed: Access denied")

    def start(self, unit: str, *, no_block: bool = False) -> None:
        self._do("start", unit)
        self.state, self.restarts, self._crashes = "active", 0, self.crash_on_start

    def stop(self, unit: str) -> None:
        self._do("stop", unit)
        self.state = "inactive"

    def restart(self, unit: str) -> None:
        self._do("restart", unit)
        self.state, self.crash_on_start, self._crashes = "active", 0, 0

    def status(self, unit: str) -> UnitStatus:
        if self._crashes and self.calls[-1] != f"start {unit}":
            self._crashes -= 1
            self.restarts += 1
            self.state = "activating"
        self.calls.append(f"status {unit}")
        return UnitStatus(self.state, self.restarts)


@dataclass
class Setup:
    layout: ReleaseLayout
    journal: UpdateJournal
    trial_file: Path
    service: ScriptedService
    checked: list[str]

    def guard(self, verdict: Verdict, **policy: float) -> Guard:
        def selfcheck(version: str, timeout_s: float) -> Verdict:
            self.checked.append(version)
            return verdict

        return Guard(layout=self.layout, journal=self.journal, service=self.service,  # type: ignore[arg-type]
                     trial_file=self.trial_file, selfcheck=selfcheck,
                     policy=GuardPolicy(**{"settle_s": 0.0, "poll_s": 0.0, **policy}),
                     sleep=lambda s: None)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    layout = ReleaseLayout(tmp_path / "opt")
    for version in ("0.1.0", "0.2.0", "0.3.0"):
        (layout.venv(version) / "bin").mkdir(parents=True)
    db = KioskDatabase(tmp_path / "kiosk.db")
    journal = UpdateJournal(db)
    # 0.2.0 runs (previous 0.1.0); the updater has just switched to 0.3.0.
    layout.switch_to("0.3.0", previous="0.2.0")
    for state in (State.DOWNLOADING, State.DOWNLOADED, State.STAGED, State.SWITCHED):
        journal.record("sw-1", Kind.SOFTWARE, state, version="0.3.0", from_version="0.2.0")
    trial_file = tmp_path / "updates" / "trial.json"
    Trial("sw-1", "0.3.0", "0.2.0", "0.1.0", "2026-11-24T00:00:00+00:00").save(trial_file)
    yield Setup(layout, journal, trial_file, ScriptedService(), [])
    db.close()


def _last(setup: Setup) -> tuple[State, str]:
    entry = setup.journal.last("sw-1")
    assert entry is not None
    return entry.state, entry.reason


def test_a_healthy_release_is_kept_and_older_ones_deleted(setup: Setup) -> None:
    outcome = setup.guard(Verdict(True, "self-check passed")).run()
    assert outcome.state is State.HEALTHY
    assert (setup.layout.current(), setup.layout.previous()) == ("0.3.0", "0.2.0")
    assert setup.layout.installed() == ["0.2.0", "0.3.0"], "0.1.0 is no longer needed"
    assert [c for c in setup.service.calls if not c.startswith("status")] == [
        f"stop {KIOSK}", f"start {KIOSK}"]
    assert not setup.trial_file.exists()
    assert _last(setup)[0] is State.HEALTHY


def test_a_failed_self_check_goes_back_with_the_reason(setup: Setup) -> None:
    outcome = setup.guard(Verdict(False, "self-check failed: camera: not found")).run()
    assert outcome.state is State.ROLLED_BACK
    assert (setup.layout.current(), setup.layout.previous()) == ("0.2.0", "0.1.0")
    assert "0.3.0" not in setup.layout.installed()
    assert [c for c in setup.service.calls if not c.startswith("status")] == [
        f"stop {KIOSK}", f"restart {KIOSK}"]
    assert _last(setup) == (State.ROLLED_BACK, "self-check failed: camera: not found")
    assert not setup.trial_file.exists()


def test_a_kiosk_that_crashes_on_the_new_release_goes_back(setup: Setup) -> None:
    setup.service.crash_on_start = 2
    outcome = setup.guard(Verdict(True, "ok"), settle_s=5.0).run()
    assert outcome.state is State.ROLLED_BACK
    assert "crashed on the new release" in outcome.reason and "1 restart(s)" in outcome.reason
    assert setup.layout.current() == "0.2.0"


def test_a_release_out_of_attempts_goes_back_without_another_check(setup: Setup) -> None:
    """Power cuts during each check: after max_attempts boots the guard gives up on it."""
    for _ in range(2):
        trial = Trial.load(setup.trial_file)
        assert trial is not None
        trial.attempts += 1
        trial.save(setup.trial_file)
    outcome = setup.guard(Verdict(True, "ok"), max_attempts=2).run()
    assert outcome.state is State.ROLLED_BACK and setup.checked == []
    assert "not confirmed healthy after 2 attempt(s)" in outcome.reason


def test_a_switch_cut_short_is_undone(setup: Setup) -> None:
    """The power went between the trial marker and the link: current is still 0.2.0."""
    setup.layout.switch_to("0.2.0", previous="0.2.0")
    outcome = setup.guard(Verdict(True, "ok")).run()
    assert outcome.state is State.FAILED and "cut short" in outcome.reason
    assert (setup.layout.current(), setup.layout.previous()) == ("0.2.0", "0.1.0")
    assert setup.checked == [] and "0.3.0" not in setup.layout.installed()


def test_no_trial_nothing_to_do(setup: Setup) -> None:
    setup.trial_file.unlink()
    outcome = setup.guard(Verdict(False, "never asked")).run()
    assert outcome.state is None and setup.service.calls == []


def test_when_the_old_release_does_not_come_up_either_it_says_so(setup: Setup) -> None:
    setup.service.refuse = {"restart"}
    outcome = setup.guard(Verdict(False, "self-check failed: x")).run()
    assert outcome.state is State.ROLLED_BACK
    assert "restarting the kiosk on 0.2.0 failed" in outcome.reason
    assert setup.layout.current() == "0.2.0"


def test_a_release_whose_nongan_is_missing_cannot_start(setup: Setup, tmp_path: Path) -> None:
    verdict = selfcheck_process(setup.layout, tmp_path / "gateway.toml")("0.3.0", 5.0)
    assert not verdict.passed and "cannot start" in verdict.reason


def test_rolling_back_by_hand_and_forward_again(setup: Setup) -> None:
    setup.guard(Verdict(True, "ok")).run()  # 0.3.0 kept
    service = ScriptedService()
    result = roll_back(setup.layout, setup.journal, trial_file=setup.trial_file,
                       reason="receipts print blank", service=service,  # type: ignore[arg-type]
                       kiosk_unit=KIOSK)
    assert (result.from_version, result.to_version) == ("0.3.0", "0.2.0")
    assert (setup.layout.current(), setup.layout.previous()) == ("0.2.0", "0.3.0")
    assert service.calls == [f"restart {KIOSK}"]
    assert _last(setup) == (State.ROLLED_BACK, "by hand: receipts print blank")
    roll_back(setup.layout, setup.journal, trial_file=setup.trial_file, reason="fixed",
              service=None, kiosk_unit=KIOSK)
    assert (setup.layout.current(), setup.layout.previous()) == ("0.3.0", "0.2.0")


def test_no_rollback_by_hand_during_a_trial(setup: Setup) -> None:
    with pytest.raises(UpdateError, match="on trial"):
        roll_back(setup.layout, setup.journal, trial_file=setup.trial_file, reason="x",
                  service=None, kiosk_unit=KIOSK)
    assert setup.layout.current() == "0.3.0"
