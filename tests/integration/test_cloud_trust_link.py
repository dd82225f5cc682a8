"""A kiosk never forgets a record, applies a roster or runs a command on the word of anyone
but the cloud: through a real Mosquitto, a forger with the cloud's publish rights (the issue's
`nongan-bridge` login) sends unsigned, mis-signed, another kiosk's and replayed messages.

Each is refused: the records stay unacknowledged (and are re-sent), the kiosk raises the
``cloud_message_refused`` alarm (a ledger record the operator sees) and counts them in its
telemetry; genuine messages keep working, and a rotation moves the kiosk to a new key.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest

from gateway.app import Gateway
from gateway.cloud_trust import ALARM_CODE
from gateway.pins import hash_pin
from protocol import (
    ack_topic,
    generate_private_key,
    key_id,
    keys_topic,
    public_key_text,
    roster_topic,
)
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading
from tests.support import aio, cloud_key
from tests.support.mqtt_clients import Publisher

pytestmark = pytest.mark.mosquitto

DEVICE = "kiosk-0001"


async def until(predicate, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def unsigned_ack(acked_seq: int, device: str = DEVICE) -> bytes:
    return json.dumps({"v": 1, "kind": "ack", "device_id": device, "acked_seq": acked_seq,
                       "time": datetime.now(UTC).isoformat()}).encode()


def acked(gw: Gateway) -> int:
    return gw.books.outbox.stats().acked_seq


def test_forged_acks_make_the_kiosk_forget_nothing(tmp_path, mosquitto) -> None:
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    for _ in range(6):
        gw.books.readings.record(reading())
    forger = generate_private_key()
    genuine_for_another = cloud_key.ack_payload("kiosk-0002", 6)
    relabelled = json.loads(cloud_key.ack_payload(DEVICE, 6, key=forger))
    relabelled["kid"] = key_id(cloud_key.private_key())  # claims the cloud's key id
    forgeries = [
        unsigned_ack(6),                                   # the forged ack
        cloud_key.ack_payload(DEVICE, 6, key=forger),      # signed, by a key not pinned
        json.dumps(relabelled).encode(),                   # the cloud's key id, not its key
        genuine_for_another,                               # the cloud's, for another kiosk
    ]

    async def scenario() -> None:
        task = asyncio.create_task(gw.run())
        try:
            await until(lambda: gw.link.state.connects >= 1)
            with Publisher(mosquitto.url) as pub:
                for payload in forgeries:
                    pub.publish([(ack_topic(DEVICE), payload)], retain=True)
                await until(lambda: gw.link.trust.counters.refused >= len(forgeries))
                assert acked(gw) == 0, "a forged ack made the kiosk forget records"
                # the cloud's own ack still works...
                pub.publish([(ack_topic(DEVICE), cloud_key.ack_payload(DEVICE, 4))],
                            retain=True)
                await until(lambda: acked(gw) == 4)
                # ...and a replay of an older genuine one is stale: ignored, counted
                pub.publish([(ack_topic(DEVICE), cloud_key.ack_payload(DEVICE, 2))],
                            retain=True)
                await until(lambda: gw.link.trust.counters.stale >= 1)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    try:
        aio.run(scenario())
        stats = gw.books.outbox.stats()
        assert (stats.acked_seq, stats.unacked) == (4, 2 + 1)  # 2 readings and the alarm
        assert [a.code for a in gw.books.alarms.active()] == [ALARM_CODE]
        telemetry = gw.link.trust.telemetry()
        assert telemetry["cloud_messages_refused"] == len(forgeries)
        assert telemetry["cloud_messages_stale"] == 1
        errors = " ".join(gw.link.state.errors)
        assert "not signed by the cloud" in errors and "does not trust" in errors
        assert "does not match cloud key" in errors and "kiosk-0002" in errors
    finally:
        gw.close()


def test_forged_rosters_and_commands_change_nothing_and_run_nothing(tmp_path, mosquitto) -> None:
    runs: list[str] = []

    async def diagnostics(command):
        runs.append(command.cmd_id)
        return {}

    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url),
                      commands={"diagnostics": diagnostics})
    forger = generate_private_key()
    farmer = [{"producer_id": "P-1", "name": "郭金凤", "phone": "13912340000",
               "origin_code": "370902", "pin_hash": hash_pin("7777")}]
    genuine = cloud_key.command_payload(DEVICE, "diagnostics", "a" * 32)

    async def scenario() -> None:
        task = asyncio.create_task(gw.run())
        try:
            await until(lambda: gw.link.state.connects >= 1)
            with Publisher(mosquitto.url) as pub:
                [(_, forged_page)] = cloud_key.roster_pages(DEVICE, 9, farmer, key=forger)
                pub.publish([(roster_topic(DEVICE, 0), forged_page)], retain=True)
                pub.publish([("nongan/v1/kiosk-0001/cmd/diagnostics",
                              cloud_key.command_payload(DEVICE, "diagnostics", "b" * 32,
                                                        key=forger))])
                await until(lambda: gw.link.trust.counters.refused >= 2)
                assert gw.books.producers.roster_version is None and runs == []
                # genuine: a roster in two pages, and a command run once, however often sent
                pages = cloud_key.roster_pages(DEVICE, 3, farmer * 1 + [
                    {**farmer[0], "producer_id": "P-2"}], pages=2)
                pub.publish([(roster_topic(DEVICE, n), payload) for n, payload in pages],
                            retain=True)
                for _ in range(3):
                    pub.publish([("nongan/v1/kiosk-0001/cmd/diagnostics", genuine)])
                await until(lambda: gw.books.producers.roster_version == 3 and
                            gw.link.trust.counters.stale >= 2)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    try:
        aio.run(scenario())
        assert runs == ["a" * 32]
        assert gw.books.producers.count() == 2
        assert gw.books.producers.verify_pin("P-2", "7777")
    finally:
        gw.close()


def test_a_key_rotation_reaches_a_kiosk_and_the_old_key_stops_counting(tmp_path,
                                                                        mosquitto) -> None:
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    for _ in range(4):
        gw.books.readings.record(reading())
    old, new = cloud_key.private_key(), generate_private_key()

    def key_set(keys, retired, signer) -> bytes:
        body = {"v": 1, "kind": "keys", "device_id": DEVICE,
                "keys": [{"kid": key_id(k), "public_key": public_key_text(k)} for k in keys],
                "retired": [key_id(k) for k in retired], "time": datetime.now(UTC).isoformat()}
        return json.dumps(cloud_key.signed(body, signer)).encode()

    async def scenario() -> None:
        task = asyncio.create_task(gw.run())
        try:
            await until(lambda: gw.link.state.connects >= 1)
            with Publisher(mosquitto.url) as pub:
                # the switch: acks signed by the new key; the key set, signed by the old key
                # the kiosk still trusts, adds the new one and retires the old
                pub.publish([(keys_topic(DEVICE), key_set([new], [old], old))], retain=True)
                await until(lambda: gw.link.trust.trusted_ids() == [key_id(new)])
                pub.publish([(ack_topic(DEVICE), cloud_key.ack_payload(DEVICE, 2, key=new))],
                            retain=True)
                await until(lambda: acked(gw) == 2)
                pub.publish([(ack_topic(DEVICE), cloud_key.ack_payload(DEVICE, 4, key=old))],
                            retain=True)
                await until(lambda: gw.link.trust.counters.refused >= 1)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    try:
        aio.run(scenario())
        assert acked(gw) == 2  # the retired key's ack changed nothing
    finally:
        gw.close()


def test_the_cloud_sends_a_signed_command_and_the_kiosk_answers(
    tmp_path, mosquitto, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nongan bridge command``: the cloud's own signed command, run by a real gateway."""
    from cloud_bridge.store import enroll_device, make_engine, migrate, session_factory
    from nongan.cli import main

    database_url = f"sqlite:///{tmp_path / 'cloud.db'}"
    migrate(database_url)
    engine = make_engine(database_url)
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    with session_factory(engine).begin() as session:
        enroll_device(session, device_id=DEVICE, public_key=gw.identity.public_key,
                      station_id="ST01", place_code="370902")
    engine.dispose()
    monkeypatch.setenv("NONGAN_BRIDGE_SIGNING__KEY_FILE", str(cloud_key.key_file()))
    monkeypatch.setenv("NONGAN_BRIDGE_BROKER__URL", mosquitto.url)
    statuses: list[int] = []

    async def scenario() -> None:
        task = asyncio.create_task(gw.run())
        try:
            await until(lambda: gw.link.state.connects >= 1)
            statuses.append(await asyncio.to_thread(
                main, ["bridge", "command", "--id", DEVICE, "--database-url", database_url,
                       "--timeout", "20"]))
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    try:
        aio.run(scenario(), timeout=60)
    finally:
        gw.close()
    answer = json.loads(capsys.readouterr().out)
    assert answer["kind"] == "command_result" and answer["name"] == "diagnostics"
    assert answer["result"]["device_id"] == DEVICE
    assert gw.link.trust.counters.refused == 0
    # the kiosk's answer says "fault" (never calibrated, no devices): exit 1, the report shown
    assert statuses == [0 if answer["ok"] else 1]
