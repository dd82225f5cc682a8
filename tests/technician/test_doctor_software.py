"""The doctor's software area: versions, releases, a release on trial or staged, and how the
last software and firmware updates ended (with the reason when they did not go well)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from gateway.storage import KioskDatabase
from gateway.technician.check_software import software_checks
from gateway.technician.report import Check, Status
from gateway.update.journal import Kind, State, UpdateJournal
from gateway.update.layout import ReleaseLayout
from gateway.update.trial import Trial, trial_path
from gateway.update.version import software_version
from nongan.cli import main
from protocol import generate_private_key, public_key_text
from tests.technician.conftest import settings_file

RUNNING = software_version()
REPO = Path(__file__).resolve().parents[2]


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def _kiosk(tmp_path: Path, *, keys: bool = True, adopt: bool = True
           ) -> tuple[Path, GatewaySettings, ReleaseLayout, KioskDatabase]:
    update = {"root": str(tmp_path / "opt"),
              "release_keys": [public_key_text(generate_private_key())] if keys else []}
    config, settings = settings_file(tmp_path, update=update)
    layout = ReleaseLayout(tmp_path / "opt")
    if adopt:
        layout.adopt(RUNNING, REPO)
    return config, settings, layout, KioskDatabase(settings.device.data_dir / "kiosk.db")


def test_a_checkout_without_releases(tmp_path: Path) -> None:
    _, settings, _, db = _kiosk(tmp_path, keys=False, adopt=False)
    try:
        nongan = _by_name(software_checks(settings, db))["nongan"]
    finally:
        db.close()
    assert nongan.status is Status.OK and "not installed as releases" in nongan.detail


def test_a_kiosk_meant_for_updates_but_not_installed_as_releases(tmp_path: Path) -> None:
    _, settings, _, db = _kiosk(tmp_path, adopt=False)
    try:
        nongan = _by_name(software_checks(settings, db))["nongan"]
    finally:
        db.close()
    assert nongan.status is Status.WARNING and "nongan update adopt" in nongan.fix


def test_releases_a_trial_a_staged_release_and_the_last_outcomes(tmp_path: Path) -> None:
    _, settings, layout, db = _kiosk(tmp_path)
    try:
        for v in ("0.3.0", "0.4.0"):
            (layout.venv(v) / "bin").mkdir(parents=True)
        journal = UpdateJournal(db)
        for state in (State.DOWNLOADING, State.DOWNLOADED, State.STAGED, State.SWITCHED):
            journal.record("sw-1", Kind.SOFTWARE, state, version="0.3.0",
                           from_version=RUNNING)
        journal.record("sw-1", Kind.SOFTWARE, State.ROLLED_BACK, version="0.3.0",
                       from_version=RUNNING, reason="self-check failed: camera: not found")
        journal.record("fw-1", Kind.FIRMWARE, State.VERIFIED, version="1.2.0")
        journal.record("fw-1", Kind.FIRMWARE, State.RESTORED, version="1.2.0",
                       from_version="1.0.0", reason="no hello; the board runs 1.0.0 again")
        checks = _by_name(software_checks(settings, db))
        nongan = checks["nongan"]
        assert nongan.status is Status.OK
        assert f"{RUNNING} (release {RUNNING}; previous none); 1 release key(s)" in nongan.detail
        last = checks["last update"]
        assert last.status is Status.WARNING
        assert "0.3.0 rolled back" in last.detail and "camera: not found" in last.detail
        assert f"runs {RUNNING} again" in last.fix
        fw = checks["last firmware update"]
        assert fw.status is Status.WARNING and "firmware 1.2.0 restored" in fw.detail
        assert "0.3.0, 0.4.0 installed, not switched to" in checks["staged release"].detail
        Trial("sw-2", "0.4.0", RUNNING, None, "2026-11-24T10:00:00+00:00", 1).save(
            trial_path(settings.device.data_dir))
        checks = _by_name(software_checks(settings, db))
        assert checks["release on trial"].status is Status.WARNING
        assert "0.4.0 since 2026-11-24T10:00:00 (attempt 1)" in checks["release on trial"].detail
        assert "0.3.0 installed" in checks["staged release"].detail
        journal.record("fw-2", Kind.FIRMWARE, State.VERIFIED, version="1.3.0")
        journal.record("fw-2", Kind.FIRMWARE, State.FAILED, version="1.3.0",
                       reason="the board does not answer")
        fw = _by_name(software_checks(settings, db))["last firmware update"]
        assert fw.status is Status.FAULT and "nongan firmware deploy" in fw.fix
    finally:
        db.close()


def test_the_doctor_command_shows_the_software_area(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config, _, _, db = _kiosk(tmp_path)
    db.close()
    main(["doctor", "--config", str(config), "--json", "--no-broker"])
    report = json.loads(capsys.readouterr().out)
    areas = [c["area"] for c in report["checks"]]
    assert areas.index("software") > areas.index("devices")
    assert {"nongan", "last update"} <= {c["name"] for c in report["checks"]
                                         if c["area"] == "software"}


def test_update_status_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, _, _, db = _kiosk(tmp_path)
    UpdateJournal(db).record("sw-1", Kind.SOFTWARE, State.REFUSED, version="?",
                             reason="bad signature on the manifest")
    db.close()
    assert main(["update", "status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"current:   {RUNNING}" in out and "bad signature on the manifest" in out
    assert main(["update", "status", "--config", str(config), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last"]["software"]["state"] == "refused"
    assert status["firmware_shipped"] == "1.0.0"
