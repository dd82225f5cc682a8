"""Ways to run ingest workers: ``run_workers`` as ``nongan bridge run`` does, MQTT 3.1.1
without a shared subscription (the demo's embedded broker), and two workers sharing one.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine

from cloud_bridge.cli import run_workers
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.store import LedgerRecord
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
