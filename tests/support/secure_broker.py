"""Mosquitto started with hardware/deploy/mosquitto/nongan.conf, only its ports and folders
changed, plus small TLS MQTT clients for kiosks and the cloud.

``prepare_folder`` lays out the broker's folder as docs/operations.md says: the PKI's CA and
server certificate, the cloud's accounts in ``cloud-passwd``, then ``nongan bridge broker-files
--pki`` for the password file, the dynamic security plugin's configuration and the CRL.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt

from .mosquitto import MOSQUITTO
from .net import free_port, wait_for_port

DEPLOY_CONF = Path(__file__).resolve().parents[2] / "hardware/deploy/mosquitto/nongan.conf"

CLOUD_ACCOUNTS = {"nongan-bridge": "cloud-secret-for-tests",
                  "nongan-admin": "admin-secret-for-tests"}
"""The cloud's broker accounts in a test broker: the workers' and the provisioning one."""


def prepare_folder(folder: Path, pki: Path, database_url: str,
                   accounts: dict[str, str] | None = None) -> Path:
    """Fill a broker folder the way an operator does, from the database and the PKI."""
    from cloud_bridge.domain.broker_auth import mosquitto_hash
    from nongan.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ca.crt", "broker.crt", "broker.key"):
        (folder / name).write_bytes((pki / name).read_bytes())
    (folder / "cloud-passwd").write_text(
        "".join(f"{user}:{mosquitto_hash(password)}\n"
                for user, password in (accounts or CLOUD_ACCOUNTS).items()), encoding="utf-8")
    status = main(["bridge", "broker-files", "--out", str(folder), "--pki", str(pki),
                   "--database-url", database_url])
    assert status == 0, "nongan bridge broker-files failed"
    return folder


@dataclass
class SecureBroker:
    """The deployment's broker on three free loopback ports; files under ``folder``."""

    folder: Path
    cert_port: int = field(default_factory=free_port)
    password_port: int = field(default_factory=free_port)
    cloud_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def render(self) -> Path:
        text = DEPLOY_CONF.read_text(encoding="utf-8")
        text = text.replace("/etc/mosquitto/nongan/", f"{self.folder}/")
        text = text.replace("/var/lib/mosquitto/", f"{self.folder}/data/")
        for deployed, port in ((8883, self.cert_port), (8884, self.password_port),
                               (8885, self.cloud_port)):
            text = text.replace(f"listener {deployed}\n", f"listener {port} 127.0.0.1\n")
        text += f"\nlog_dest file {self.folder}/mosquitto.log\n"
        if os.geteuid() == 0:
            # Test folders are root's (pytest's tmp is 0700): keep the broker from dropping to
            # the mosquitto user, which could not read them. Production files are the broker's.
            text += "user root\n"
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        path = self.folder / "mosquitto.conf"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self, attempts: int = 3) -> SecureBroker:
        """Start the broker; if a chosen port was taken meanwhile (the machine is shared, and a
        free port is only free when it is chosen), choose new ones and try again."""
        log = self.folder / "mosquitto.log"
        for attempt in range(attempts):
            config = self.render()
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                for port in (self.cert_port, self.password_port, self.cloud_port):
                    wait_for_port(port)
                if self.process.poll() is None:
                    return self
            except TimeoutError:
                pass
            self.stop()
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Address already in use" not in text or attempt == attempts - 1:
                raise RuntimeError("mosquitto did not start:\n" + text)
            log.unlink()
            self.cert_port, self.password_port, self.cloud_port = (free_port(), free_port(),
                                                                   free_port())
        raise AssertionError("unreachable")

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password file and CRL again. It logs nothing for that
        at the deployment's log levels: wait for the effect (``eventually``)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


def eventually(predicate: Any, timeout: float = 15.0, interval: float = 0.1) -> bool:
    """Whether ``predicate()`` becomes true within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


class TlsClient:
    """A paho client over TLS that records what it receives and what the broker said."""

    def __init__(self, port: int, ca: Path, *, cert: Path | None = None, key: Path | None = None,
                 username: str | None = None, password: str | None = None,
                 client_id: str | None = None, connect_timeout: float = 10.0) -> None:
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        self.client.tls_set(ca_certs=str(ca), certfile=str(cert) if cert else None,
                            keyfile=str(key) if key else None, cert_reqs=ssl.CERT_REQUIRED)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.port = port
        self.connect_timeout = connect_timeout
        self.received: list[tuple[str, bytes]] = []
        self.connect_result: Any = None
        self.suback: list[Any] = []
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        self.connect_result = reason
        self._connected.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reasons: Any,
                      properties: Any) -> None:
        self.suback = list(reasons)
        self._subscribed.set()

    def __enter__(self) -> TlsClient:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        # A refused TLS handshake never reaches on_connect: do not wait long for it.
        self._connected.wait(self.connect_timeout)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def accepted(self) -> bool:
        return self.connect_result is not None and not self.connect_result.is_failure

    def subscribe(self, *filters: str) -> list[Any]:
        self._subscribed.clear()
        self.client.subscribe([(f, 1) for f in filters])
        self._subscribed.wait(10)
        return self.suback

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> Any:
        """Publish at QoS 1 and wait for the PUBACK; returns its reason (MQTT 5)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        return info.rc
