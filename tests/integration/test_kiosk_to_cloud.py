"""The whole path on real parts: kiosk gateway -> Mosquitto -> ingest worker -> SQLite and
PostgreSQL -> HTTP API, and the cloud's ack back to the kiosk."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud_bridge.api import create_app
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.settings import load_settings as bridge_settings
from cloud_bridge.store import enroll_device, make_engine, migrate, session_factory
from cloud_bridge.store.models import CertificateRecord, LedgerRecord
from gateway.app import Gateway
from gateway.issuance import Lot, Promisor
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading
from tests.support import aio, cloud_key

pytestmark = pytest.mark.mosquitto


def test_certificates_travel_the_whole_way(tmp_path, mosquitto, database_url):
    migrate(database_url)
    engine = make_engine(database_url)
    kiosk = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url))
    with session_factory(engine)() as session:
        enroll_device(session, device_id=kiosk.identity.device_id,
                      public_key=kiosk.identity.public_key, station_id="ST01",
                      place_code="370902")
        session.commit()
    settings = bridge_settings(None, database={"url": database_url},
                               broker={"url": mosquitto.url},
                               ingest={"client_id": "it-bridge"},
                               signing={"key_file": str(cloud_key.key_file())})
    issued = []
    for n in range(5):
        recorded = kiosk.books.readings.record(reading())
        issued.append(kiosk.books.issuer.issue(
            Promisor(f"P-{n}", "李秀英", "13912345678"),
            Lot("chives", "韭菜", 10 + n, "kg", "370902"),
            [recorded.reading]))
    kiosk.books.issuer.void(issued[0].certificate.token, "printer jam")
    try:
        with IngestWorker(settings, engine):

            async def scenario():
                task = asyncio.create_task(kiosk.run())
                deadline = time.monotonic() + 30
                while kiosk.books.outbox.stats().unacked:
                    assert time.monotonic() < deadline, kiosk.books.outbox.stats()
                    await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

            aio.run(scenario())
        with session_factory(engine)() as session:
            seqs = session.scalars(select(LedgerRecord.seq).order_by(LedgerRecord.seq)).all()
            statuses = dict(session.execute(
                select(CertificateRecord.serial, CertificateRecord.status)).all())
        assert seqs == list(range(1, 12))  # 5 readings, 5 certificates, 1 void
        assert statuses[issued[0].certificate.serial] == "voided"
        assert sum(s == "issued" for s in statuses.values()) == 4
        with TestClient(create_app(settings, engine=engine)) as api:
            body = api.get(f"/api/v1/certificates/{issued[1].certificate.token}").json()
            assert body["serial"] == issued[1].certificate.serial
            assert body["valid"] is True
            assert body["promisor_phone"] == "139****5678"
            assert api.get(f"/api/v1/certificates/{issued[0].certificate.token}").json()[
                "valid"] is False
    finally:
        kiosk.close()
        engine.dispose()
