"""Rosters reach the kiosks: retained, versioned, to every kiosk of the producer's station."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cloud_bridge.domain import producers
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.store import session_factory
from protocol import Roster
from tests.support import cloud_key
from tests.support.cloud import bridge_settings, enroll, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher, TopicWatcher

pytestmark = pytest.mark.mosquitto



def roster_of(watcher: TopicWatcher, device_id: str) -> Roster | None:
    """The roster the kiosk would put together from its retained, signed pages."""
    return cloud_key.whole_roster(dict(watcher.latest), device_id)


def test_a_producer_change_sends_a_new_roster_to_each_kiosk_of_the_station(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    a, b = FakeKiosk(station_id="ST7"), FakeKiosk(station_id="ST7")
    elsewhere, late = FakeKiosk(station_id="ST8"), FakeKiosk(station_id="ST7")
    enroll(store, a, b, elsewhere)
    settings = bridge_settings(mosquitto.url, database_url, roster_poll_s=0.2)
    with TopicWatcher(mosquitto.url, "nongan/v1/+/roster/+") as watcher, \
            IngestWorker(settings, store) as worker, Publisher(mosquitto.url) as publisher:
        publisher.publish([a.producer("p-1", name="李四")])
        assert watcher.wait_for(lambda _: all(
            (r := roster_of(watcher, k.device_id)) is not None and r.version == 1
            for k in (a, b)))
        assert [e.name for e in roster_of(watcher, b.device_id).producers] == ["李四"]
        assert roster_of(watcher, elsewhere.device_id) is None
        publisher.publish([b.producer("p-2", name="赵六")])
        assert watcher.wait_for(lambda _: roster_of(watcher, a.device_id).version == 2)
        assert {e.producer_id for e in roster_of(watcher, a.device_id).producers} == {
            "p-1", "p-2"}
        # a supervisor suspends p-1 through the API (no MQTT there): the poll sends it
        with session_factory(store).begin() as session:
            producers.set_active(session, "p-1", False, actor="sup", reason="复检")
        assert watcher.wait_for(lambda _: roster_of(watcher, a.device_id).version == 3)
        entry = next(e for e in roster_of(watcher, a.device_id).producers
                     if e.producer_id == "p-1")
        assert entry.active is False
        # a kiosk enrolled later gets the roster when it comes online
        enroll(store, late)
        publisher.publish([late.status("online")])
        assert watcher.wait_for(lambda _: (r := roster_of(watcher, late.device_id)) is not None
                                and r.version == 3)
        worker.check()
    wait_until(lambda: worker.stats.rosters_published >= 6)
