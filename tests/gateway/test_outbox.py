import json
import threading
from datetime import timedelta

import pytest

from gateway.outbox import AckBeyondLedger
from gateway.storage import StorageError
from protocol import EventName, decode, verify_object
from tests.protocol.samples import reading


def append(gateway, n=1):
    records = []
    for _ in range(n):
        with gateway.books.db.transaction() as conn:
            record, _ = gateway.books.outbox.append(conn, EventName.TEST, {"reading": reading()})
        records.append(record)
    return records


def test_records_are_numbered_signed_and_valid(gateway):
    records = append(gateway, 3)
    assert [r.seq for r in records] == [1, 2, 3]
    for record in records:
        decoded = decode(record.topic, record.payload)
        verify_object(decoded.raw, gateway.identity.public_key)
        assert decoded.message.seq == record.seq
    assert gateway.books.outbox.stats().unacked == 3


def test_seq_survives_a_restart(gateway, tmp_path):
    append(gateway, 2)
    from gateway.app import Gateway

    reopened = Gateway.open(gateway.settings)
    try:
        assert append(reopened, 1)[0].seq == 3
    finally:
        reopened.close()


def test_rollback_keeps_no_record_and_no_seq(gateway):
    with pytest.raises(RuntimeError), gateway.books.db.transaction() as conn:
        gateway.books.outbox.append(conn, EventName.TEST, {"reading": reading()})
        raise RuntimeError("printer caught fire before commit")
    assert gateway.books.outbox.stats().unacked == 0
    assert append(gateway)[0].seq == 1


def test_listeners_hear_only_commits(gateway):
    heard = threading.Event()
    gateway.books.outbox.add_listener(heard.set)
    with pytest.raises(RuntimeError), gateway.books.db.transaction() as conn:
        gateway.books.outbox.append(conn, EventName.TEST, {"reading": reading()})
        raise RuntimeError
    assert not heard.is_set()
    append(gateway)
    assert heard.is_set()


def test_drain_states_and_ack(gateway):
    records = append(gateway, 5)
    batch = gateway.books.outbox.next_batch(10)
    assert [r.seq for r in batch] == [1, 2, 3, 4, 5]
    outbox = gateway.books.outbox
    assert [r.seq for r in outbox.next_batch(10, exclude=[records[0].id])] == [2, 3, 4, 5]
    gateway.books.outbox.mark_sent([r.id for r in records[:3]])
    assert [r.seq for r in gateway.books.outbox.next_batch(10)] == [4, 5]
    assert gateway.books.outbox.mark_acked(2) == 2
    assert gateway.books.outbox.mark_acked(1) == 0  # acks are monotonic
    stats = gateway.books.outbox.stats()
    assert (stats.pending, stats.sent, stats.acked_seq) == (2, 1, 2)
    # A reconnect re-sends what was sent but not acknowledged.
    assert gateway.books.outbox.requeue_sent() == 1
    assert [r.seq for r in gateway.books.outbox.next_batch(10)] == [3, 4, 5]


def test_ack_beyond_the_ledger_is_refused(gateway):
    append(gateway, 2)
    with pytest.raises(AckBeyondLedger, match="another kiosk"):
        gateway.books.outbox.mark_acked(3)
    assert gateway.books.outbox.stats().acked_seq == 0


def test_resend_timer_requeues_only_old_sends(gateway):
    records = append(gateway, 2)
    gateway.books.outbox.mark_sent([records[0].id])
    assert gateway.books.outbox.requeue_sent(older_than_s=3600) == 0
    assert gateway.books.outbox.requeue_sent(older_than_s=0) == 1


def test_prune_only_acked_and_old(gateway):
    records = append(gateway, 3)
    gateway.books.outbox.mark_sent([r.id for r in records])
    gateway.books.outbox.mark_acked(2)
    assert gateway.books.outbox.prune(timedelta(days=1)) == 0
    assert gateway.books.outbox.prune(timedelta(seconds=-1)) == 2
    assert gateway.books.outbox.stats().unacked == 1


def test_stored_bytes_are_what_was_signed(gateway):
    record = append(gateway)[0]
    stored = gateway.books.outbox.next_batch(1)[0]
    assert stored.payload == record.payload
    assert json.loads(stored.payload)["sig"]


def test_a_failed_commit_is_a_storage_error(gateway, monkeypatch):
    # A disk that refuses the write must surface as StorageError with nothing kept.
    gateway.books.db._conn.execute("PRAGMA query_only = ON")
    try:
        with pytest.raises(StorageError, match="cannot"), gateway.books.db.transaction() as conn:
            gateway.books.outbox.append(conn, EventName.TEST, {"reading": reading()})
    finally:
        gateway.books.db._conn.execute("PRAGMA query_only = OFF")
    assert gateway.books.outbox.stats().unacked == 0


def test_a_full_disk_is_a_storage_error_and_keeps_nothing_half_made(gateway):
    from gateway.issuance import Lot, Promisor

    recorded = gateway.books.readings.record(reading())
    conn = gateway.books.db._conn
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        with pytest.raises(StorageError, match="database or disk is full"):
            for n in range(200):
                gateway.books.issuer.issue(Promisor(f"P{n}", "王五", "13800000000"),
                                     Lot("chives", "韭菜", 1, "kg", "370902"),
                                     [recorded.reading])
    finally:
        conn.execute("PRAGMA max_page_count = 1073741823")
    with gateway.books.db.read() as c:
        certs = c.execute("SELECT count(*) FROM certificates").fetchone()[0]
        records = c.execute("SELECT count(*) FROM outbox WHERE kind = 'certificate'").fetchone()[0]
    assert certs == records
