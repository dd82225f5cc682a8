"""Fixtures for the cloud bridge's unit tests: a migrated store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from tests.cloud_bridge.api_support import Keys, api_client, make_keys
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


@pytest.fixture
def keys(store: Engine) -> Keys:
    return make_keys(store)


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    """The API on the store (modules that need other settings define their own)."""
    with api_client(store) as client:
        yield client
