"""Chaos by a dishonest device or a departed worker (issue 11): a forger publishing acks the
cloud never made, a kiosk joining the workers' shared subscription, a worker that leaves for
good. Each ends, like every chaos test, by proving the cloud holds exactly the kiosk's
records, none lost, none twice (``assert_ledgers_match``).

The default run is short; ``scripts/chaos`` runs them at full size (NONGAN_CHAOS_FULL=1).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.pki import init_ca, issue
from gateway.app import Gateway
from gateway.cloud_trust import ALARM_CODE
from protocol import ack_topic, generate_private_key, key_id
from tests.chaos.harness import assert_ledgers_match, scale
from tests.chaos.test_chaos import (
    bridge_process,
    cloud_db,  # noqa: F401  (a fixture)
    enrol,
    fast_link,
    issue_many,
    kiosk_db,
    stop,
    wait_drained,
)
from tests.gateway.conftest import kiosk_settings
from tests.support import aio, cloud_key
from tests.support.cloud import bridge_settings
from tests.support.secure_broker import CLOUD_ACCOUNTS, SecureBroker, TlsClient, prepare_folder

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(600)]


# ------------------------------------------------------------------------- a forged ack

class Forger:
    """Publishes, retained on a kiosk's ack topic, acks the cloud never made: unsigned (the
    issue's attack, "everything up to your last record"), signed by its own key, the cloud's
    key id on its own signature, and the cloud's genuine ack for another kiosk."""

    def __init__(self, port: int, device_id: str, kiosk_db: Path, seed: int) -> None:
        self.device_id, self.kiosk_db = device_id, kiosk_db
        self.rng = random.Random(seed)
        self.key = generate_private_key()
        self.sent = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="forger")
        self.client.reconnect_delay_set(0.1, 1)  # the broker restarts under it
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="forger", daemon=True)

    def last_seq(self) -> int:
        conn = sqlite3.connect(f"file:{self.kiosk_db}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0])
        finally:
            conn.close()

    def forgery(self) -> bytes:
        seq = self.last_seq()
        unsigned = {"v": 1, "kind": "ack", "device_id": self.device_id, "acked_seq": seq,
                    "time": datetime.now(UTC).isoformat()}
        relabelled = json.loads(cloud_key.ack_payload(self.device_id, seq, key=self.key))
        relabelled["kid"] = key_id(cloud_key.private_key())
        return self.rng.choice([
            json.dumps(unsigned).encode(),
            cloud_key.ack_payload(self.device_id, seq, key=self.key),
            json.dumps(relabelled).encode(),
            cloud_key.ack_payload("kiosk-elsewhere", seq),
        ])

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.02, 0.2)):
            self.client.publish(ack_topic(self.device_id), self.forgery(), qos=1, retain=True)
            self.sent += 1

    def __enter__(self) -> Forger:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.client.loop_stop()
        self.client.disconnect()


def test_a_forged_ack(tmp_path, cloud_db, mosquitto):  # noqa: F811
    """The issue's loss, made certain: while the cloud is away the broker holds the kiosk's
    records for the worker's session, a forger acks "everything up to your last record",
    and the broker then restarts without persistence, losing what it held. A kiosk that
    believed the forgery would never re-send those records; this one refuses it, re-sends,
    and the cloud ends with every record."""
    url, engine = cloud_db
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url, link=fast_link()))
    enrol(engine, gateway.identity)
    device_id = gateway.identity.device_id
    settings = bridge_settings(mosquitto.url, url)
    IngestWorker(settings, engine).start().stop()  # the cloud away; its session keeps records

    async def scenario():
        task = asyncio.create_task(gateway.run())
        with Forger(mosquitto.port, device_id, kiosk_db(gateway), seed=13) as forger:
            for batch in range(scale(3, 15)):
                await asyncio.to_thread(issue_many, gateway, 10, batch * 10)
                await asyncio.sleep(0.2)
            while (await asyncio.to_thread(gateway.books.outbox.stats)).pending:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # all with the broker (PUBACKed), none stored
            while forger.sent < scale(20, 100):  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the forger counts in its own thread
            await asyncio.to_thread(mosquitto.restart, kill=True)  # what it held is gone
            with IngestWorker(settings, engine):
                for batch in range(scale(3, 15), scale(6, 30)):
                    await asyncio.to_thread(issue_many, gateway, 10, batch * 10)
                    await asyncio.sleep(0.3)
                await wait_drained(gateway, 120)
        await stop(task)

    try:
        aio.run(scenario(), timeout=300)
        assert gateway.link.trust.counters.refused >= 10
        assert ALARM_CODE in {a.code for a in gateway.books.alarms.active()}
        assert_ledgers_match(kiosk_db(gateway), engine, device_id)
    finally:
        gateway.close()


# ----------------------------------------------------------- a kiosk in the shared group

def test_a_kiosk_in_the_shared_group(tmp_path, cloud_db):  # noqa: F811
    """Through the deployment's broker: an enrolled kiosk keeps trying to join the workers'
    shared subscription (and ``#``, ``$SYS/#``) while another kiosk issues. Every attempt is
    refused at SUBACK, so no record is dealt to it: all arrive without one re-send."""
    url, engine = cloud_db
    pki = tmp_path / "pki"
    init_ca(pki, broker_hosts=["127.0.0.1"])
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", "mqtt://127.0.0.1:1"))
    device_id = gateway.identity.device_id
    enrol(engine, gateway.identity)
    from cloud_bridge.store import enroll_device, session_factory
    from tests.support.kiosk_messages import FakeKiosk

    attacker = FakeKiosk(device_id="kiosk-attacker")
    with session_factory(engine).begin() as session:
        enroll_device(session, device_id=attacker.device_id, public_key=attacker.public_key,
                      station_id="CH01", place_code="370902")
    for name in (device_id, attacker.device_id):
        issue(pki, name)
    gateway.close()
    broker = SecureBroker(prepare_folder(tmp_path / "broker", pki, url)).start()
    clients = pki / "clients"
    gateway = Gateway.open(kiosk_settings(
        tmp_path / "kiosk", f"mqtts://127.0.0.1:{broker.cert_port}",
        link=fast_link(resend_after_s=60),  # no re-send needed: nothing may be stranded
        broker={"ca_file": str(pki / "ca.crt"), "cert_file": str(clients / f"{device_id}.crt"),
                "key_file": str(clients / f"{device_id}.key")}))
    settings = bridge_settings(f"mqtts://127.0.0.1:{broker.cloud_port}", url,
                               broker={"username": "nongan-bridge",
                                       "password": CLOUD_ACCOUNTS["nongan-bridge"],
                                       "ca_file": str(pki / "ca.crt")})
    attempts: list[bool] = []
    try:
        with IngestWorker(settings, engine):

            def attack(stop_at: threading.Event) -> None:
                while not stop_at.is_set():
                    with TlsClient(broker.cert_port, pki / "ca.crt",
                                   cert=clients / "kiosk-attacker.crt",
                                   key=clients / "kiosk-attacker.key") as evil:
                        codes = evil.subscribe("$share/nongan-bridge/nongan/v1/+/event/+",
                                               "#", "$SYS/#")
                        attempts.extend(r.is_failure for r in codes)
                        stop_at.wait(0.5)

            async def scenario():
                halt = threading.Event()
                attacker_thread = threading.Thread(target=attack, args=(halt,), daemon=True)
                attacker_thread.start()
                task = asyncio.create_task(gateway.run())
                try:
                    for batch in range(scale(6, 30)):
                        await asyncio.to_thread(issue_many, gateway, 10, batch * 10)
                        await asyncio.sleep(0.2)
                    await wait_drained(gateway, 50)  # within resend_after_s: no re-sends
                finally:
                    halt.set()
                    await asyncio.to_thread(attacker_thread.join, 15)
                await stop(task)

            aio.run(scenario(), timeout=300)
        assert attempts and all(attempts), "a forbidden subscription was granted"
        with gateway.books.db.read() as conn:
            resent = conn.execute("SELECT count(*) FROM outbox WHERE attempts > 1").fetchone()[0]
        assert resent == 0
        assert_ledgers_match(kiosk_db(gateway), engine, device_id)
    finally:
        gateway.close()
        broker.stop()


# -------------------------------------------------------------- a worker that leaves for good

def test_a_worker_that_leaves_for_good(tmp_path, mosquitto, cloud_db):  # noqa: F811
    """Two worker processes share the subscription; one is SIGKILLed mid-stream and never
    comes back. Its session expires (``broker.session_expiry_s``, here 2 s), the broker drops
    what it had queued for it, the kiosk re-sends those records, the other worker stores
    them."""
    url, engine = cloud_db
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url,
                                          link=fast_link(records_per_publish=5)))
    enrol(engine, gateway.identity)
    log = tmp_path / "bridges.log"
    short = {"NONGAN_BRIDGE_BROKER__SESSION_EXPIRY_S": "2"}
    steady = bridge_process(mosquitto.url, url, "bridge-steady", log, extra_env=short)
    departs = bridge_process(mosquitto.url, url, "bridge-departs", log, extra_env=short)
    try:
        time.sleep(2.0)  # both workers subscribed (as the other worker chaos test)

        async def scenario():
            task = asyncio.create_task(gateway.run())
            total = scale(120, 1200)
            for n in range(0, total, 20):
                await asyncio.to_thread(issue_many, gateway, 20, n)
                if n == total // 2:
                    departs.send_signal(signal.SIGKILL)  # for good
                    await asyncio.to_thread(departs.wait, 10)
                await asyncio.sleep(0.05)
            await wait_drained(gateway, 180)
            await stop(task)

        aio.run(scenario(), timeout=400)
        assert steady.poll() is None, log.read_text()[-2000:]
        assert departs.returncode == -signal.SIGKILL
        assert_ledgers_match(kiosk_db(gateway), engine, gateway.identity.device_id)
    finally:
        for proc in (steady, departs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except Exception:
                    proc.kill()
                    proc.wait()
        gateway.close()
