"""Sending one kiosk a command, signed with the cloud's key, and waiting for its answer.

``nongan bridge command --id kiosk-0042`` asks a kiosk for its diagnostics (what ``nongan
doctor`` would print there). The command carries the kiosk's id, an id of its own, a time and
an expiry, and the cloud's signature (docs/protocol.md); the kiosk runs it once and answers on
``cmd-result/{name}``, which the ingest workers also store.
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt

from cloud_bridge.errors import BridgeError
from cloud_bridge.ingest.outbound import KioskPublisher
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.signing import CloudSigner
from cloud_bridge.store.types import utcnow
from protocol import command_result_topic


class CommandFailed(BridgeError):
    """The broker could not be reached, or the kiosk did not answer in time."""

    code = "command_failed"
    translation_key = "error.command_failed"


def send_command(settings: BridgeSettings, device_id: str, name: str, *,
                 args: dict[str, Any] | None = None, timeout: float = 30.0,
                 expires_in: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    """Publish a signed command and return the kiosk's answer (the ``CommandResult`` object).

    Raises:
        CommandFailed: no broker, or no answer within ``timeout`` seconds (the command stays
            queued for the kiosk until ``expires_in`` has passed; it is run at most once).
        cloud_bridge.signing.SigningKeyError: no usable signing key.
    """
    signer = CloudSigner.from_settings(settings.signing)
    broker = settings.broker
    cmd_id = uuid.uuid4().hex
    answer: dict[str, Any] = {}
    got = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"nongan-cmd-{cmd_id[:8]}",
                         protocol=mqtt.MQTTv5 if broker.protocol == "5" else mqtt.MQTTv311)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=str(broker.ca_file) if broker.ca_file else None,
                       certfile=str(broker.cert_file) if broker.cert_file else None,
                       keyfile=str(broker.key_file) if broker.key_file else None,
                       cert_reqs=ssl.CERT_REQUIRED)

    def on_message(c: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(body, dict) and body.get("cmd_id") == cmd_id:
            answer.update(body)
            got.set()

    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    try:
        client.connect(broker.host, broker.port, broker.keepalive_s)
    except (OSError, ssl.SSLError) as exc:
        raise CommandFailed(f"cannot reach the broker at {broker.url}: {exc}") from None
    client.loop_start()
    try:
        client.subscribe(command_result_topic(device_id, name), qos=1)
        if not subscribed.wait(10):
            raise CommandFailed(f"the broker at {broker.url} did not answer")
        publisher = KioskPublisher(client, signer, max_packet_size=broker.max_packet_size,
                                   v5=broker.protocol == "5")
        now = utcnow()
        publisher.command(device_id, name, cmd_id, args or {}, now, now + expires_in).\
            wait_for_publish(10)
        if not got.wait(timeout):
            raise CommandFailed(f"{device_id} did not answer {name} ({cmd_id}) within "
                                f"{timeout:g} s; it runs it when it is back, until "
                                f"{(now + expires_in):%Y-%m-%d %H:%M} UTC")
        return answer
    finally:
        client.disconnect()
        client.loop_stop()
