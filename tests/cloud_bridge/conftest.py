"""Fixtures for the cloud bridge's unit tests: a migrated store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from tests.support.cloud import enroll, migrated_engine
from tests.support.kiosk_messages import FakeKiosk


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    with migrated_engine(database_url) as engine:
        yield engine


@pytest.fixture
def kiosk(store: Engine) -> FakeKiosk:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    return kiosk


@pytest.fixture
def writer(store: Engine) -> BatchWriter:
    return BatchWriter(store, payload_cap=1024)
