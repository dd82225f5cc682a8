"""A kiosk updates itself through three built releases, in real virtual environments.

The kiosk starts on this checkout (release 0.1.0, adopted). Releases 0.2.0, 0.3.0 and 0.3.1 are
wheels built from copies of the checkout, signed into bundles and served over HTTP. Each is
installed in its own virtual environment (layered over this test environment's dependencies),
``current`` is switched, and the guard — run as its systemd unit says, from the previous
release — runs the new release's own self-check (simulated devices, the calibration card read
through the whole analysis, the broker of a private Mosquitto):

- 0.2.0 passes and is kept (its download is cut off once, and resumed);
- 0.3.0, whose calibration limits are broken, fails its card reading and the kiosk goes back
  to 0.2.0 by itself, with the reason in the journal;
- 0.3.1, which cannot even start, goes back too.

0.3.0 and 0.3.1 are applied by 0.2.0's own ``nongan update apply``, as the running kiosk would.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.storage import KioskDatabase
from gateway.technician.check_software import software_checks
from gateway.technician.report import Status
from gateway.update.journal import Kind, State
from gateway.update.kiosk import build_updater
from tests.gateway.update.conftest import Kiosk, make_kiosk
from tests.gateway.update.releases import WheelFactory, make_bundle
from tests.support.mosquitto import Mosquitto
from tests.support.range_server import range_server

GUARD = "nongan-update-guard.service"
KIOSK = "nongan-kiosk.service"
BAD_FOCUS = {"gateway/technician/measure.py": ("max_edge_px: float = 5.0",
                                               "max_edge_px: float = 0.5")}
CANNOT_START = {"nongan/cli.py": ("def build_parser()",
                                  'raise RuntimeError("this build cannot start")\n\n\n'
                                  "def build_parser()")}


def _apply_with(kiosk: Kiosk, version: str, url: str, manifest_sha256: str
                ) -> subprocess.CompletedProcess[str]:
    """``nongan update apply`` of the installed release ``version`` (the running kiosk)."""
    return subprocess.run(
        [str(kiosk.layout.nongan(version)), "update", "apply", "--config", str(kiosk.config),
         "--url", url, "--manifest-sha256", manifest_sha256],
        capture_output=True, text=True, timeout=300, check=False)


def _states(kiosk: Kiosk, update_id: str) -> list[State]:
    return [e.state for e in reversed(kiosk.journal.history(update_id))]


@pytest.mark.mosquitto
def test_kept_when_healthy_rolled_back_by_itself_when_not(
        tmp_path: Path, release_key: Ed25519PrivateKey, wheels: WheelFactory,
        mosquitto: Mosquitto) -> None:
    kiosk = make_kiosk(tmp_path, release_key, broker_url=mosquitto.url, require_link=True)
    dist = tmp_path / "dist"
    b = make_bundle(wheels.wheel("0.2.0"), release_key, dist)
    c = make_bundle(wheels.wheel("0.3.0", BAD_FOCUS, name="0.3.0-bad-focus"), release_key, dist)
    d = make_bundle(wheels.wheel("0.3.1", CANNOT_START, name="0.3.1-cannot-start"),
                    release_key, dist)
    files = {f"/releases/{x.path.name}": x.path.read_bytes() for x in (b, c, d)}
    try:
        with range_server(files) as server:
            # 0.1.0 (this checkout, in this process) installs 0.2.0; the link drops once.
            server.cuts[f"/releases/{b.path.name}"] = [b.size // 3]
            updater = build_updater(kiosk.settings, kiosk.db, running_version="0.1.0")
            outcome = asyncio.run(updater.apply(server.url(f"/releases/{b.path.name}"),
                                                b.manifest_sha256))
            assert outcome.state is State.SWITCHED, outcome.reason
            assert (kiosk.layout.current(), kiosk.layout.previous()) == ("0.2.0", "0.1.0")
            assert [c_ for c_ in kiosk.systemd.calls() if c_["unit"] == GUARD] == [
                {"verb": "start", "unit": GUARD, "flags": ["--no-block"]}]
            guard = kiosk.systemd.run_unit(GUARD)  # from previous: 0.1.0
            assert guard is not None, "the trial marker starts the guard"
            assert guard.returncode == 0, guard.stdout + guard.stderr
            assert _states(kiosk, outcome.update_id) == [
                State.DOWNLOADING, State.DOWNLOADED, State.STAGED, State.SWITCHED, State.HEALTHY]
            downloaded = next(e for e in kiosk.journal.history(outcome.update_id)
                              if e.state is State.DOWNLOADED)
            assert downloaded.detail["attempts"] == 2
            assert server.requests[1].range == f"bytes={b.size // 3}-"
            assert server.requests[1].status == 206
            assert kiosk.systemd.started(KIOSK) == 1
            assert (kiosk.layout.current(), kiosk.layout.previous()) == ("0.2.0", "0.1.0")
            assert kiosk.systemd.run_unit(GUARD) is None, "no trial left: the unit is skipped"

            # 0.2.0 installs 0.3.0, whose calibration limits are broken.
            applied = _apply_with(kiosk, "0.2.0", server.url(f"/releases/{c.path.name}"),
                                  c.manifest_sha256)
            assert applied.returncode == 0, applied.stdout + applied.stderr
            assert "switched" in applied.stdout
            assert (kiosk.layout.current(), kiosk.layout.previous()) == ("0.3.0", "0.2.0")
            guard = kiosk.systemd.run_unit(GUARD)  # from previous: 0.2.0
            assert guard is not None, "the trial marker starts the guard"
            assert guard.returncode == 1, guard.stdout + guard.stderr
            assert (kiosk.layout.current(), kiosk.layout.previous()) == ("0.2.0", "0.1.0")
            assert "0.3.0" not in kiosk.layout.installed()
            last = kiosk.journal.last_outcome(Kind.SOFTWARE)
            assert last is not None and last.state is State.ROLLED_BACK
            assert (last.version, last.from_version) == ("0.3.0", "0.2.0")
            assert "self-check failed" in last.reason and "focus" in last.reason, last.reason
            assert [ch["name"] for ch in last.detail["checks"]] == [
                "calibration card (simulated): focus"]
            assert kiosk.systemd.started(KIOSK) == 2, "restarted on 0.2.0"

            # 0.2.0 installs 0.3.1, which cannot even start.
            applied = _apply_with(kiosk, "0.2.0", server.url(f"/releases/{d.path.name}"),
                                  d.manifest_sha256)
            assert applied.returncode == 0, applied.stdout + applied.stderr
            guard = kiosk.systemd.run_unit(GUARD)
            assert guard is not None and guard.returncode == 1
            last = kiosk.journal.last_outcome(Kind.SOFTWARE)
            assert last is not None and last.state is State.ROLLED_BACK
            assert last.version == "0.3.1"
            assert "did not start" in last.reason and "this build cannot start" in last.reason
            assert (kiosk.layout.current(), kiosk.layout.previous()) == ("0.2.0", "0.1.0")
    finally:
        kiosk.db.close()

    # What the technician sees (the doctor's software area).
    db = KioskDatabase(kiosk.data_dir / "kiosk.db")
    try:
        last_update = {ch.name: ch for ch in software_checks(kiosk.settings, db)}["last update"]
    finally:
        db.close()
    assert last_update.status is Status.WARNING
    assert "0.3.1 rolled back" in last_update.detail and "this build cannot start" in \
        last_update.detail
    assert "runs 0.2.0 again" in last_update.fix
