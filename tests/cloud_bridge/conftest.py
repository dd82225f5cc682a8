"""Fixtures for the cloud bridge's unit tests: a migrated store on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from tests.support.cloud import enroll
from tests.support.kiosk_messages import FakeKiosk


@pytest.fixture
def kiosk(store: Engine) -> FakeKiosk:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    return kiosk


@pytest.fixture
def writer(store: Engine) -> BatchWriter:
    return BatchWriter(store, payload_cap=1024)
