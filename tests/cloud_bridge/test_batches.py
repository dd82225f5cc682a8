"""A kiosk's batch envelope (event/batch) is split into its records before anything else."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from protocol.batch import make_batch
from tests.support.cloud import count, enroll, migrated_engine
from tests.support.kiosk_messages import FakeKiosk


def inbound(topic: str, payload: bytes, mid: int = 1) -> Inbound:
    return Inbound(topic, payload, mid=mid, qos=1, received_at=datetime.now(UTC))


def test_records_in_a_batch_are_stored_each_and_a_bad_one_alone(database_url):
    from cloud_bridge.store.models import DeadLetter, LedgerRecord

    kiosk = FakeKiosk()
    with migrated_engine(database_url) as engine:
        enroll(engine, kiosk)
        records = [kiosk.certificate(), kiosk.reading(), kiosk.certificate()]
        envelope = json.loads(make_batch(kiosk.device_id, [p for _, p in records]))
        envelope["records"][1]["seq"] = 99  # a record whose signature no longer matches
        topic = f"nongan/v1/{kiosk.device_id}/event/batch"
        result = BatchWriter(engine).write([inbound(topic, json.dumps(envelope).encode())])
        assert [v.outcome for v in result.verdicts].count(Outcome.RECORDED) == 2
        assert [v.outcome for v in result.verdicts].count(Outcome.DEAD_LETTER) == 1
        assert count(engine, LedgerRecord) == 2
        assert count(engine, DeadLetter) == 1
        assert result.watermarks == {kiosk.device_id: 1}  # seq 2 is missing: stop below it
        # The same batch again (a redelivery) changes nothing.
        again = BatchWriter(engine).write([inbound(topic, make_batch(
            kiosk.device_id, [records[0][1], records[2][1]]), mid=2)])
        assert {v.outcome for v in again.verdicts} == {Outcome.DUPLICATE}
        assert count(engine, LedgerRecord) == 2


def test_a_malformed_envelope_is_one_dead_letter(database_url):
    from cloud_bridge.store.models import DeadLetter

    kiosk = FakeKiosk()
    with migrated_engine(database_url) as engine:
        enroll(engine, kiosk)
        topic = f"nongan/v1/{kiosk.device_id}/event/batch"
        result = BatchWriter(engine).write([inbound(topic, b'{"v": 1, "kind": "batch"}')])
        [verdict] = result.verdicts
        assert verdict.outcome is Outcome.DEAD_LETTER
        assert "batch envelope" in verdict.rejection.reason
        assert count(engine, DeadLetter) == 1
