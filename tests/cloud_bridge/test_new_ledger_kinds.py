"""Producer and lot events are ledger records: stored once, counted in the watermark."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from cloud_bridge.ingest.inbound import Inbound
from cloud_bridge.ingest.writer import BatchWriter
from cloud_bridge.store import make_engine, migrate, session_factory
from cloud_bridge.store.models import LedgerRecord
from protocol import LotEvent, ProducerEvent, generate_private_key, public_key_text, seal
from tests.protocol.samples import header


def test_producer_and_lot_events_enter_the_ledger(database_url):
    from cloud_bridge.store import enroll_device

    migrate(database_url)
    engine = make_engine(database_url)
    key = generate_private_key()
    with session_factory(engine)() as session:
        enroll_device(session, device_id="kiosk-0001", public_key=public_key_text(key),
                      station_id="ST01", place_code="370902")
        session.commit()
    now = datetime.now(UTC)
    _, producer = seal(ProducerEvent, {
        **header(), "kind": "producer", "seq": 1, "action": "registered",
        "producer": {"producer_id": "P-1", "name": "张三", "phone": "13800001234",
                     "origin_code": "370902", "registered_at": now.isoformat(),
                     "registered_by": "kiosk-0001"},
    }, key)
    _, lot = seal(LotEvent, {
        **header(), "kind": "lot", "seq": 2, "session_id": uuid.uuid4().hex,
        "outcome": "blocked_unresolved", "product_code": "chives",
    }, key)
    result = BatchWriter(engine).write([
        Inbound("nongan/v1/kiosk-0001/event/producer", producer, mid=1, qos=1, received_at=now),
        Inbound("nongan/v1/kiosk-0001/event/lot", lot, mid=2, qos=1, received_at=now),
    ])
    assert result.watermarks == {"kiosk-0001": 2}
    with session_factory(engine)() as session:
        kinds = session.scalars(select(LedgerRecord.kind).order_by(LedgerRecord.seq)).all()
    assert kinds == ["producer", "lot"]
    engine.dispose()
