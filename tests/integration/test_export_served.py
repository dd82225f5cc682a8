"""CSV exports under a real uvicorn server, the API building its own engines from the settings
as ``nongan bridge serve`` does (issue 11, a smaller item): on PostgreSQL the readers are
AUTOCOMMIT, and the export's server-side cursor (``yield_per``) cannot be opened outside a
transaction, so the body was cut off after the headers. Every row must arrive, on both
databases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine

from cloud_bridge.api import create_app
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.settings import load_settings
from tests.cloud_bridge.api_support import make_keys
from tests.support.cloud import enroll
from tests.support.kiosk_messages import FakeKiosk
from tests.support.live_server import live_server


def test_a_csv_export_of_thousands_of_rows_arrives_whole(database_url: str, store: Engine
                                                         ) -> None:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    writer = BatchWriter(store)
    now = datetime.now(UTC)
    for _ in range(5):  # more rows than one fetch of the cursor (1,000)
        writer.write([Inbound(*kiosk.certificate(), i, 1, now) for i in range(500)])
    keys = make_keys(store)
    settings = load_settings(None, database={"url": database_url},
                             api={"public_rate_per_minute": 0})
    with live_server(create_app(settings)) as base:
        response = httpx.get(f"{base}/api/v1/export/certificates.csv", timeout=60,
                             headers={"Authorization": f"Bearer {keys.operator}"})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert table[0][:2] == ["token", "serial"]
    assert len(table) == 1 + 2500
    assert len({row[0] for row in table[1:]}) == 2500
