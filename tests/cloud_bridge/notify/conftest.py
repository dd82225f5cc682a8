"""Fixtures for the notification tests: a real SMTP server (aiosmtpd), TLS files from our own
PKI code, a clock the tests move, and settings that point the channels at them."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloud_bridge.pki import init_ca
from cloud_bridge.settings import BridgeSettings, load_settings
from tests.support.smtp import SmtpServer

SECRET = "webhook-secret-for-tests-0123456789"


class Clock:
    """An aware UTC clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    @staticmethod
    def real() -> Callable[[], datetime]:
        """The wall clock, for the tests of the loop in real time."""
        return lambda: datetime.now(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class TlsFiles:
    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    folder = tmp_path / "pki"
    init_ca(folder, broker_hosts=["localhost", "127.0.0.1"])
    return TlsFiles(folder / "ca.crt", folder / "broker.crt", folder / "broker.key")


def settings_for(smtp_port: int | None = None, *, database_url: str = "sqlite:///unused.db",
                 **notify: Any) -> BridgeSettings:
    """Settings whose e-mail goes to a local server without TLS and whose webhooks are signed
    with ``SECRET``; ``notify`` overrides the rest of the section."""
    smtp = {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout_s": 5,
            "from_address": "nongan@county.example"} if smtp_port else {}
    return load_settings(None, database={"url": database_url},
                         api={"public_base_url": "https://cloud.example.cn"},
                         notify={"smtp": smtp, "webhook": {"secret": SECRET, "timeout_s": 5},
                                 **notify})
