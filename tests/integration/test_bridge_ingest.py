"""Kiosk messages through a real Mosquitto into the ingest worker and the database.

Every test here runs on SQLite and on PostgreSQL (the ``database_url`` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.store import (
    CertificateRecord,
    CommandResultRecord,
    DeadLetter,
    DeviceStatus,
    LatestTelemetry,
    LedgerRecord,
    StripReadingRecord,
)
from protocol import CloudAck, StatusMessage, ack_topic, seal, status_topic
from tests.support.cloud import bridge_settings, count, enroll, rows, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher, TopicWatcher

pytestmark = pytest.mark.mosquitto



@pytest.fixture
def kiosk(store: Engine) -> FakeKiosk:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    return kiosk


@pytest.fixture
def worker(mosquitto: Mosquitto, database_url: str, store: Engine) -> Iterator[IngestWorker]:
    with IngestWorker(bridge_settings(mosquitto.url, database_url), store) as worker:
        yield worker
        worker.check()


def acked(watcher: TopicWatcher, kiosk: FakeKiosk) -> int | None:
    payload = watcher.latest.get(ack_topic(kiosk.device_id))
    return CloudAck.model_validate_json(payload).acked_seq if payload else None


def test_every_kind_of_message_reaches_its_table_and_the_kiosk_hears_the_ack(
    mosquitto: Mosquitto, store: Engine, kiosk: FakeKiosk, worker: IngestWorker
) -> None:
    messages = [kiosk.status(), kiosk.certificate(), kiosk.reading(), kiosk.certificate(),
                kiosk.telemetry(), kiosk.command_result()]
    with TopicWatcher(mosquitto.url, ack_topic(kiosk.device_id)) as watcher, \
            Publisher(mosquitto.url) as publisher:
        publisher.publish(messages)
        assert watcher.wait_for(lambda _: acked(watcher, kiosk) == 3)

    assert count(store, LedgerRecord) == 3
    assert count(store, CertificateRecord) == 2
    assert count(store, StripReadingRecord) == 1
    assert count(store, DeviceStatus) == 1
    assert count(store, LatestTelemetry) == 1
    assert count(store, CommandResultRecord) == 1
    assert count(store, DeadLetter) == 0
    stored = rows(store, "SELECT payload FROM ledger WHERE seq = 2")[0][0]
    assert bytes(stored) == messages[2][1], "the ledger keeps the signed bytes as received"

    # The retained ack is there for a kiosk that connects later, and says what was committed.
    with TopicWatcher(mosquitto.url, ack_topic(kiosk.device_id)) as late:
        assert late.wait_for(lambda latest: latest)
        ack = json.loads(late.latest[ack_topic(kiosk.device_id)])
    assert ack["kind"] == "ack" and ack["device_id"] == kiosk.device_id
    assert ack["acked_seq"] == 3


def test_a_message_delivered_three_times_is_stored_once_and_acked_each_time(
    mosquitto: Mosquitto, store: Engine, kiosk: FakeKiosk, worker: IngestWorker
) -> None:
    cert = kiosk.certificate()
    with TopicWatcher(mosquitto.url, ack_topic(kiosk.device_id)) as watcher, \
            Publisher(mosquitto.url) as publisher:
        for delivery in range(1, 4):
            before = watcher.count
            publisher.publish([cert])
            # Each delivery, duplicates included, is answered with an ack the kiosk can hear.
            assert watcher.wait_for(lambda _, b=before: watcher.count > b), delivery
            assert acked(watcher, kiosk) == 1
    assert count(store, LedgerRecord) == 1
    assert count(store, CertificateRecord) == 1
    assert worker.stats.recorded == 1 and worker.stats.duplicates == 2


def test_the_ack_watermark_waits_for_a_missing_seq(
    mosquitto: Mosquitto, store: Engine, kiosk: FakeKiosk, worker: IngestWorker
) -> None:
    first, second, third, fourth = (kiosk.certificate() for _ in range(4))
    with TopicWatcher(mosquitto.url, ack_topic(kiosk.device_id)) as watcher, \
            Publisher(mosquitto.url) as publisher:
        publisher.publish([first, third, fourth])
        wait_until(lambda: count(store, LedgerRecord) == 3)
        assert watcher.wait_for(lambda _: acked(watcher, kiosk) == 1)
        publisher.publish([second])
        assert watcher.wait_for(lambda _: acked(watcher, kiosk) == 4)
    assert rows(store, "SELECT acked_seq FROM ack_watermarks")[0][0] == 4


def test_bad_messages_are_dead_lettered_and_the_stream_goes_on(
    mosquitto: Mosquitto, store: Engine, kiosk: FakeKiosk, worker: IngestWorker
) -> None:
    stranger = FakeKiosk()  # never enrolled
    retired = FakeKiosk()
    enroll(store, retired)
    from cloud_bridge.store import retire_device, session_factory

    with session_factory(store).begin() as session:
        retire_device(session, retired.device_id, confirm=retired.device_id,
                      reason="test: retired")
    topic, good = kiosk.certificate()
    _, forged = FakeKiosk(device_id=kiosk.device_id).certificate()  # right id, wrong key
    bad = [
        (topic, b'{"v": 1, "kind": '),  # malformed JSON
        (topic, json.dumps({**json.loads(good), "v": 2}).encode()),  # unknown version
        (topic, forged),  # bad signature
        stranger.certificate(),  # unknown device
        retired.certificate(),  # retired device
        (f"nongan/v1/{stranger.device_id}/event/certificate", kiosk.certificate()[1]),  # topic
        (topic, b" " * (256 * 1024 + 1)),  # oversize
        (topic, kiosk.certificate(seq=1)[1]),  # seq 1 again under another msg_id: conflict
    ]
    with Publisher(mosquitto.url) as publisher:
        publisher.publish([(topic, good)])
        wait_until(lambda: count(store, LedgerRecord) == 1)
        publisher.publish(bad)
        publisher.publish([kiosk.certificate()])  # seq 3: seq 2 was the mismatched-topic one
        wait_until(lambda: count(store, DeadLetter) == len(bad))
        wait_until(lambda: count(store, LedgerRecord) == 2)

    codes = sorted(code for (code,) in rows(store, "SELECT code FROM dead_letters"))
    assert codes == sorted(["malformed", "bad_version", "bad_signature", "unknown_device",
                            "retired_device", "device_mismatch", "too_large", "seq_conflict"])
    reasons = dict(rows(store, "SELECT code, reason FROM dead_letters"))
    assert "does not match the device's registered key" in reasons["bad_signature"]
    assert stranger.device_id in reasons["unknown_device"]
    assert "seq 1 is already recorded" in reasons["seq_conflict"]
    oversize = rows(store, "SELECT payload_size, payload_truncated FROM dead_letters "
                           "WHERE code = 'too_large'")[0]
    assert tuple(oversize) == (256 * 1024 + 1, True)
    assert worker.running and not worker.crashed
    assert worker.stats.dead_letters == len(bad)
    # Dead letters are stored, so the broker is told it may forget them too.
    wait_until(lambda: worker.stats.pubacks_sent == len(bad) + 2)


def test_a_time_the_store_cannot_convert_to_utc_is_dead_lettered_and_the_stream_goes_on(
    mosquitto: Mosquitto, store: Engine, kiosk: FakeKiosk, worker: IngestWorker
) -> None:
    # Passes the contract (an aware ISO time) but its UTC equivalent is before year 1: once,
    # the store's error was taken for an outage and the batch retried for ever.
    fields = kiosk.header("status", state="online", graceful=False, software_version="0.1.0",
                          time=datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))))
    _, unstorable = seal(StatusMessage, fields, kiosk.key)
    with Publisher(mosquitto.url) as publisher:
        publisher.publish([(status_topic(kiosk.device_id), unstorable)])
        publisher.publish([kiosk.certificate()])
        wait_until(lambda: count(store, LedgerRecord) == 1)
        wait_until(lambda: count(store, DeadLetter) == 1)
    assert rows(store, "SELECT code FROM dead_letters")[0][0] == "unstorable"
    assert "'time'" in rows(store, "SELECT reason FROM dead_letters")[0][0]
    assert worker.running and not worker.crashed
    assert worker.stats.database_retries == 0
