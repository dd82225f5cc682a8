"""Helpers for cloud bridge tests: a migrated store, enrolled fake kiosks, polling the tables."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func, select, text

from cloud_bridge.settings import BridgeSettings, load_settings
from cloud_bridge.store import enroll_device, make_engine, migrate, session_factory
from tests.support import cloud_key
from tests.support.kiosk_messages import FakeKiosk


@contextmanager
def migrated_engine(database_url: str) -> Iterator[Engine]:
    """A writer engine on a freshly migrated database, disposed afterwards."""
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def enroll(engine: Engine, *kiosks: FakeKiosk) -> None:
    with session_factory(engine).begin() as session:
        for kiosk in kiosks:
            enroll_device(session, device_id=kiosk.device_id, public_key=kiosk.public_key,
                          station_id=kiosk.station_id, place_code=kiosk.place_code)


def bridge_settings(broker_url: str, database_url: str, *, broker: dict[str, Any] | None = None,
                    **ingest: Any) -> BridgeSettings:
    """Settings for a test worker on a private Mosquitto (which supports $share), signing with
    the test suite's cloud key (``tests.support.cloud_key``)."""
    ingest.setdefault("client_id", f"test-bridge-{time.monotonic_ns() % 10**9}")
    return load_settings(
        None,
        database={"url": database_url},
        broker={"url": broker_url, **(broker or {})},
        ingest={"batch_wait_ms": 2, **ingest},
        signing={"key_file": str(cloud_key.key_file())},
    )


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy and return it; fail with AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        time.sleep(interval)


def enroll_identity(engine: Engine, identity: Any, *, station_id: str = "ST01",
                    place_code: str = "370902") -> None:
    """Enrol a real gateway's identity (``gateway.identity.DeviceIdentity``)."""
    with session_factory(engine).begin() as session:
        enroll_device(session, device_id=identity.device_id, public_key=identity.public_key,
                      station_id=station_id, place_code=place_code)
