"""The cloud's ``diagnostics`` command, answered by a running gateway over a real Mosquitto."""

from __future__ import annotations

import asyncio
import json

import paho.mqtt.client as mqtt
import pytest

from tests.gateway.station_helpers import simulated_gateway
from tests.support import aio, cloud_key

pytestmark = pytest.mark.mosquitto


from tests.integration.test_link_mosquitto import wait_until  # noqa: E402


def test_the_gateway_answers_diagnostics(tmp_path, mosquitto):
    gw = simulated_gateway(tmp_path / "kiosk", mosquitto.url)
    frames_before = gw.devices.camera.frames_delivered
    results: list[dict] = []
    cloud = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    cloud.on_message = lambda c, u, m: results.append(json.loads(m.payload))
    cloud.connect("127.0.0.1", mosquitto.port)
    cloud.subscribe("nongan/v1/kiosk-0001/cmd-result/diagnostics", qos=1)
    cloud.loop_start()

    async def scenario():
        task = asyncio.create_task(gw.run())
        await wait_until(lambda: gw.link.state.connects >= 1)
        await asyncio.sleep(0.2)
        cloud.publish("nongan/v1/kiosk-0001/cmd/diagnostics",
                      cloud_key.command_payload("kiosk-0001", "diagnostics", "d" * 32), qos=1)
        await wait_until(lambda: results)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        aio.run(scenario())
    finally:
        cloud.loop_stop()
        cloud.disconnect()
        gw.close()
    [answer] = results
    assert answer["ok"] is True, answer
    report = answer["result"]
    assert report["device_id"] == "kiosk-0001"
    checks = {(c["area"], c["name"]): c for c in report["checks"]}
    assert checks[("calibration", "reader reader-1")]["status"] == "fault"  # never calibrated
    assert checks[("broker", f"127.0.0.1:{mosquitto.port}")]["status"] == "ok"
    assert "connected" in checks[("broker", f"127.0.0.1:{mosquitto.port}")]["detail"]
    assert "not exercised" in checks[("devices", "camera (simulated)")]["detail"]
    assert report["status"] == "fault" and report["counts"]["fault"] >= 1
    assert gw.devices.camera.frames_delivered == frames_before  # nothing was captured
