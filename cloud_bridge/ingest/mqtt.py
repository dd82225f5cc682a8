"""The ingest worker's paho-mqtt client: persistent session, manual acks, QoS 1 subscriptions.

paho 2 with ``CallbackAPIVersion.VERSION2`` and ``manual_ack=True``: paho sends no PUBACK by
itself, the worker does after its database commit. The session outlives a restart (a fixed
client id; MQTT 5 ``clean_start=False`` with a session expiry, MQTT 3.1.1
``clean_session=False``) so that messages received but not acknowledged when a worker stops are
delivered again when it comes back, and MQTT 5's receive maximum lets the broker keep a whole
batch in flight.

The session expiry is short (``broker.session_expiry_s``, 60 s): Mosquitto does not hand a
departed member's messages to the rest of a shared subscription; it keeps queueing that
member's round-robin share in its session until the session expires, then drops them. A
worker that leaves for good therefore strands messages only until its session expires, and
the kiosks re-send every record the cloud has not acknowledged (docs/reliability.md). MQTT
3.1.1 has no session expiry: use it only with one worker (the demo's embedded broker).
"""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from cloud_bridge.settings import BrokerSection, IngestSection
from protocol import shared, subscription
from protocol.registry import KIOSK_CHANNELS


def subscription_filters(ingest: IngestSection) -> list[str]:
    """The topic filters of the ingest workers, shared through ``$share/{group}/`` if asked."""
    filters = [subscription(channel) for channel in KIOSK_CHANNELS]
    if ingest.shared_subscription:
        filters = [shared(ingest.group, f) for f in filters]
    return filters


def build_client(broker: BrokerSection, client_id: str) -> mqtt.Client:
    """A paho client configured for ingest (callbacks are set by the worker)."""
    v5 = broker.protocol == "5"
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else False,
        manual_ack=True,
    )
    # Outgoing: the retained acks. Many can be pending after a big batch; do not cap the queue.
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(
            ca_certs=str(broker.ca_file) if broker.ca_file else None,
            certfile=str(broker.cert_file) if broker.cert_file else None,
            keyfile=str(broker.key_file) if broker.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    return client


def connect_async(client: mqtt.Client, broker: BrokerSection) -> None:
    """Start connecting (the network loop completes it and reconnects after a loss)."""
    if broker.protocol == "5":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = broker.session_expiry_s
        props.ReceiveMaximum = broker.receive_maximum
        client.connect_async(broker.host, broker.port, broker.keepalive_s, clean_start=False,
                             properties=props)
    else:
        client.connect_async(broker.host, broker.port, broker.keepalive_s)


def subscribe_all(client: mqtt.Client, broker: BrokerSection, filters: list[str]) -> int:
    """Subscribe to ``filters`` at QoS 1; returns the SUBSCRIBE's message id."""
    if broker.protocol == "5":
        # retain_handling=1: replay retained messages only for a subscription that is new,
        # not every time a persistent session reconnects.
        options = SubscribeOptions(qos=1, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        result, mid = client.subscribe([(f, options) for f in filters])
    else:
        result, mid = client.subscribe([(f, 1) for f in filters])
    if result != mqtt.MQTT_ERR_SUCCESS:
        raise ConnectionError(f"subscribe failed: {mqtt.error_string(result)}")
    return int(mid or 0)
