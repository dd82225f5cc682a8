"""What the kiosk publishes, seen by Mosquitto's own client, validates against the checked-in
JSON Schemas, and the birth message is retained."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time

import jsonschema
import pytest

from gateway.app import Gateway
from protocol.batch import is_batch_topic, split_batch
from protocol.schemas import SCHEMA_DIR, schema_filename
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading
from tests.support import aio

pytestmark = pytest.mark.mosquitto

SCHEMA_FOR = {
    "status": "status",
    "telemetry": "telemetry",
    "event/test": "event-test",
    "event/certificate": "event-certificate",
    "event/batch": "event-batch",
}

MOSQUITTO_SUB = shutil.which("mosquitto_sub")


def schema_for(topic: str) -> dict:
    channel = "/".join(topic.split("/")[3:])
    return json.loads((SCHEMA_DIR / schema_filename(SCHEMA_FOR[channel])).read_text())


def subscribe(port: int, *extra: str) -> subprocess.Popen[str]:
    assert MOSQUITTO_SUB, "mosquitto_sub not found: apt-get install mosquitto-clients"
    return subprocess.Popen(
        [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(port), "-t", "nongan/v1/#", "-q", "1",
         "-F", "%r %t %p", *extra],
        stdout=subprocess.PIPE, text=True,
    )


def test_published_messages_match_the_schemas_and_birth_is_retained(tmp_path, mosquitto):
    sub = subscribe(mosquitto.port)
    time.sleep(0.3)  # let the subscription settle before the kiosk publishes
    kiosk = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    try:
        kiosk.books.readings.record(reading())
        from gateway.issuance import Lot, Promisor

        kiosk.books.issuer.issue(
            Promisor("P-001", "张三", "13800001234"),
            Lot("chives", "韭菜", 50, "kg", "370902"),
            [kiosk.books.readings.get(kiosk_reading_id(kiosk))],
        )

        async def scenario():
            task = asyncio.create_task(kiosk.run())
            deadline = time.monotonic() + 15
            while kiosk.link.state.published < 2 or kiosk.link.state.connects < 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # one telemetry period
            # A subscriber arriving now gets the retained birth at once.
            birth.append(await asyncio.to_thread(first_retained_status, mosquitto.port))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        birth: list[tuple[str, dict]] = []
        aio.run(scenario())
    finally:
        kiosk.close()
        time.sleep(0.3)
        sub.terminate()
        out, _ = sub.communicate(timeout=5)

    seen = set()
    for line in out.splitlines():
        _retained, topic, payload = line.split(" ", 2)
        jsonschema.Draft202012Validator(schema_for(topic)).validate(json.loads(payload))
        # A batch's records are validated as if they had come on their own topics.
        for part_topic, part in (split_batch(topic, payload.encode()) if is_batch_topic(topic)
                                 else [(topic, payload.encode())]):
            jsonschema.Draft202012Validator(schema_for(part_topic)).validate(json.loads(part))
            seen.add("/".join(part_topic.split("/")[3:]))
    assert {"status", "telemetry", "event/test", "event/certificate"} <= seen

    [(retained_flag, status)] = birth
    assert retained_flag == "1"
    assert (status["kind"], status["state"]) == ("status", "online")
    # After a graceful stop the retained status says so.
    assert first_retained_status(mosquitto.port)[1]["state"] == "offline"


def first_retained_status(port: int) -> tuple[str, dict]:
    """What a subscriber arriving now receives first on the status topic (-C 1)."""
    late = subprocess.run(
        [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(port), "-t",
         "nongan/v1/kiosk-0001/status", "-C", "1", "-W", "5", "-F", "%r %p"],
        capture_output=True, text=True, timeout=10,
    )
    retained_flag, payload = late.stdout.strip().split(" ", 1)
    return retained_flag, json.loads(payload)


def kiosk_reading_id(kiosk: Gateway) -> str:
    with kiosk.books.db.read() as conn:
        return conn.execute("SELECT reading_id FROM readings").fetchone()[0]
