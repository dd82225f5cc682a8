"""Ingest under arbitrary orderings, duplications and batchings of valid messages: the store
ends with each record exactly once and the ack watermark equal to the contiguous prefix."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cloud_bridge.ingest import BatchWriter, Inbound
from tests.support.cloud import enroll, migrated_engine
from tests.support.kiosk_messages import FakeKiosk

KIOSK = FakeKiosk(device_id="kiosk-fuzz")
RECORDS = [KIOSK.certificate() if i % 3 else KIOSK.reading() for i in range(12)]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    st.lists(st.integers(0, len(RECORDS) - 1), min_size=1, max_size=40),
    st.lists(st.integers(1, 8), min_size=1, max_size=10),
)
def test_any_order_any_duplicates_any_batches(tmp_path_factory, order, batch_sizes):
    url = f"sqlite:///{tmp_path_factory.mktemp('cloud') / 'cloud.db'}"
    with migrated_engine(url) as engine:
        enroll(engine, KIOSK)
        writer = BatchWriter(engine)
        inbound = [Inbound(RECORDS[i][0], RECORDS[i][1], mid=n, qos=1,
                           received_at=datetime.now(UTC)) for n, i in enumerate(order)]
        position, size_index = 0, 0
        watermark = 0
        while position < len(inbound):
            size = batch_sizes[size_index % len(batch_sizes)]
            result = writer.write(inbound[position:position + size])
            watermark = max(watermark, result.watermarks.get(KIOSK.device_id, 0))
            position += size
            size_index += 1
        with engine.connect() as conn:
            stored = sorted(r[0] for r in conn.execute(
                text("SELECT seq FROM ledger WHERE device_id = 'kiosk-fuzz'")))
            dead = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
        sent = sorted({i + 1 for i in order})
        assert stored == sent
        assert dead == 0
        expected = 0
        while expected + 1 in set(sent):
            expected += 1
        assert watermark == expected
