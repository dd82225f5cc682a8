"""What an ingest worker tells kiosks: acks, roster pages, key sets and commands, each signed by
the cloud's key and never larger than the broker accepts.

A broker disconnects a client that sends a packet above its ``max_packet_size``; for a worker
that is every unacknowledged message of every kiosk back to the broker, and a roster that is
rebuilt and re-sent on reconnect makes it a loop. So every publish goes through ``publish``,
which measures the whole MQTT packet against the limit (the settings' ``max_packet_size``, or
the smaller one the broker announced in its CONNACK) and refuses, with a log line, anything
above it; rosters are split into pages that fit (``roster_pages``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

from cloud_bridge.errors import IngestError
from cloud_bridge.signing import CloudSigner
from protocol import (
    MAX_PAYLOAD_BYTES,
    MAX_ROSTER_PAGES,
    RosterEntry,
    ack_topic,
    canonical_json,
    command_topic,
    keys_topic,
    roster_topic,
)

log = logging.getLogger(__name__)

PAGE_ENVELOPE_MARGIN = 512
"""Bytes a roster page's members other than its producers may take (ids, times, signature)."""


class PacketTooLarge(IngestError):
    """A message that would exceed the broker's packet limit; it was not published."""

    code = "packet_too_large"
    translation_key = "error.packet_too_large"


def _varint_len(value: int) -> int:
    length = 1
    while value >= 128:
        value //= 128
        length += 1
    return length


def packet_size(topic: str, payload_len: int, *, v5: bool, qos: int = 1) -> int:
    """The size of the MQTT PUBLISH packet carrying ``payload_len`` bytes on ``topic``: fixed
    header, topic, packet id, (MQTT 5) an empty property list, payload."""
    remaining = 2 + len(topic.encode("utf-8")) + (2 if qos else 0) + (1 if v5 else 0) \
        + payload_len
    return 1 + _varint_len(remaining) + remaining


@dataclass(frozen=True, slots=True)
class RosterPlan:
    """A roster split into pages: each page's producers."""

    pages: list[list[RosterEntry]]


def plan_roster_pages(entries: Sequence[RosterEntry], budget: int) -> RosterPlan:
    """Split ``entries`` (in order) into pages whose producers take at most ``budget`` bytes.

    Raises:
        PacketTooLarge: one entry alone exceeds the budget, or more than the protocol's
            ``MAX_ROSTER_PAGES`` pages would be needed.
    """
    pages: list[list[RosterEntry]] = [[]]
    used = 2  # "[]"
    for entry in entries:
        size = len(canonical_json(entry.model_dump(mode="json"))) + 1  # and a comma
        if size + 2 > budget:
            raise PacketTooLarge(f"roster entry {entry.producer_id} alone is {size} bytes, over "
                                 f"the page budget of {budget}")
        if used + size > budget and pages[-1]:
            pages.append([])
            used = 2
        pages[-1].append(entry)
        used += size
    if len(pages) > MAX_ROSTER_PAGES:
        raise PacketTooLarge(f"the roster needs {len(pages)} pages, more than the "
                             f"{MAX_ROSTER_PAGES} the protocol allows")
    return RosterPlan(pages)


class KioskPublisher:
    """Signs and publishes cloud -> kiosk messages on one paho client, within the packet limit.

    Args:
        client: the worker's paho client (connected or reconnecting).
        signer: the cloud's signing key(s).
        max_packet_size: the broker's limit from the settings.
        v5: whether the client speaks MQTT 5 (the packet has a property list).
    """

    def __init__(self, client: mqtt.Client, signer: CloudSigner, *, max_packet_size: int,
                 v5: bool) -> None:
        self.client = client
        self.signer = signer
        self.configured_limit = max_packet_size
        self.broker_limit: int | None = None
        self.v5 = v5
        self.refused = 0

    @property
    def limit(self) -> int:
        """The largest packet this worker may send: the smaller of the settings' and the
        broker's own (MQTT 5 CONNACK Maximum Packet Size)."""
        if self.broker_limit is None:
            return self.configured_limit
        return min(self.configured_limit, self.broker_limit)

    def publish(self, topic: str, body: dict[str, Any], *, retain: bool,
                sign: bool = True) -> mqtt.MQTTMessageInfo:
        """Sign ``body`` (unless ``sign`` is False, for a prepared signed body) and publish it
        at QoS 1.

        Raises:
            PacketTooLarge: the packet would exceed the limit; nothing was sent.
        """
        payload = canonical_json(self.signer.sign(body) if sign else body)
        if len(payload) > MAX_PAYLOAD_BYTES:  # a kiosk decodes no more (protocol.codec)
            self.refused += 1
            raise PacketTooLarge(f"a {len(payload)}-byte message on {topic} exceeds the "
                                 f"protocol's {MAX_PAYLOAD_BYTES} bytes; not sent")
        size = packet_size(topic, len(payload), v5=self.v5)
        if size > self.limit:
            self.refused += 1
            raise PacketTooLarge(f"a {size}-byte packet on {topic} exceeds the broker's limit "
                                 f"of {self.limit} bytes; not sent")
        return self.client.publish(topic, payload, qos=1, retain=retain)

    def clear(self, topic: str) -> mqtt.MQTTMessageInfo:
        """Remove a retained message (an empty retained publish)."""
        return self.client.publish(topic, b"", qos=1, retain=True)

    # ------------------------------------------------------------------ the messages

    def ack(self, device_id: str, acked_seq: int, now: datetime) -> mqtt.MQTTMessageInfo:
        body = {"v": 1, "kind": "ack", "device_id": device_id, "acked_seq": acked_seq,
                "time": now.isoformat()}
        return self.publish(ack_topic(device_id), body, retain=True)

    def key_set(self, device_id: str, now: datetime) -> mqtt.MQTTMessageInfo:
        return self.publish(keys_topic(device_id), self.signer.key_set(device_id, now),
                            retain=True, sign=False)

    def command(self, device_id: str, name: str, cmd_id: str, args: dict[str, Any],
                now: datetime, expires_at: datetime | None = None) -> mqtt.MQTTMessageInfo:
        body: dict[str, Any] = {"v": 1, "kind": "command", "device_id": device_id,
                                "cmd_id": cmd_id, "name": name, "args": args,
                                "time": now.isoformat()}
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        return self.publish(command_topic(device_id, name), body, retain=False)

    def roster_budget(self, device_id: str) -> int:
        """Bytes the producers of one roster page may take on this kiosk's topics: within the
        packet limit and within the payload a kiosk decodes."""
        topic = roster_topic(device_id, MAX_ROSTER_PAGES - 1)
        payload = min(self.limit - packet_size(topic, 0, v5=self.v5), MAX_PAYLOAD_BYTES)
        return payload - PAGE_ENVELOPE_MARGIN

    def roster(self, device_id: str, version: int, entries: Sequence[RosterEntry],
               generated_at: datetime, previous_pages: int) -> tuple[int, bool]:
        """Publish one kiosk's roster as pages, then clear pages a longer roster left.

        Returns:
            ``(pages, handed_over)``: how many pages, and whether paho took every publish.

        Raises:
            PacketTooLarge: the roster cannot be paged within the limit; nothing was sent.
        """
        plan = plan_roster_pages(entries, self.roster_budget(device_id))
        pages = len(plan.pages)
        infos = []
        for number, producers in enumerate(plan.pages):
            body = {"v": 1, "kind": "roster", "device_id": device_id, "version": version,
                    "page": number, "pages": pages, "generated_at": generated_at.isoformat(),
                    "producers": [p.model_dump(mode="json") for p in producers]}
            infos.append(self.publish(roster_topic(device_id, number), body, retain=True))
        for number in range(pages, min(previous_pages, MAX_ROSTER_PAGES)):
            infos.append(self.clear(roster_topic(device_id, number)))
        return pages, all(info.rc == mqtt.MQTT_ERR_SUCCESS for info in infos)
