"""Fixtures shared by every test: private brokers, fresh databases, and leak checks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine

from tests.support.cloud import migrated_engine
from tests.support.mosquitto import Mosquitto
from tests.support.postgres import fresh_schema, postgres_available

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Property tests explore new random examples on every developer run (and keep the failures in
# .hypothesis/ to replay them); CI runs a fixed set derived from each test, so a red build is
# always about the change under test and can be reproduced. A failure prints its blob.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if IN_CI else "dev")


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves threads running: a worker nobody owns is a bug."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not extra, f"test left threads running: {[t.name for t in extra]}"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto on a free loopback port, with its own config file."""
    broker = Mosquitto(workdir=tmp_path / "mosquitto").start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL to a fresh schema on the local PostgreSQL, dropped afterwards.

    Skipped on a developer machine without PostgreSQL; a failure in CI, where it must exist.
    """
    reason = postgres_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    with fresh_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test that takes this runs twice: on SQLite in tmp_path and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cloud.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    """A migrated cloud store on ``database_url`` (so on both databases), disposed after."""
    with migrated_engine(database_url) as engine:
        yield engine
