"""The outbox under arbitrary sequences of operations: appends, sends, acks (in any order,
repeated, stale), requeues and restarts. Invariants: seqs are 1..n with no gap, nothing is
ever acked beyond what the cloud acknowledged, and nothing unacknowledged disappears."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import Gateway
from gateway.outbox import AckBeyondLedger
from protocol import EventName
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 3)),
        st.tuples(st.just("send"), st.integers(1, 5)),
        st.tuples(st.just("ack"), st.integers(0, 30)),
        st.tuples(st.just("requeue"), st.just(0)),
        st.tuples(st.just("prune"), st.just(0)),
        st.tuples(st.just("restart"), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(OPS)
def test_outbox_invariants(tmp_path_factory, ops):
    settings_ = kiosk_settings(tmp_path_factory.mktemp("kiosk"))
    gateway = Gateway.open(settings_)
    made = 0
    cloud_acked = 0
    try:
        for op, n in ops:
            if op == "append":
                for _ in range(n):
                    with gateway.books.db.transaction() as conn:
                        gateway.books.outbox.append(conn, EventName.TEST, {"reading": reading()})
                    made += 1
            elif op == "send":
                gateway.books.outbox.mark_sent([r.id for r in gateway.books.outbox.next_batch(n)])
            elif op == "ack":
                try:
                    gateway.books.outbox.mark_acked(n)
                    cloud_acked = max(cloud_acked, n)
                except AckBeyondLedger:
                    assert n > made
            elif op == "requeue":
                gateway.books.outbox.requeue_sent()
            elif op == "prune":
                gateway.books.outbox.prune(timedelta(seconds=-1))
            else:
                gateway.close()
                gateway = Gateway.open(settings_)
            stats = gateway.books.outbox.stats()
            assert stats.last_seq == made
            assert stats.acked_seq == cloud_acked
            assert stats.unacked == made - cloud_acked
            with gateway.books.db.read() as conn:
                seqs = [r[0] for r in conn.execute(
                    "SELECT seq FROM outbox WHERE state != 'acked' ORDER BY seq")]
            assert seqs == list(range(cloud_acked + 1, made + 1))
    finally:
        gateway.close()
