"""The deployment files agree with the code: systemd runs ``current``, the guard runs from
``previous`` when (and only when) a release is on trial, and the kiosk user may manage both."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import UpdateSection
from gateway.update.trial import trial_path
from tests.gateway.update.releases import REPO, UNITS_DIR, FakeSystemd

DEFAULT_DATA_DIR = Path("/var/lib/nongan")


def test_the_kiosk_runs_current_and_calls_the_guard_when_it_keeps_failing() -> None:
    update = UpdateSection()
    argv, _, env = FakeSystemd(Path("/nonexistent"), {}).unit(update.kiosk_unit)
    assert argv[0] == f"{update.root}/current/.venv/bin/nongan"
    text = (UNITS_DIR / update.kiosk_unit).read_text()
    assert f"OnFailure={update.guard_unit}" in text
    assert env["NONGAN_PLACES_DB"].startswith(str(DEFAULT_DATA_DIR))


def test_the_guard_runs_from_previous_only_during_a_trial() -> None:
    update = UpdateSection()
    argv, condition, _ = FakeSystemd(Path("/nonexistent"), {}).unit(update.guard_unit)
    assert argv[:3] == [f"{update.root}/previous/.venv/bin/nongan", "update", "guard"]
    assert condition == trial_path(DEFAULT_DATA_DIR)


def test_the_kiosk_user_may_manage_the_nongan_units() -> None:
    rule = (REPO / "hardware" / "deploy" / "polkit" / "50-nongan-update.rules").read_text()
    update = UpdateSection()
    assert f'unit == "{update.kiosk_unit}"' in rule and f'unit == "{update.guard_unit}"' in rule
