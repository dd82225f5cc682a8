"""A big station's roster through the deployment's broker (TLS, per-kiosk certificates, the
dynamic security roles, ``max_packet_size 266240``): 1,100 producers with PINs make a roster
larger than one packet may be. The worker pages it below the limit and never sends a larger
packet, so it is never disconnected for one; the kiosk puts the pages back together, and
other kiosks' certificates keep flowing (issue 11, finding 3: ~230 disconnects and
certificates missing after 60 s before).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_bridge.domain import roster
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.pki import init_ca, issue
from cloud_bridge.store import LedgerRecord, make_engine, migrate, session_factory
from cloud_bridge.store.devices import enroll_device
from gateway.app import Gateway
from protocol import canonical_json
from tests.gateway.conftest import kiosk_settings
from tests.support import aio
from tests.support.cloud import bridge_settings, count, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.secure_broker import CLOUD_ACCOUNTS, SecureBroker, TlsClient, prepare_folder

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(600)]

PRODUCERS = 1_100
LIMIT = 266_240  # hardware/deploy/mosquitto/nongan.conf, max_packet_size


@pytest.fixture
def station(tmp_path: Path) -> Iterator[dict]:
    database_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    pki = tmp_path / "pki"
    init_ca(pki, broker_hosts=["127.0.0.1"])
    migrate(database_url)
    engine = make_engine(database_url)
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", "mqtt://127.0.0.1:1",
                                     device={"station_id": "JL01"}))
    registrar = FakeKiosk(device_id="kiosk-registrar", station_id="JL01")
    with session_factory(engine).begin() as session:
        for device_id, key in ((gw.identity.device_id, gw.identity.public_key),
                               (registrar.device_id, registrar.public_key)):
            enroll_device(session, device_id=device_id, public_key=key, station_id="JL01",
                          place_code="220122")
            issue(pki, device_id)
    broker = SecureBroker(prepare_folder(tmp_path / "broker", pki, database_url)).start()
    try:
        yield {"pki": pki, "engine": engine, "gateway": gw, "registrar": registrar,
               "broker": broker, "database_url": database_url, "tmp": tmp_path}
    finally:
        gw.close()
        broker.stop()
        engine.dispose()


def test_a_roster_of_1100_producers_reaches_the_kiosk_and_ingest_never_stalls(
    station: dict
) -> None:
    pki, engine, broker = station["pki"], station["engine"], station["broker"]
    registrar: FakeKiosk = station["registrar"]
    device_id = station["gateway"].identity.device_id
    client = pki / "clients"
    gw = Gateway.open(kiosk_settings(
        station["tmp"] / "kiosk", f"mqtts://127.0.0.1:{broker.cert_port}",
        device={"station_id": "JL01"},
        broker={"ca_file": str(pki / "ca.crt"), "cert_file": str(client / f"{device_id}.crt"),
                "key_file": str(client / f"{device_id}.key")}))
    station["gateway"].close()
    station["gateway"] = gw
    settings = bridge_settings(f"mqtts://127.0.0.1:{broker.cloud_port}",
                               station["database_url"], roster_poll_s=0.5,
                               broker={"username": "nongan-bridge",
                                       "password": CLOUD_ACCOUNTS["nongan-bridge"],
                                       "ca_file": str(pki / "ca.crt")})
    certificates = [registrar.certificate() for _ in range(20)]
    with IngestWorker(settings, engine) as worker, \
            TlsClient(broker.cert_port, pki / "ca.crt", cert=client / "kiosk-registrar.crt",
                      key=client / "kiosk-registrar.key") as registrar_link:
        assert registrar_link.accepted
        for n in range(PRODUCERS):
            registrar_link.client.publish(*registrar.producer(f"p-{n:05d}", name="郭金凤"), qos=1)
        wait_until(lambda: count(engine, LedgerRecord) == PRODUCERS, timeout=120)
        with session_factory(engine)() as session:
            whole = roster.entries(session, "JL01")
        size = len(canonical_json([e.model_dump(mode="json") for e in whole]))
        assert len(whole) == PRODUCERS and size > LIMIT, "the roster must not fit one packet"

        async def kiosk() -> None:
            task = asyncio.create_task(gw.run())
            try:
                deadline = time.monotonic() + 120
                while gw.books.producers.count() < PRODUCERS:
                    assert time.monotonic() < deadline, (gw.books.producers.count(), gw.link.state)
                    await asyncio.sleep(0.1)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        aio.run(kiosk(), timeout=180)
        for topic, payload in certificates:
            registrar_link.publish(topic, payload)
        wait_until(lambda: count(engine, LedgerRecord) == PRODUCERS + 20, timeout=60)
        worker.check()
    assert worker.stats.connects == 1, "the broker disconnected the worker"
    assert worker.stats.rosters_published >= 2
    assert gw.books.producers.roster_version is not None
    found = gw.books.producers.by_card("card-p-01099")
    assert found is not None and found.name == "郭金凤"
