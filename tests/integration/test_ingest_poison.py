"""Issue 11, finding 1, on real parts: a kiosk publishes ``{}`` on
``nongan/v1/<its id>/event/<~8,000 characters>``. On PostgreSQL the dead-letter insert used to
fail ("index row size exceeds btree maximum"), the worker took it for an outage and retried for
ever, and every later message of every kiosk waited. Now the poison is a dead letter, the
stream goes on, and a restarted worker is not handed the poison again.

The poison is published on a plain private Mosquitto: the broker's ACL may refuse such topics
(the deployment's ACL is tightened separately), and the cloud must hold whatever the broker
lets through.
"""

from __future__ import annotations

import random
import string

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.store import DeadLetter, LedgerRecord
from protocol import CloudAck, ack_topic
from tests.support.cloud import bridge_settings, count, enroll, rows
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher, TopicWatcher

pytestmark = pytest.mark.mosquitto


def acked(watcher: TopicWatcher, kiosk: FakeKiosk) -> int:
    payload = watcher.latest.get(ack_topic(kiosk.device_id))
    return CloudAck.model_validate_json(payload).acked_seq if payload else 0


def test_a_poison_topic_is_dead_lettered_and_every_kiosk_goes_on(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    a, b = FakeKiosk(), FakeKiosk()
    enroll(store, a, b)
    rng = random.Random(11)
    poison = (f"nongan/v1/{a.device_id}/event/"
              + "".join(rng.choice(string.ascii_lowercase) for _ in range(8000)), b"{}")
    settings = bridge_settings(mosquitto.url, database_url, retry_initial_s=0.05,
                               retry_max_s=0.2)
    with TopicWatcher(mosquitto.url, "nongan/v1/+/ack") as watcher, \
            Publisher(mosquitto.url) as publisher:
        with IngestWorker(settings, store) as worker:
            publisher.publish([poison])
            publisher.publish([a.certificate() for _ in range(5)]
                              + [b.certificate() for _ in range(5)])
            assert watcher.wait_for(lambda _: acked(watcher, a) == 5 and acked(watcher, b) == 5,
                                    timeout=30)
            worker.check()
            assert worker.stats.database_retries == 0
            assert worker.stats.dead_letters == 1
        # The worker's heartbeat row counted it (written at the latest when it stopped).
        assert rows(store, "SELECT state, dead_letters FROM ingest_workers") == [("stopped", 1)]
        # The poison was acknowledged (it is kept as a dead letter): a worker started again
        # under the same client id is not handed it again.
        with IngestWorker(settings, store) as again:
            publisher.publish([a.certificate()])
            assert watcher.wait_for(lambda _: acked(watcher, a) == 6, timeout=30)
            again.check()
            assert again.stats.dead_letters == 0
    assert count(store, LedgerRecord) == 11
    assert count(store, DeadLetter) == 1
    [(code, topic_length, device_id)] = rows(
        store, "SELECT code, length(topic), device_id FROM dead_letters")
    assert (code, topic_length, device_id) == ("bad_topic", len(poison[0]), a.device_id)
