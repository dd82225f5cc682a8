"""A client for the dynamic security plugin's control API (``$CONTROL/dynamic-security/v1``).

The plugin takes commands as JSON published on its control topic and answers on
``.../response``; it applies each at once (a deleted client is disconnected there and then) and
saves its configuration file itself. This client connects as the cloud's provisioning account
(``broker_admin`` in the bridge's settings; its role may use the control topic and nothing
else), sends commands in requests below the broker's packet limit, and waits for every answer.
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt

from cloud_bridge.errors import BrokerError
from protocol.config import BrokerConnection

from .dynsec import CONTROL_TOPIC, RESPONSE_TOPIC

REQUEST_BYTES = 100_000
"""Commands per request are grouped up to about this many bytes (the broker's packet limit is
larger)."""


class ControlError(BrokerError):
    """The broker could not be reached, refused the account, or answered a command with an
    error; one line a person can act on."""

    code = "broker_control"


class DynsecControl:
    """A connection to the plugin's control API. Use as a context manager."""

    def __init__(self, broker: BrokerConnection, *, timeout: float = 10.0) -> None:
        self.broker = broker
        self.timeout = timeout
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"nongan-admin-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self.client.tls_set(
                ca_certs=str(broker.ca_file) if broker.ca_file else None,
                certfile=str(broker.cert_file) if broker.cert_file else None,
                keyfile=str(broker.key_file) if broker.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED)
        self._answers: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._refusal: str | None = None
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def __enter__(self) -> DynsecControl:
        try:
            self.client.connect(self.broker.host, self.broker.port, self.broker.keepalive_s)
        except (OSError, ssl.SSLError) as exc:
            raise ControlError(f"cannot reach the broker at {self.broker.url}: {exc}") from None
        self.client.loop_start()
        if not self._connected.wait(self.timeout) or self._refusal is not None:
            self._close()
            raise ControlError(f"the broker at {self.broker.url} did not accept "
                               f"{self.broker.username!r}: {self._refusal or 'no answer'}")
        self.client.subscribe(RESPONSE_TOPIC, qos=1)
        if not self._subscribed.wait(self.timeout) or self._refusal is not None:
            self._close()
            raise ControlError(f"{self.broker.username!r} may not read the dynamic security "
                               f"answers on {self.broker.url}: {self._refusal or 'no answer'} "
                               "(is the plugin loaded, and does the account have the "
                               "nongan-admin role?)")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close()

    def _close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
        self._connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            self._refusal = ", ".join(failed)
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            responses = json.loads(message.payload).get("responses", [])
        except (ValueError, AttributeError):
            return
        with self._changed:
            for answer in responses:
                if isinstance(answer, dict) and isinstance(answer.get("correlationData"), str):
                    self._answers[answer["correlationData"]] = answer
            self._changed.notify_all()

    def run(self, commands: list[dict[str, Any]], *, tolerate: tuple[str, ...] = ()
            ) -> list[dict[str, Any]]:
        """Send ``commands`` and return their answers in order.

        Args:
            tolerate: error texts that are not failures (e.g. "Client not found" when deleting
                something already gone).

        Raises:
            ControlError: no answer in time, or an answer with an error not tolerated.
        """
        ids = [uuid.uuid4().hex for _ in commands]
        batch: list[dict[str, Any]] = []
        size = 0
        for command, cid in zip(commands, ids, strict=True):
            item = {**command, "correlationData": cid}
            item_size = len(json.dumps(item))
            if batch and size + item_size > REQUEST_BYTES:
                self._send(batch)
                batch, size = [], 0
            batch.append(item)
            size += item_size
        if batch:
            self._send(batch)
        with self._changed:
            if not self._changed.wait_for(lambda: all(i in self._answers for i in ids),
                                          self.timeout + len(commands) * 0.01):
                raise ControlError(f"the broker did not answer {len(commands)} dynamic security "
                                   "command(s) in time")
            answers = [self._answers.pop(i) for i in ids]
        for command, answer in zip(commands, answers, strict=True):
            error = answer.get("error")
            if error and error not in tolerate:
                raise ControlError(f"the broker refused {command['command']} "
                                   f"{_subject(command)}: {error}")
        return answers

    def _send(self, batch: list[dict[str, Any]]) -> None:
        info = self.client.publish(CONTROL_TOPIC, json.dumps({"commands": batch}), qos=1)
        info.wait_for_publish(self.timeout)
        if not info.is_published():
            raise ControlError("the broker did not take the dynamic security request")


def _subject(command: dict[str, Any]) -> str:
    for key in ("username", "rolename"):
        if key in command:
            return f"{key}={command[key]!r}"
    return ""
