"""Small paho clients for tests and benchmarks: publish and wait, read a retained message.

Each is a context manager that owns its network thread and joins it on exit, so tests leave
no threads behind.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt


def _client(prefix: str, protocol: int = mqtt.MQTTv311) -> mqtt.Client:
    return mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                       client_id=f"{prefix}-{uuid.uuid4().hex[:8]}", protocol=protocol)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


class Publisher:
    """Publishes at QoS 1 and waits for the broker's PUBACKs (not the cloud's ack)."""

    def __init__(self, url: str, *, inflight: int = 100) -> None:
        self.client = _client("test-pub")
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.url = url

    def __enter__(self) -> Publisher:
        host, port = _host_port(self.url)
        self.client.connect(host, port)
        self.client.loop_start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, messages: Iterable[tuple[str, bytes]], *, retain: bool = False,
                timeout: float = 30.0) -> int:
        infos = [self.client.publish(topic, payload, qos=1, retain=retain)
                 for topic, payload in messages]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise TimeoutError("the broker did not acknowledge a publish in time")
        return len(infos)


class TopicWatcher:
    """Subscribes to one filter and keeps the last payload per topic (retained ones too)."""

    def __init__(self, url: str, topic_filter: str) -> None:
        self.client = _client("test-watch")
        self.url = url
        self.filter = topic_filter
        self.latest: dict[str, bytes] = {}
        self.count = 0
        self._changed = threading.Condition()
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe(self.filter, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._changed:
            self.latest[msg.topic] = bytes(msg.payload)
            self.count += 1
            self._changed.notify_all()

    def __enter__(self) -> TopicWatcher:
        host, port = _host_port(self.url)
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError(f"could not subscribe to {self.filter}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> bool:
        """Wait until ``predicate(latest)`` is true."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.latest):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True
