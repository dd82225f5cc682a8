"""Chaos: faults in the broker, the network, the kiosk process, the cloud workers, the disk and
the clock. Each test ends by proving the cloud holds exactly the kiosk's records — none lost,
none twice — and every issued certificate with the kiosk's status.

The default run is short (CI); ``scripts/chaos`` runs them at full size (NONGAN_CHAOS_FULL=1).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloud_bridge.ingest import IngestWorker
from gateway.app import Gateway
from gateway.clock import KioskClock
from gateway.identity import DeviceIdentity
from gateway.issuance import Lot, Promisor
from gateway.storage import StorageError
from tests.chaos.harness import assert_ledgers_match, scale
from tests.chaos.kiosk_driver import issue_one
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading
from tests.support import aio, cloud_key
from tests.support.chaos_proxy import ChaosProxy
from tests.support.cloud import bridge_settings, migrated_engine
from tests.support.mosquitto import Mosquitto

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cloud_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    with migrated_engine(url) as engine:
        yield url, engine


def enrol(engine, identity: DeviceIdentity) -> None:
    from cloud_bridge.store import enroll_device, session_factory

    with session_factory(engine).begin() as session:
        enroll_device(session, device_id=identity.device_id, public_key=identity.public_key,
                      station_id="CH01", place_code="370902")


def kiosk_db(gateway_or_dir) -> Path:
    folder = gateway_or_dir if isinstance(gateway_or_dir, Path) else \
        gateway_or_dir.settings.device.data_dir
    return folder / "kiosk.db"


async def wait_drained(gateway: Gateway, within: float) -> None:
    deadline = time.monotonic() + within
    while (await asyncio.to_thread(gateway.books.outbox.stats)).unacked:
        if time.monotonic() > deadline:
            raise AssertionError(f"not drained: {gateway.books.outbox.stats()}")
        await asyncio.sleep(0.05)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def issue_many(gateway: Gateway, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        issue_one(gateway, n)


def fast_link(**extra):
    return {"backoff_initial_s": 0.05, "backoff_max_s": 0.5, "stable_after_s": 1,
            "resend_after_s": 2, **extra}


# ------------------------------------------------------------------------------- the broker

@pytest.mark.parametrize("persistence", [True, False], ids=["persistent", "volatile"])
def test_broker_killed_and_restarted_mid_drain(tmp_path, cloud_db, persistence):
    url, engine = cloud_db
    broker = Mosquitto(workdir=tmp_path / "mq", persistence=persistence).start()
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", broker.url, link=fast_link()))
    enrol(engine, gateway.identity)
    issue_many(gateway, scale(100, 1000))  # a backlog, as after a night offline
    rng = random.Random(7)
    try:
        with IngestWorker(bridge_settings(broker.url, url), engine):

            async def scenario():
                task = asyncio.create_task(gateway.run())
                for kill in range(scale(3, 10)):
                    await asyncio.sleep(rng.uniform(0.2, 1.0))
                    await asyncio.to_thread(issue_many, gateway, 10, 10_000 + kill * 10)
                    await asyncio.to_thread(broker.restart, kill=True)
                await wait_drained(gateway, 120)
                await stop(task)

            aio.run(scenario(), timeout=300)
        assert_ledgers_match(kiosk_db(gateway), engine, gateway.identity.device_id)
    finally:
        gateway.close()
        broker.stop()


# ------------------------------------------------------------------------------- the network

def test_network_cut_blackholed_and_slow(tmp_path, cloud_db, mosquitto):
    url, engine = cloud_db
    with ChaosProxy(mosquitto.port) as proxy:
        gateway = Gateway.open(kiosk_settings(
            tmp_path / "kiosk", proxy.url, link=fast_link(), broker={"keepalive_s": 5}))
        enrol(engine, gateway.identity)
        rng = random.Random(11)
        try:
            with IngestWorker(bridge_settings(mosquitto.url, url), engine):

                async def scenario():
                    task = asyncio.create_task(gateway.run())
                    n = 0
                    for round_ in range(scale(4, 20)):
                        await asyncio.to_thread(issue_many, gateway, 15, n)
                        n += 15
                        await asyncio.sleep(rng.uniform(0.1, 0.5))
                        fault = ("cut", "slow", "blackhole", "cut")[round_ % 4]
                        if fault == "cut":
                            proxy.cut()
                            await asyncio.sleep(rng.uniform(0.2, 1.0))
                        elif fault == "slow":
                            proxy.delay_s = 0.3  # a 600 ms round trip
                            await asyncio.sleep(1.0)
                            proxy.delay_s = 0.0
                        else:
                            proxy.blackhole()
                            await asyncio.sleep(rng.uniform(1.0, 3.0))
                        proxy.restore()
                    await wait_drained(gateway, 120)
                    await stop(task)

                aio.run(scenario(), timeout=300)
            assert gateway.link.state.connects >= 2
            assert_ledgers_match(kiosk_db(gateway), engine, gateway.identity.device_id)
        finally:
            gateway.close()


# ------------------------------------------------------------------------------- the kiosk

def run_driver(data_dir: Path, broker_url: str, total: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.kiosk_driver", "--data-dir", str(data_dir),
         "--broker", broker_url, "--total", str(total), "--pause", "0.03"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT),
             "NONGAN_TEST_CLOUD_KEY": cloud_key.public_key()},
    )


def test_gateway_sigkilled_during_issuance_and_drain(tmp_path, cloud_db, mosquitto):
    url, engine = cloud_db
    data_dir = tmp_path / "kiosk"
    identity = DeviceIdentity.load_or_create(data_dir, "kiosk-chaos")
    enrol(engine, identity)
    total = scale(60, 400)
    rng = random.Random(5)
    kills = 0
    with IngestWorker(bridge_settings(mosquitto.url, url), engine):
        for _ in range(scale(4, 20)):
            proc = run_driver(data_dir, mosquitto.url, total)
            time.sleep(rng.uniform(0.7, 2.0))  # start-up is ~0.7 s: kill mid-work
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=30)
        proc = run_driver(data_dir, mosquitto.url, total)
        try:
            out, err = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()  # and close its pipes, so the hang is this test's failure alone
            proc.communicate()
            raise
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"drained" in out
    assert kills >= 1
    result = assert_ledgers_match(data_dir / "kiosk.db", engine, "kiosk-chaos")
    assert result.certificates == total


# ------------------------------------------------------------------------------- the cloud

def bridge_process(broker_url: str, database_url: str, client_id: str, log: Path,
                   extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": str(ROOT),
           "NONGAN_BRIDGE_DATABASE__URL": database_url,
           "NONGAN_BRIDGE_BROKER__URL": broker_url,
           "NONGAN_BRIDGE_INGEST__CLIENT_ID": client_id,
           "NONGAN_BRIDGE_INGEST__BATCH_SIZE": "50",
           "NONGAN_BRIDGE_SIGNING__KEY_FILE": str(cloud_key.key_file())}
    with log.open("ab") as sink:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "nongan", "bridge", "run"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=sink)


def test_a_bridge_worker_killed_mid_batch_while_another_runs(tmp_path, mosquitto, cloud_db):
    url, engine = cloud_db
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url, link=fast_link()))
    enrol(engine, gateway.identity)
    log = tmp_path / "bridges.log"
    steady = bridge_process(mosquitto.url, url, "bridge-steady", log)
    victim = bridge_process(mosquitto.url, url, "bridge-victim", log)
    rng = random.Random(3)
    try:
        time.sleep(2.0)  # both workers subscribed

        async def scenario():
            nonlocal victim
            task = asyncio.create_task(gateway.run())
            for round_ in range(scale(3, 12)):
                await asyncio.to_thread(issue_many, gateway, scale(60, 150), round_ * 1000)
                await asyncio.sleep(rng.uniform(0.1, 0.6))
                victim.send_signal(signal.SIGKILL)
                await asyncio.to_thread(victim.wait, 10)
                victim = bridge_process(mosquitto.url, url, "bridge-victim", log)
            await wait_drained(gateway, 180)
            await stop(task)

        aio.run(scenario(), timeout=400)
        assert steady.poll() is None, log.read_text()[-2000:]
        assert_ledgers_match(kiosk_db(gateway), engine, gateway.identity.device_id)
    finally:
        for proc in (steady, victim):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        gateway.close()


# ------------------------------------------------------------------------------- the disk

def test_kiosk_disk_fills_up(tmp_path, cloud_db, mosquitto):
    url, engine = cloud_db
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url, link=fast_link()))
    enrol(engine, gateway.identity)
    try:
        issue_many(gateway, 5)
        conn = gateway.books.db._conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        # The "disk" now holds only a few more pages: SQLite answers SQLITE_FULL, as on ENOSPC.
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        failures = 0
        for n in range(5, 5 + scale(40, 200)):
            try:
                issue_one(gateway, n)
            except StorageError as exc:
                assert "database or disk is full" in str(exc)
                failures += 1
        assert failures > 0, "the disk never filled: the test tested nothing"
        conn.execute("PRAGMA max_page_count = 1073741823")  # space freed by the technician
        issue_many(gateway, 5, 1000)
        with IngestWorker(bridge_settings(mosquitto.url, url), engine):

            async def scenario():
                task = asyncio.create_task(gateway.run())
                await wait_drained(gateway, 60)
                await stop(task)

            aio.run(scenario())
        assert_ledgers_match(kiosk_db(gateway), engine, gateway.identity.device_id)
    finally:
        gateway.close()


# ------------------------------------------------------------------------------- the clock

class JumpyWall:
    """A wall clock a test can throw backwards and forwards."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.synced = True

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_clock_jumps_backwards_and_forwards(tmp_path, cloud_db, mosquitto):
    url, engine = cloud_db
    wall = JumpyWall()
    clock = KioskClock(wall=wall, synced=lambda: wall.synced)
    settings = kiosk_settings(tmp_path / "kiosk", mosquitto.url, link=fast_link())
    gateway = Gateway.open(settings, clock=clock)
    enrol(engine, gateway.identity)
    issued_at = []
    try:
        with IngestWorker(bridge_settings(mosquitto.url, url), engine):

            async def scenario():
                task = asyncio.create_task(gateway.run())
                n = 0
                jumps = [timedelta(0), timedelta(days=-400 * 365), timedelta(hours=3),
                         timedelta(days=-2), timedelta(0)]
                for jump in jumps[: scale(5, 5)]:
                    wall.offset = jump
                    wall.synced = jump == timedelta(0)
                    for _ in range(scale(5, 40)):
                        recorded = await asyncio.to_thread(gateway.books.readings.record, reading())
                        cert = await asyncio.to_thread(
                            gateway.books.issuer.issue, Promisor(f"P-{n}", "孙玉珍", "13700002222"),
                            Lot("eggs", "鸡蛋", 300, "枚", "370902"), [recorded.reading])
                        issued_at.append(cert.certificate.issued_at)
                        n += 1
                await wait_drained(gateway, 60)
                await stop(task)

            aio.run(scenario())
        assert_ledgers_match(kiosk_db(gateway), engine, gateway.identity.device_id)
        assert min(issued_at) >= datetime(2026, 1, 1, tzinfo=UTC), "a 1970 date leaked"
        # Stamps never went below the floor set by the last synchronised record.
        first_sync = issued_at[0]
        assert all(t >= first_sync for t in issued_at[5:10])
    finally:
        gateway.close()
