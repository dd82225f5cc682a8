"""The kv table's helpers (gateway.storage.kv)."""

from gateway.storage import kv


def test_get_set_and_integers(gateway):
    with gateway.books.db.transaction() as conn:
        assert kv.get(conn, "nothing") is None
        assert kv.get_int(conn, "nothing") is None
        assert kv.get_int(conn, "nothing", 0) == 0
        kv.set(conn, "answer", 41)
        kv.set(conn, "answer", 42)  # replaces
        kv.set(conn, "name", "kiosk")
    with gateway.books.db.read() as conn:
        assert kv.get(conn, "answer") == "42"
        assert kv.get_int(conn, "answer") == 42 and kv.get_int(conn, "answer", 0) == 42
        assert kv.get(conn, "name") == "kiosk"


def test_the_outbox_and_the_roster_keys_are_read_through_it(gateway):
    from tests.gateway.test_outbox import append

    append(gateway, 3)
    gateway.books.outbox.mark_acked(2)
    with gateway.books.db.read() as conn:
        assert kv.get_int(conn, kv.ACKED_SEQ, 0) == gateway.books.outbox.stats().acked_seq == 2
        assert kv.get_int(conn, kv.ROSTER_VERSION) is None
    assert gateway.books.producers.roster_version is None
