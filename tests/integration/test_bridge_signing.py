"""The ingest worker speaks with the cloud's key and within the broker's packet limit: every
ack, roster page and key set it publishes verifies against the key kiosks pin; a broker that
announces a smaller ``max_packet_size`` gets smaller roster pages, never a packet it would
disconnect the worker for; without a usable key the worker does not start."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.settings import load_settings
from cloud_bridge.signing import SigningKeyError, new_key_file
from protocol import decode, key_id, verify_cloud_object
from protocol.config import BrokerConnection, ConfigError
from tests.support import cloud_key
from tests.support.cloud import bridge_settings, enroll
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher, TopicWatcher

pytestmark = pytest.mark.mosquitto

TRUSTED = {key_id(cloud_key.private_key()): cloud_key.public_key()}


def verified(topic: str, payload: bytes) -> object:
    decoded = decode(topic, payload)
    assert verify_cloud_object(decoded.raw, TRUSTED) == key_id(cloud_key.private_key())
    return decoded.message


def test_acks_and_key_sets_are_signed_with_the_cloud_key(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    kiosk, quiet = FakeKiosk(), FakeKiosk()
    enroll(store, kiosk, quiet)
    with TopicWatcher(mosquitto.url, "nongan/v1/#") as watcher, \
            IngestWorker(bridge_settings(mosquitto.url, database_url), store) as worker, \
            Publisher(mosquitto.url) as publisher:
        # at start, a key set for every enrolled kiosk, retained
        assert watcher.wait_for(lambda latest: all(
            f"nongan/v1/{k.device_id}/keys" in latest for k in (kiosk, quiet)))
        publisher.publish([kiosk.certificate(), kiosk.reading()])
        ack = f"nongan/v1/{kiosk.device_id}/ack"
        assert watcher.wait_for(lambda latest: ack in latest
                                and decode(ack, latest[ack]).message.acked_seq == 2)
        worker.check()
    message = verified(ack, watcher.latest[ack])
    assert message.device_id == kiosk.device_id
    keys = verified(f"nongan/v1/{quiet.device_id}/keys",
                    watcher.latest[f"nongan/v1/{quiet.device_id}/keys"])
    assert [k.public_key for k in keys.keys] == [cloud_key.public_key()]


def test_a_broker_with_a_small_packet_limit_gets_small_roster_pages(
    tmp_path, database_url: str, store: Engine
) -> None:
    broker = Mosquitto(workdir=tmp_path / "small", extra_config="max_packet_size 20000").start()
    try:
        kiosk = FakeKiosk(station_id="ST9")
        enroll(store, kiosk)
        # the settings say the deployment's limit; the broker announces its own, smaller one
        settings = bridge_settings(broker.url, database_url, roster_poll_s=0.2)
        with TopicWatcher(broker.url, f"nongan/v1/{kiosk.device_id}/roster/+") as watcher, \
                IngestWorker(settings, store) as worker, Publisher(broker.url) as publisher:
            publisher.publish([kiosk.producer(f"p-{n:04d}", name="郭金凤") for n in range(300)])
            assert watcher.wait_for(lambda latest: (r := cloud_key.whole_roster(
                dict(latest), kiosk.device_id)) is not None and len(r.producers) == 300,
                timeout=60)
            worker.check()
        pages = [p for t, p in watcher.latest.items() if p]
        assert len(pages) >= 5 and max(len(p) for p in pages) < 20_000
        assert worker.stats.connects == 1, "the broker disconnected the worker"
    finally:
        broker.stop()


def test_no_worker_without_a_usable_signing_key(tmp_path, database_url: str,
                                                 store: Engine) -> None:
    bare = load_settings(None, database={"url": database_url})
    with pytest.raises(SigningKeyError, match=r"signing\.key_file is not set"):
        IngestWorker(bare, store)
    shared = tmp_path / "shared.key"
    new_key_file(shared)
    os.chmod(shared, 0o644)
    with pytest.raises(SigningKeyError, match="readable by other users"):
        IngestWorker(load_settings(None, signing={"key_file": str(shared)}), store)
    with pytest.raises(SigningKeyError, match="refusing to replace"):
        new_key_file(shared)


@pytest.mark.parametrize("placeholder", ["…", "change-me", "password", ""])
def test_a_placeholder_password_is_refused(placeholder: str) -> None:
    with pytest.raises(ConfigError, match="placeholder"):
        load_settings(None, broker={"username": "nongan-bridge", "password": placeholder})
    assert BrokerConnection(password="a-real-one").password == "a-real-one"
