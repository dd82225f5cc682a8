"""The cloud's retained roster reaches the kiosk through a real Mosquitto and replaces the
kiosk's copy by version; a producer on it is then identified with no network at all."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.app import Gateway
from gateway.pins import hash_pin
from protocol import roster_topic
from tests.gateway.conftest import kiosk_settings
from tests.support import aio, cloud_key
from tests.support.mqtt_clients import Publisher

pytestmark = pytest.mark.mosquitto


def roster_payload(version: int, device: str = "kiosk-0001") -> bytes:
    """A one-page roster, signed by the cloud (tests.support.cloud_key)."""
    [(_, payload)] = cloud_key.roster_pages(device, version, [
        {"producer_id": "P-ST01-CLOUD1", "name": "郭金凤", "phone": "13912340000",
         "origin_code": "370902", "card_code": "NGC-CLOUDCARD1", "pin_hash": hash_pin("7777")}])
    return payload


async def until(predicate, within=20.0):
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_a_retained_roster_is_applied_and_a_bad_one_is_ignored(tmp_path, mosquitto):
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    try:
        with Publisher(mosquitto.url) as pub:
            pub.publish([(roster_topic("kiosk-0001", 0), roster_payload(5))], retain=True)

        async def scenario():
            task = asyncio.create_task(gw.run())
            try:
                await until(lambda: gw.books.producers.roster_version == 5)
                assert gw.link.state.roster_version == 5
                with Publisher(mosquitto.url) as pub:
                    pub.publish([(roster_topic("kiosk-0001", 0), b"{not json")], retain=True)
                    await until(lambda: any("roster" in e for e in gw.link.state.errors))
                    pub.publish([(roster_topic("kiosk-0001", 0), roster_payload(4))], retain=True)
                    await asyncio.sleep(0.5)
            finally:
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        aio.run(scenario())
        assert gw.books.producers.roster_version == 5  # the older version changed nothing
        # Offline now: the card and the PIN still identify the producer.
        found = gw.books.producers.by_card("NGC-CLOUDCARD1")
        assert found is not None and found.name == "郭金凤"
        assert gw.books.producers.verify_pin(found.producer_id, "7777")
    finally:
        gw.close()
