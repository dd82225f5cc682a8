"""The guard: proves a switched release healthy within a time limit, or goes back by itself.

It runs as its own systemd unit (``nongan-update-guard.service``) from the **previous**
release's environment — the known-good code — so a new release that cannot even start cannot
stop its own rollback. One run:

1. reads the trial (``trial.json``); none: nothing to do. Counts the attempt; a release out of
   attempts is rolled back at once;
2. if ``current`` does not point at the release on trial, the switch was cut short: the links
   are put back and the update is marked failed;
3. stops the kiosk service (freeing the devices), runs the new release's ``nongan update
   selfcheck`` (``selfcheck``: devices, a test reading, the link) within what is left of
   ``update.health_timeout_s``;
4. starts the kiosk service on the new release and watches it for ``update.settle_s``: it
   must stay active without restarting;
5. all well: the update is ``healthy``, the trial ends, old releases beyond previous are
   deleted. Anything else: ``current`` and ``previous`` go back, the failed release is
   deleted, the kiosk service is started on the old release, and the journal says why.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .journal import Kind, State, UpdateJournal
from .layout import LayoutError, ReleaseLayout
from .service import ServiceControl, ServiceError
from .trial import Trial

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuardPolicy:
    health_timeout_s: float = 300.0
    settle_s: float = 30.0
    max_attempts: int = 2
    kiosk_unit: str = "nongan-kiosk.service"
    poll_s: float = 1.0


@dataclass(frozen=True)
class Verdict:
    """What the new release's self-check said."""

    passed: bool
    reason: str
    report: dict[str, Any] | None = None


@dataclass(frozen=True)
class GuardOutcome:
    """A guard run's result: ``state`` is None when there was no trial."""

    state: State | None
    version: str | None
    reason: str


SelfCheck = Callable[[str, float], Verdict]


def selfcheck_process(layout: ReleaseLayout, config: Path) -> SelfCheck:
    """Run the release's own ``nongan update selfcheck`` as a process."""

    def run(version: str, timeout_s: float) -> Verdict:
        args = [str(layout.nongan(version)), "update", "selfcheck", "--config", str(config),
                "--json", "--expect-version", version]
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s,
                                    check=False)
        except subprocess.TimeoutExpired:
            return Verdict(False, f"the new release's self-check did not finish within "
                                  f"{timeout_s:.0f} s")
        except OSError as exc:
            return Verdict(False, f"the new release cannot start: {exc}")
        report = _json_tail(result.stdout)
        if report is None:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            return Verdict(False, f"the new release did not start (exit {result.returncode}): "
                                  f"{' / '.join(tail) or 'no output'}")
        failed = [c for c in report.get("checks", []) if c.get("status") == "fault"]
        if result.returncode == 0 and not failed:
            return Verdict(True, "self-check passed", report)
        words = "; ".join(f"{c.get('name')}: {c.get('detail')}" for c in failed) or \
            f"exit {result.returncode}"
        return Verdict(False, f"self-check failed: {words}", report)

    return run


def _json_tail(out: str) -> dict[str, Any] | None:
    start = out.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(out[start:])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Guard:
    """One guard run (see the module docstring).

    Args:
        layout: the releases.
        journal: the update journal.
        service: systemd.
        trial_file: ``{data_dir}/updates/trial.json``.
        selfcheck: runs a release's self-check (``selfcheck_process``).
        policy: time limits, attempts, the kiosk's unit.
    """

    def __init__(self, *, layout: ReleaseLayout, journal: UpdateJournal,
                 service: ServiceControl, trial_file: Path, selfcheck: SelfCheck,
                 policy: GuardPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.layout = layout
        self.journal = journal
        self.service = service
        self.trial_file = trial_file
        self.selfcheck = selfcheck
        self.policy = policy or GuardPolicy()
        self._sleep = sleep
        self._now = monotonic

    def run(self) -> GuardOutcome:
        trial = Trial.load(self.trial_file)
        if trial is None:
            return GuardOutcome(None, None, "no release on trial")
        deadline = self._now() + self.policy.health_timeout_s
        trial.attempts += 1
        trial.save(self.trial_file)
        if self.layout.current() != trial.version:
            return self._interrupted(trial)
        if trial.attempts > self.policy.max_attempts:
            return self._roll_back(trial, f"not confirmed healthy after {trial.attempts - 1} "
                                          "attempt(s): the kiosk restarted during each check")
        try:
            self.service.stop(self.policy.kiosk_unit)
        except ServiceError as exc:
            return self._roll_back(trial, f"could not stop the kiosk for the check: {exc}")
        left = deadline - self._now() - self.policy.settle_s
        verdict = self.selfcheck(trial.version, max(left, 1.0))
        if not verdict.passed:
            return self._roll_back(trial, verdict.reason, verdict.report)
        problem = self._start_and_watch(deadline)
        if problem is not None:
            return self._roll_back(trial, problem, verdict.report)
        self.journal.record(trial.update_id, Kind.SOFTWARE, State.HEALTHY, version=trial.version,
                            from_version=trial.from_version,
                            reason=f"self-check passed and the kiosk ran "
                                   f"{self.policy.settle_s:.0f} s without a restart",
                            detail={"attempts": trial.attempts})
        self.trial_file.unlink(missing_ok=True)
        try:
            gone = self.layout.prune()
            if gone:
                log.info("deleted old release(s): %s", ", ".join(gone))
        except (OSError, LayoutError) as exc:  # disk space comes back next time
            log.warning("could not delete old releases: %s", exc)
        return GuardOutcome(State.HEALTHY, trial.version, "healthy")

    def _start_and_watch(self, deadline: float) -> str | None:
        unit = self.policy.kiosk_unit
        try:
            self.service.start(unit)
            # A manual start resets systemd's restart counter: count from here.
            before = self.service.status(unit)
        except ServiceError as exc:
            return f"the kiosk service did not start on the new release: {exc}"
        settle_until = self._now() + self.policy.settle_s
        while True:
            try:
                status = self.service.status(unit)
            except ServiceError as exc:
                return f"cannot watch the kiosk service: {exc}"
            if status.n_restarts > before.n_restarts or status.active_state == "failed":
                return (f"the kiosk service crashed on the new release (state "
                        f"{status.active_state}, {status.n_restarts - before.n_restarts} "
                        "restart(s))")
            if self._now() >= settle_until:
                break
            if self._now() >= deadline:
                return "the time limit ran out while watching the kiosk service"
            self._sleep(min(self.policy.poll_s, max(settle_until - self._now(), 0.0)))
        if not status.active:
            return f"the kiosk service is {status.active_state} on the new release"
        return None

    def _interrupted(self, trial: Trial) -> GuardOutcome:
        reason = "the switch was cut short (power cut?): the kiosk stayed on " \
                 f"{self.layout.current()}"
        self._restore_links(trial)
        self.journal.record(trial.update_id, Kind.SOFTWARE, State.FAILED, version=trial.version,
                            from_version=trial.from_version, reason=reason)
        self._forget(trial)
        return GuardOutcome(State.FAILED, trial.version, reason)

    def _restore_links(self, trial: Trial) -> None:
        restore = trial.restore_previous
        if restore is not None and restore not in self.layout.installed():
            restore = None
        self.layout.switch_to(trial.from_version, restore)

    def _forget(self, trial: Trial) -> None:
        self.trial_file.unlink(missing_ok=True)
        try:
            self.layout.remove(trial.version)
        except (OSError, LayoutError) as exc:
            log.warning("could not delete the failed release %s: %s", trial.version, exc)

    def _roll_back(self, trial: Trial, reason: str,
                   report: dict[str, Any] | None = None) -> GuardOutcome:
        log.error("rolling back %s to %s: %s", trial.version, trial.from_version, reason)
        self._restore_links(trial)
        try:
            self.service.restart(self.policy.kiosk_unit)
            if self.policy.settle_s:
                self._sleep(min(self.policy.settle_s, 5.0))
            back = self.service.status(self.policy.kiosk_unit)
            if not back.active:
                reason += f"; the previous release {trial.from_version} is " \
                          f"{back.active_state} too: a technician must look"
        except ServiceError as exc:
            reason += f"; restarting the kiosk on {trial.from_version} failed: {exc}"
        detail: dict[str, Any] = {"attempts": trial.attempts}
        if report is not None:
            detail["checks"] = [c for c in report.get("checks", [])
                                if c.get("status") == "fault"]
        self.journal.record(trial.update_id, Kind.SOFTWARE, State.ROLLED_BACK,
                            version=trial.version, from_version=trial.from_version,
                            reason=reason, detail=detail)
        self._forget(trial)
        return GuardOutcome(State.ROLLED_BACK, trial.version, reason)
