"""``Updater.apply``: what it refuses (and that nothing changes then), never in the middle of a
farmer's session, and going back at once when nobody would check the new release."""

from __future__ import annotations

import asyncio
import fcntl
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.session import Step
from gateway.update.idle import KioskSessionIdle
from gateway.update.journal import State
from gateway.update.kiosk import build_updater
from gateway.update.release import BuiltBundle
from gateway.update.trial import Trial, trial_path
from gateway.update.updater import UpdateOutcome, UpdatePolicy
from protocol import generate_private_key
from tests.gateway.session_helpers import ready_gateway, wait_step
from tests.gateway.update.conftest import Kiosk, make_kiosk
from tests.gateway.update.releases import WheelFactory, make_bundle
from tests.gateway.update.test_bundle import _members, _rewrite, tiny_wheel
from tests.support.range_server import RangeServer, range_server

GUARD = "nongan-update-guard.service"


def _snapshot(kiosk: Kiosk) -> dict[str, Any]:
    """Everything an update may change on the kiosk (but the journal)."""
    layout = kiosk.layout
    return {"current": layout.current(), "previous": layout.previous(),
            "releases": sorted(p.name for p in layout.releases.iterdir()),
            "trial": trial_path(kiosk.data_dir).exists(),
            "guard_started": kiosk.systemd.started(GUARD)}


def _apply(kiosk: Kiosk, server: RangeServer, bundle: BuiltBundle | Path,
           sha: str | None = None, running: str = "0.1.0", **kwargs: Any) -> UpdateOutcome:
    path = bundle if isinstance(bundle, Path) else bundle.path
    server.files[f"/{path.name}"] = path.read_bytes()
    sha = sha or (bundle.manifest_sha256 if isinstance(bundle, BuiltBundle) else "")
    updater = build_updater(kiosk.settings, kiosk.db, running_version=running)
    return asyncio.run(updater.apply(server.url(f"/{path.name}"), sha, **kwargs))


def _refused(kiosk: Kiosk, server: RangeServer, bundle: BuiltBundle | Path, match: str,
             **kwargs: Any) -> None:
    before = _snapshot(kiosk)
    outcome = _apply(kiosk, server, bundle, **kwargs)
    assert outcome.state is State.REFUSED, outcome
    assert match in outcome.reason, outcome.reason
    entry = kiosk.journal.last(outcome.update_id)
    assert entry is not None and entry.state is State.REFUSED and match in entry.reason
    assert _snapshot(kiosk) == before, "a refused bundle changes nothing"
    downloads = kiosk.data_dir / "updates" / "downloads"
    assert not downloads.exists() or not any(downloads.iterdir()), \
        "a refused download is not kept"


@pytest.fixture
def server() -> Any:
    with range_server() as s:
        yield s


def _tiny_bundle(tmp_path: Path, key: Ed25519PrivateKey, version: str, **options: Any
                 ) -> BuiltBundle:
    return make_bundle(tiny_wheel(tmp_path / f"w-{version}", version), key,
                       tmp_path / f"dist-{version}", **options)


def test_a_tampered_bundle_is_refused_and_nothing_changes(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey,
        tmp_path: Path) -> None:
    good = _tiny_bundle(tmp_path, release_key, "0.2.0")
    members = _members(good.path)
    members["data/kits/kits.toml"] = members["data/kits/kits.toml"].replace(b"a", b"b", 1)
    tampered = _rewrite(good.path, members, tmp_path / "tampered.bundle.tar")
    _refused(kiosk, server, tampered, "data/kits/kits.toml does not match its SHA-256",
             sha=good.manifest_sha256)


def test_a_bundle_from_an_untrusted_key_is_refused(kiosk: Kiosk, server: RangeServer,
                                                   tmp_path: Path) -> None:
    foreign = _tiny_bundle(tmp_path, generate_private_key(), "0.2.0")
    _refused(kiosk, server, foreign, "which this kiosk does not trust")


def test_another_manifest_than_the_commanded_one_is_refused(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey,
        tmp_path: Path) -> None:
    bundle = _tiny_bundle(tmp_path, release_key, "0.2.0")
    _refused(kiosk, server, bundle, "not the one the command named", sha="ab" * 32)


@pytest.mark.parametrize(("version", "options", "kwargs", "reason"), [
    ("0.0.9", {}, {}, "0.0.9 is older than the running 0.1.0"),
    ("0.1.0", {}, {}, "this kiosk already runs 0.1.0"),
    ("0.3.0", {"min_compatible": "0.2.0"}, {},
     "0.3.0 may replace only 0.2.0 to 0.3.0, and this kiosk runs 0.1.0"),
    ("0.2.0", {}, {"expected_version": "0.2.1"}, "the command asked for 0.2.1"),
])
def test_a_version_this_kiosk_may_not_move_to_is_refused(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey, tmp_path: Path,
        version: str, options: dict[str, str], kwargs: dict[str, str], reason: str) -> None:
    _refused(kiosk, server, _tiny_bundle(tmp_path, release_key, version, **options), reason,
             **kwargs)


def test_a_release_for_another_python_is_refused(kiosk: Kiosk, server: RangeServer,
                                                 release_key: Ed25519PrivateKey,
                                                 tmp_path: Path) -> None:
    wheel = tmp_path / "w" / "nongan-0.2.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as whl:
        whl.writestr("nongan-0.2.0.dist-info/METADATA",
                     "Metadata-Version: 2.1\nName: nongan\nVersion: 0.2.0\n"
                     "Requires-Python: >=3.99\n")
    bundle = make_bundle(wheel, release_key, tmp_path / "dist")
    _refused(kiosk, server, bundle, "needs Python >=3.99")


def test_a_manifest_hash_that_is_not_one_is_refused_before_downloading(
        kiosk: Kiosk, server: RangeServer) -> None:
    updater = build_updater(kiosk.settings, kiosk.db, running_version="0.1.0")
    outcome = asyncio.run(updater.apply(server.url("/b.tar"), "../../../etc/passwd"))
    assert outcome.state is State.REFUSED and "is not a SHA-256" in outcome.reason
    assert server.requests == []


def test_a_kiosk_not_installed_as_releases_refuses_before_downloading(
        tmp_path: Path, release_key: Ed25519PrivateKey, server: RangeServer) -> None:
    kiosk = make_kiosk(tmp_path, release_key, adopt=None)
    try:
        outcome = _apply(kiosk, server, _tiny_bundle(tmp_path, release_key, "0.2.0"))
    finally:
        kiosk.db.close()
    assert outcome.state is State.REFUSED and "nongan update adopt" in outcome.reason
    assert server.requests == []


def test_an_update_while_another_is_on_trial_is_refused(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey,
        tmp_path: Path) -> None:
    Trial("sw-x", "0.1.5", "0.1.0", None, "2026-11-24T00:00:00+00:00").save(
        trial_path(kiosk.data_dir))
    _refused(kiosk, server, _tiny_bundle(tmp_path, release_key, "0.2.0"),
             "the previous update is still being checked")


def test_one_update_at_a_time(kiosk: Kiosk, server: RangeServer,
                              release_key: Ed25519PrivateKey, tmp_path: Path) -> None:
    lock = kiosk.data_dir / "updates" / "lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        outcome = _apply(kiosk, server, _tiny_bundle(tmp_path, release_key, "0.2.0"))
    assert outcome.state is State.FAILED and "another update is in progress" in outcome.reason
    assert server.requests == []


def test_a_bundle_that_cannot_be_installed_here_fails_and_nothing_changes(
        tmp_path: Path, release_key: Ed25519PrivateKey, server: RangeServer,
        wheels: WheelFactory) -> None:
    kiosk = make_kiosk(tmp_path, release_key, host_site_packages=None)
    try:
        before = _snapshot(kiosk)
        outcome = _apply(kiosk, server, make_bundle(wheels.wheel("0.2.0"), release_key,
                                                    tmp_path / "dist"))
        assert outcome.state is State.FAILED, outcome
        assert "carries no dependency wheels" in outcome.reason
        assert _snapshot(kiosk) == before
        states = [e.state for e in reversed(kiosk.journal.history(outcome.update_id))]
        assert states == [State.DOWNLOADING, State.DOWNLOADED, State.FAILED]
    finally:
        kiosk.db.close()


async def _until(predicate: Any, timeout_s: float = 120.0) -> None:
    """Wait for a condition on other threads' work (the updater's idle polls)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - no event to wait on: the updater polls
            await asyncio.sleep(0.05)


class CountingIdle(KioskSessionIdle):
    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.busy_answers = 0

    def is_idle(self) -> bool:
        idle = super().is_idle()
        self.busy_answers += not idle
        return idle


def test_an_update_during_a_session_waits_until_the_kiosk_is_idle(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey, tmp_path: Path,
        wheels: WheelFactory) -> None:
    bundle = make_bundle(wheels.wheel("0.2.0"), release_key, tmp_path / "dist")
    server.files["/b.tar"] = bundle.path.read_bytes()
    gateway = ready_gateway(tmp_path / "screen")

    async def scenario() -> UpdateOutcome:
        session = gateway.session
        await session.start()
        await wait_step(session, Step.IDENTIFY)  # a farmer is identifying
        idle = CountingIdle(session)
        updater = build_updater(kiosk.settings, kiosk.db, idle=idle, running_version="0.1.0")
        updater.policy = UpdatePolicy(quiet_s=0.3, idle_poll_s=0.02, idle_timeout_s=600)
        task = asyncio.create_task(updater.apply(server.url("/b.tar"),
                                                 bundle.manifest_sha256))
        await _until(lambda: idle.busy_answers >= 20)  # asked again and again while busy
        last = kiosk.journal.last(kiosk.journal.history(limit=1)[0].update_id)
        assert last is not None and last.state is State.STAGED
        assert kiosk.layout.current() == "0.1.0" and kiosk.systemd.started(GUARD) == 0
        assert not task.done()
        await session.cancel()  # the farmer leaves
        return await asyncio.wait_for(task, 60)

    try:
        outcome = asyncio.run(scenario())
    finally:
        gateway.close()
    assert outcome.state is State.SWITCHED, outcome.reason
    assert kiosk.layout.current() == "0.2.0" and kiosk.systemd.started(GUARD) == 1


def test_never_idle_gives_up_and_keeps_the_staged_release(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey, tmp_path: Path,
        wheels: WheelFactory) -> None:
    bundle = make_bundle(wheels.wheel("0.2.0"), release_key, tmp_path / "dist")
    server.files["/b.tar"] = bundle.path.read_bytes()

    class Busy:
        def is_idle(self) -> bool:
            return False

    updater = build_updater(kiosk.settings, kiosk.db, idle=Busy(), running_version="0.1.0")
    updater.policy = UpdatePolicy(quiet_s=0, idle_poll_s=0.01, idle_timeout_s=0.3)
    outcome = asyncio.run(updater.apply(server.url("/b.tar"), bundle.manifest_sha256))
    assert outcome.state is State.FAILED and "never idle" in outcome.reason
    assert kiosk.layout.current() == "0.1.0"
    assert (kiosk.layout.releases / "0.2.0" / ".venv").exists(), "stays installed"
    # Applying again finds the bundle on disk and the release installed: nothing is
    # downloaded or installed twice.
    marker = kiosk.layout.venv("0.2.0") / "staged-by-the-first-attempt"
    marker.touch()
    updater.idle = type("Idle", (), {"is_idle": lambda self: True})()
    again = asyncio.run(updater.apply(server.url("/b.tar"), bundle.manifest_sha256))
    assert again.state is State.SWITCHED, again.reason
    assert len(server.requests) == 1
    assert marker.exists()


def test_switched_back_at_once_when_the_guard_cannot_start(
        kiosk: Kiosk, server: RangeServer, release_key: Ed25519PrivateKey, tmp_path: Path,
        wheels: WheelFactory) -> None:
    kiosk.systemd.set_state(refuse={GUARD: "Access denied"})
    bundle = make_bundle(wheels.wheel("0.2.0"), release_key, tmp_path / "dist")
    outcome = _apply(kiosk, server, bundle)
    assert outcome.state is State.ROLLED_BACK
    assert "could not be started" in outcome.reason and "Access denied" in outcome.reason
    assert (kiosk.layout.current(), kiosk.layout.previous()) == ("0.1.0", None)
    assert not trial_path(kiosk.data_dir).exists()
