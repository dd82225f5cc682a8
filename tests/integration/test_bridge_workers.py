"""Ways to run ingest workers: ``run_workers`` as ``nongan bridge run`` does, MQTT 3.1.1
without a shared subscription (the demo's embedded broker), two workers sharing one, and one
of them leaving for good.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import Engine

from cloud_bridge.cli import run_workers
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.store import LedgerRecord, enroll_device, session_factory
from gateway.app import Gateway
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading
from tests.support import aio
from tests.support.cloud import bridge_settings, count, enroll, rows, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher

pytestmark = pytest.mark.mosquitto



def test_run_workers_records_until_asked_to_stop(mosquitto: Mosquitto, database_url: str,
                                                 store: Engine) -> None:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    stop = threading.Event()
    status: list[int] = []
    settings = bridge_settings(mosquitto.url, database_url)
    runner = threading.Thread(target=lambda: status.append(run_workers(settings, 2, stop)))
    runner.start()
    try:
        with Publisher(mosquitto.url) as publisher:
            # Published before the workers may have subscribed: retried until they have.
            def published_and_recorded() -> bool:
                if count(store, LedgerRecord) == 0:
                    publisher.publish([kiosk.certificate(seq=1)])
                return count(store, LedgerRecord) == 1
            wait_until(published_and_recorded, interval=0.2)
    finally:
        stop.set()
        runner.join(20)
    assert status == [0]


def test_mqtt_311_without_shared_subscription(mosquitto: Mosquitto, database_url: str,
                                              store: Engine) -> None:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    settings = bridge_settings(mosquitto.url, database_url, shared_subscription=False)
    settings.broker.protocol = "3.1.1"
    with IngestWorker(settings, store) as worker, Publisher(mosquitto.url) as publisher:
        publisher.publish([kiosk.status(), *(kiosk.certificate() for _ in range(20))],
                          retain=False)
        wait_until(lambda: count(store, LedgerRecord) == 20)
        worker.check()
    assert worker.stats.pubacks_sent >= 21


def test_two_workers_sharing_a_subscription_record_everything_exactly_once(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    kiosks = [FakeKiosk() for _ in range(4)]
    enroll(store, *kiosks)
    one = bridge_settings(mosquitto.url, database_url, client_id="share-1", batch_size=20)
    two = bridge_settings(mosquitto.url, database_url, client_id="share-2", batch_size=20)
    messages = [k.certificate() for _ in range(50) for k in kiosks]
    with IngestWorker(one, store) as a, IngestWorker(two, store) as b, \
            Publisher(mosquitto.url) as publisher:
        publisher.publish(messages)
        publisher.publish(messages[::7])  # redeliveries, which may land on either worker
        wait_until(lambda: a.stats.recorded + b.stats.recorded == 200)
        wait_until(lambda: (a.stats.duplicates + b.stats.duplicates) == len(messages[::7]))
        a.check()
        b.check()
    assert a.stats.batches > 0 and b.stats.batches > 0, "the broker shares the load"
    assert count(store, LedgerRecord) == 200
    marks = dict(rows(store, "SELECT device_id, acked_seq FROM ack_watermarks"))
    assert marks == {k.device_id: 50 for k in kiosks}


# ------------------------------------------------------------ a worker that leaves for good

def expired(broker: Mosquitto, client_id: str) -> bool:
    """Whether Mosquitto has ended ``client_id``'s session (its notice-level log line)."""
    log = broker.log_path.read_text(errors="replace") if broker.log_path.exists() else ""
    return f"Expiring client {client_id} due to timeout" in log


def test_mosquitto_keeps_a_departed_members_share_while_its_session_lasts(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    """What docs/reliability.md used to deny: Mosquitto does not hand a departed member's
    messages to the rest of the group; it goes on queueing that member's round-robin share in
    its session. So a worker's session must be short (the next test)."""
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    stays = bridge_settings(mosquitto.url, database_url, client_id="stays")
    leaves = bridge_settings(mosquitto.url, database_url, client_id="leaves-for-an-hour",
                             broker={"session_expiry_s": 3600})
    with IngestWorker(stays, store) as staying, Publisher(mosquitto.url) as publisher:
        IngestWorker(leaves, store).start().stop()
        publisher.publish([kiosk.certificate() for _ in range(20)])
        wait_until(lambda: staying.stats.recorded >= 10)
        time.sleep(1.0)  # the other half would have come by now: it is queued for "leaves"
        staying.check()
    assert staying.stats.recorded < 20


def test_a_worker_that_leaves_for_good_strands_nothing_once_its_session_expires(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    """Issue 11, finding 7. A worker's session lasts ``broker.session_expiry_s`` (60 s by
    default, down from 7 days); once it has expired, the remaining worker gets everything.
    What was queued for the departed one meanwhile is dropped by the broker and re-sent by
    the kiosks (chaos: "a worker that leaves for good")."""
    assert BridgeSettings().broker.session_expiry_s <= 60
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    stays = bridge_settings(mosquitto.url, database_url, client_id="stays")
    leaves = bridge_settings(mosquitto.url, database_url, client_id="leaves-for-good",
                             broker={"session_expiry_s": 1})
    with IngestWorker(stays, store) as staying, Publisher(mosquitto.url) as publisher:
        IngestWorker(leaves, store).start().stop()
        wait_until(lambda: expired(mosquitto, "leaves-for-good"))
        publisher.publish([kiosk.certificate() for _ in range(20)])  # sent once, never again
        wait_until(lambda: count(store, LedgerRecord) == 20)
        staying.check()
    assert staying.stats.recorded == 20


def test_records_the_broker_dropped_with_a_departed_worker_are_re_sent_by_the_kiosk(
    tmp_path, mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    """The other half of finding 7: what Mosquitto queued for the departed worker is dropped
    when its session expires, and the kiosk, which forgets nothing until the cloud's ack,
    publishes it again after ``link.resend_after_s``: nothing is lost end to end."""
    # one record per publish: the broker deals them out one by one, half to the departed
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url,
                                          link={"resend_after_s": 2.0,
                                                "records_per_publish": 1}))
    enroll_device_of(store, gateway)
    stays = bridge_settings(mosquitto.url, database_url, client_id="stays")
    leaves = bridge_settings(mosquitto.url, database_url, client_id="leaves-with-records",
                             broker={"session_expiry_s": 4})
    try:
        with IngestWorker(stays, store) as staying:
            IngestWorker(leaves, store).start().stop()  # gone, its session still kept
            for _ in range(20):
                gateway.books.readings.record(reading())

            async def drain() -> None:
                task = asyncio.create_task(gateway.run())
                try:
                    deadline = time.monotonic() + 60
                    while gateway.books.outbox.stats().unacked:
                        assert time.monotonic() < deadline, gateway.books.outbox.stats()
                        await asyncio.sleep(0.1)
                finally:
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task

            aio.run(drain(), timeout=90)
            staying.check()
        with gateway.books.db.read() as conn:
            resent = conn.execute("SELECT count(*) FROM outbox WHERE attempts > 1").fetchone()[0]
        wait_until(lambda: expired(mosquitto, "leaves-with-records"))
        assert resent > 0, "nothing was queued for the departed worker: tested nothing"
        assert count(store, LedgerRecord) == 20
        assert staying.stats.recorded == 20
    finally:
        gateway.close()


def enroll_device_of(store: Engine, gateway: Gateway) -> None:
    with session_factory(store).begin() as session:
        enroll_device(session, device_id=gateway.identity.device_id,
                      public_key=gateway.identity.public_key, station_id="ST01",
                      place_code="370902")
