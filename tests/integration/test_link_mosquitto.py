"""The kiosk's MQTT link against a real Mosquitto, with a minimal acknowledging peer.

The peer stands in for the cloud (the real bridge has its own end-to-end tests): it records
every ledger message and publishes the retained contiguous ack, as docs/protocol.md says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

import aiomqtt
import paho.mqtt.client as mqtt
import pytest

from gateway.app import Gateway
from gateway.cancellation import cancel_and_wait
from protocol import EventName, ack_topic
from protocol.batch import is_batch_topic, split_batch
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading
from tests.support import aio, cloud_key

pytestmark = pytest.mark.mosquitto


class AckingPeer:
    def __init__(self, port: int) -> None:
        self.seen: dict[str, set[int]] = {}
        self.envelopes = 0
        self.messages: list[tuple[str, dict, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="peer")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe("nongan/v1/#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        if "/ack" in msg.topic:
            return
        parts = (split_batch(msg.topic, msg.payload) if is_batch_topic(msg.topic)
                 else [(msg.topic, msg.payload)])
        self.envelopes += is_batch_topic(msg.topic)
        for topic, payload in parts:
            self._record(client, topic, json.loads(payload), msg.retain)

    def _record(self, client, topic: str, body: dict, retain: bool) -> None:
        with self.lock:
            self.messages.append((topic, body, retain))
            if "seq" in body:
                seqs = self.seen.setdefault(body["device_id"], set())
                seqs.add(body["seq"])
                watermark = 0
                while watermark + 1 in seqs:
                    watermark += 1
                client.publish(ack_topic(body["device_id"]),
                               cloud_key.ack_payload(body["device_id"], watermark), qos=1,
                               retain=True)

    def kinds(self) -> list[str]:
        with self.lock:
            return [m[1]["kind"] for m in self.messages]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def add_readings(gateway: Gateway, n: int) -> None:
    for _ in range(n):
        gateway.books.readings.record(reading())


async def wait_until(predicate, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def peer(mosquitto):
    p = AckingPeer(mosquitto.port)
    yield p
    p.close()


@pytest.fixture
def kiosk(tmp_path, mosquitto):
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    yield gw
    gw.close()


def test_birth_drain_ack_and_goodbye(kiosk, peer, mosquitto):
    add_readings(kiosk, 30)  # made offline, before the first connection

    async def scenario():
        task = asyncio.create_task(kiosk.run())
        await wait_until(lambda: kiosk.books.outbox.stats().acked_seq == 30)
        add_readings(kiosk, 5)  # made online
        await wait_until(lambda: kiosk.books.outbox.stats().acked_seq == 35)
        await wait_until(lambda: "telemetry" in peer.kinds())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio.run(scenario())
    assert sorted(peer.seen["kiosk-0001"]) == list(range(1, 36))
    assert peer.envelopes >= 2  # a backlog of 30 goes out several records per publish
    assert kiosk.books.outbox.stats().unacked == 0
    statuses = [m for m in peer.messages if m[1]["kind"] == "status"]
    assert statuses[0][1]["state"] == "online"
    assert statuses[-1][1]["state"] == "offline" and statuses[-1][1]["graceful"] is True
    # The broker keeps the last status for anyone who subscribes later.
    retained = []
    late = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    late.on_message = lambda c, u, m: retained.append((m.retain, json.loads(m.payload)))
    late.connect("127.0.0.1", mosquitto.port)
    late.subscribe("nongan/v1/kiosk-0001/status", qos=1)
    late.loop_start()
    try:
        deadline = time.monotonic() + 5
        while not retained and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        late.loop_stop()
        late.disconnect()
    assert retained and retained[0][0] is True and retained[0][1]["state"] == "offline"


def test_broker_restart_mid_drain_loses_nothing(kiosk, peer, mosquitto):
    add_readings(kiosk, 300)

    async def scenario():
        task = asyncio.create_task(kiosk.run())
        await wait_until(lambda: kiosk.books.outbox.stats().acked_seq >= 20)
        await asyncio.to_thread(mosquitto.restart, kill=True)
        await wait_until(lambda: kiosk.books.outbox.stats().acked_seq == 300, within=60)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio.run(scenario(), timeout=90)
    assert sorted(peer.seen["kiosk-0001"]) == list(range(1, 301))
    assert kiosk.link.state.connects >= 2


def test_unreachable_broker_keeps_records_and_retries(tmp_path):
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", "mqtt://127.0.0.1:1"))
    try:
        add_readings(gw, 3)

        async def scenario():
            task = asyncio.create_task(gw.run())
            await wait_until(lambda: gw.link.state.last_error is not None)
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        aio.run(scenario())
        assert "MQTT link lost" in gw.link.state.last_error
        assert gw.books.outbox.stats().unacked == 3
    finally:
        gw.close()


def test_foreign_ack_beyond_ledger_changes_nothing(kiosk, mosquitto):
    add_readings(kiosk, 2)
    rogue = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    rogue.connect("127.0.0.1", mosquitto.port)
    rogue.loop_start()
    # signed by the cloud (a genuine ack, for another database of this kiosk's id)
    rogue.publish(ack_topic("kiosk-0001"), cloud_key.ack_payload("kiosk-0001", 99), qos=1,
                  retain=True).wait_for_publish()
    rogue.loop_stop()
    rogue.disconnect()

    async def scenario():
        task = asyncio.create_task(kiosk.run())
        await wait_until(lambda: kiosk.link.state.acks_ignored >= 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio.run(scenario())
    assert kiosk.books.outbox.stats().acked_seq == 0
    # Among the link's recent errors (a loaded machine may add a keepalive loss after it).
    assert any("another kiosk" in error for error in kiosk.link.state.errors), \
        kiosk.link.state.errors


def test_ledger_event_topics_are_used(kiosk, peer):
    add_readings(kiosk, 1)

    async def scenario():
        task = asyncio.create_task(kiosk.run())
        await wait_until(lambda: kiosk.books.outbox.stats().acked_seq == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aio.run(scenario())
    topics = {m[0] for m in peer.messages}
    assert f"nongan/v1/kiosk-0001/event/{EventName.TEST}" in topics


def test_commands_are_answered(tmp_path, mosquitto):
    async def ping(command):
        return {"pong": command.args.get("n", 0) + 1}

    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url),
                      commands={"ping": ping})
    results: list[dict] = []
    cloud = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    cloud.on_message = lambda c, u, m: results.append(json.loads(m.payload))
    cloud.connect("127.0.0.1", mosquitto.port)
    cloud.subscribe("nongan/v1/kiosk-0001/cmd-result/+", qos=1)
    cloud.loop_start()

    def command(name, cmd_id, **extra):
        cloud.publish(f"nongan/v1/kiosk-0001/cmd/{name}",
                      cloud_key.command_payload("kiosk-0001", name, cmd_id, args={"n": 41},
                                                **extra), qos=1)

    async def scenario():
        task = asyncio.create_task(gw.run())
        await wait_until(lambda: gw.link.state.connects >= 1)
        await asyncio.sleep(0.2)
        command("ping", "a" * 32)
        command("reboot", "b" * 32)
        command("ping", "c" * 32, expires_at="2020-01-01T00:00:00Z")
        await wait_until(lambda: len(results) == 3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        aio.run(scenario())
    finally:
        cloud.loop_stop()
        cloud.disconnect()
        gw.close()
    by_id = {r["cmd_id"]: r for r in results}
    assert by_id["a" * 32]["ok"] is True and by_id["a" * 32]["result"] == {"pong": 42}
    assert by_id["b" * 32]["ok"] is False and "no command 'reboot'" in by_id["b" * 32]["error"]
    assert by_id["c" * 32]["ok"] is False and "expired" in by_id["c" * 32]["error"]



class LosesOneCancellation(aiomqtt.Client):
    """A client whose first SUBSCRIBE loses a cancellation, as aiomqtt's wait_for does on
    Python 3.11 when the stop arrives in the same loop iteration as the SUBACK."""

    reached: asyncio.Event

    async def subscribe(self, *args, **kwargs):
        result = await super().subscribe(*args, **kwargs)
        if not LosesOneCancellation.reached.is_set():
            LosesOneCancellation.reached.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(1.0)
        return result


def test_a_stop_lost_during_the_handshake_still_ends_the_gateway(kiosk, peer, monkeypatch):
    # The chaos test's kiosk process once hung at exit for minutes: stopped just as a SUBACK
    # arrived, the link lost the cancellation and served on.
    monkeypatch.setattr(aiomqtt, "Client", LosesOneCancellation)
    add_readings(kiosk, 5)

    async def scenario():
        LosesOneCancellation.reached = asyncio.Event()
        task = asyncio.create_task(kiosk.run())
        await LosesOneCancellation.reached.wait()
        task.cancel()  # what the kiosk's shutdown does
        with pytest.raises(asyncio.CancelledError):
            await task

    # Fixed, it ends at once (a lost stop that the flag misses is re-sent after 5 s); before
    # the fix it ran on for ~30 s here, and for minutes in the chaos test.
    aio.run(scenario(), timeout=15)
    assert kiosk.link.state.connects == 1


def test_a_stop_at_any_moment_of_the_connection_ends_the_gateway(kiosk, peer):
    add_readings(kiosk, 30)

    async def scenario():
        for delay_ms in range(0, 400, 10):
            task = asyncio.create_task(kiosk.run())
            await asyncio.sleep(delay_ms / 1000)
            await cancel_and_wait(task, grace_s=30)  # the first cancellation must be enough

    aio.run(scenario(), timeout=120)
    assert kiosk.link.state.connects >= 10, "the stops all came before the link was up"
