"""What ingest does beyond the ledger: producers, lots, credit events, rosters, pruned repeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import DBAPIError

from cloud_bridge.domain import roster
from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from cloud_bridge.store import (
    CertificateRecord,
    CreditEvent,
    Lot,
    Producer,
    RosterState,
    session_factory,
)
from cloud_bridge.store.models import LedgerRecord
from tests.support.cloud import enroll, scalar
from tests.support.kiosk_messages import FakeKiosk


def write(writer: BatchWriter, *messages: tuple[str, bytes]):
    now = datetime.now(UTC)
    return writer.write([Inbound(t, p, i, 1, now) for i, (t, p) in enumerate(messages)])


def test_a_registered_producer_enters_the_registry_and_raises_the_roster(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    result = write(writer, kiosk.producer("p-1", name="李四", phone="13900001111"))
    assert result.roster_stations == {kiosk.station_id}
    with session_factory(store)() as session:
        producer = session.get(Producer, "p-1")
        assert producer is not None
        assert (producer.name, producer.phone, producer.station_id) == (
            "李四", "13900001111", kiosk.station_id)
        assert session.get(RosterState, kiosk.station_id).version == 1
        # the kiosk is behind its station's roster until it is sent
        assert roster.pending(session) == [(kiosk.device_id, kiosk.station_id, 1)]
        message = roster.build(session, kiosk.device_id, kiosk.station_id, 1)
    assert [e.producer_id for e in message.producers] == ["p-1"]
    assert message.producers[0].pin_hash is not None and message.version == 1


def test_an_older_update_never_overwrites_a_newer_one(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    now = datetime.now(UTC)
    # As one kiosk makes them: the registration first (seq 1), the update later (seq 2).
    newer = kiosk.producer("p-2", action="updated", name="新名字", when=now, seq=2)
    older = kiosk.producer("p-2", action="registered", name="旧名字",
                           when=now - timedelta(hours=1), seq=1)
    write(writer, newer)
    write(writer, older)  # arrives later (a shared subscription keeps no order)
    with session_factory(store)() as session:
        assert session.get(Producer, "p-2").name == "新名字"
        assert session.get(RosterState, kiosk.station_id).version == 1


def test_a_positive_lot_is_a_credit_event_once(store: Engine, kiosk: FakeKiosk,
                                               writer: BatchWriter) -> None:
    lot = kiosk.lot("blocked_positive", producer_id="p-9")
    write(writer, lot)
    again = write(writer, lot)
    assert again.verdicts[0].outcome is Outcome.DUPLICATE
    with session_factory(store)() as session:
        stored = session.scalars(select(Lot)).one()
        events = session.scalars(select(CreditEvent)).all()
    assert stored.outcome == "blocked_positive" and stored.producer_id == "p-9"
    assert [(e.producer_id, e.kind, e.points) for e in events] == [("p-9", "positive_result", 10)]


def test_a_void_is_a_credit_event_and_never_unrevokes(store: Engine, kiosk: FakeKiosk,
                                                      writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    token = json.loads(cert[1])["body"]["certificate"]["token"]
    write(writer, cert)
    with session_factory(store).begin() as session:
        record = session.get(CertificateRecord, token)
        record.status = "revoked"
    write(writer, kiosk.void(token, reason="称重错误"))
    with session_factory(store)() as session:
        record = session.get(CertificateRecord, token)
        assert record.status == "revoked" and record.void_reason == "称重错误"
        kinds = session.scalars(select(CreditEvent.kind)).all()
    assert kinds == ["voided_certificate"]


def test_a_pruned_record_sent_again_is_a_duplicate_not_a_new_record(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    first = kiosk.reading()
    write(writer, first, kiosk.reading())
    with session_factory(store).begin() as session:  # what the retention job does
        session.execute(text("DELETE FROM strip_readings WHERE seq = 1"))
        session.execute(delete(LedgerRecord).where(LedgerRecord.seq == 1))
    result = write(writer, first)
    assert result.verdicts[0].outcome is Outcome.DUPLICATE
    assert result.watermarks == {kiosk.device_id: 2}
    assert scalar(store, "SELECT count(*) FROM ledger") == 1


def test_the_ledger_and_history_refuse_updates(store: Engine, kiosk: FakeKiosk,
                                               writer: BatchWriter) -> None:
    write(writer, kiosk.reading())
    with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
        conn.execute(text("UPDATE ledger SET kind = 'x'"))
    with store.begin() as conn:
        conn.execute(text("INSERT INTO history (at, entity, entity_id, action, actor) "
                          "VALUES (:at, 'device', 'k', 'enrolled', 'cli')"),
                     {"at": datetime.now(UTC).replace(tzinfo=None)})
    with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
        conn.execute(text("UPDATE history SET actor = 'someone else'"))


def test_the_last_record_time_is_kept_per_kiosk(store: Engine, kiosk: FakeKiosk,
                                                writer: BatchWriter) -> None:
    write(writer, kiosk.reading())
    assert scalar(store, "SELECT last_record_at FROM ack_watermarks") is not None


def test_rosters_go_only_to_enrolled_kiosks_of_the_station(store: Engine,
                                                           writer: BatchWriter) -> None:
    a, b, other = FakeKiosk(station_id="ST1"), FakeKiosk(station_id="ST1"), FakeKiosk(
        station_id="ST2")
    enroll(store, a, b, other)
    write(writer, a.producer("p-5"))
    with session_factory(store).begin() as session:
        assert {d for d, _, _ in roster.pending(session)} == {a.device_id, b.device_id}
        roster.mark_sent(session, {a.device_id: 1})
        assert [d for d, _, _ in roster.pending(session)] == [b.device_id]
        assert roster.pending(session, [a.device_id]) == []


def test_a_kiosk_retired_between_prepare_and_commit_is_refused(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    from cloud_bridge.store import retire_device

    now = datetime.now(UTC)
    prepared = writer.prepare([Inbound(*kiosk.reading(), 1, 1, now)])
    with session_factory(store).begin() as session:
        retire_device(session, kiosk.device_id, confirm=kiosk.device_id,
                      reason="test: retired")
    result = writer.commit(prepared)
    assert result.verdicts[0].rejection is not None
    assert result.verdicts[0].rejection.code == "retired_device"


def test_a_kiosk_enrolled_after_its_batch_was_prepared_is_checked_in_the_transaction(
    store: Engine, writer: BatchWriter
) -> None:
    late = FakeKiosk()
    now = datetime.now(UTC)
    good = writer.prepare([Inbound(*late.reading(), 1, 1, now)])
    forged_obj = json.loads(late.reading()[1])
    forged_obj["reading"]["call"] = "positive"  # changed after signing
    forged = writer.prepare([Inbound(late.reading()[0], json.dumps(forged_obj).encode(), 2, 1,
                                     now)])
    enroll(store, late)
    assert writer.commit(good).verdicts[0].outcome is Outcome.RECORDED
    assert writer.commit(forged).verdicts[0].rejection.code == "bad_signature"
