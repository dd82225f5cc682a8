"""The store: migrations match the models, engines keep UTC, enrolment refuses bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from cloud_bridge.store import (
    Base,
    DeviceStatus,
    EnrolmentError,
    SchemaError,
    enroll_device,
    head_revision,
    list_devices,
    make_engine,
    migrate,
    require_current_schema,
    retire_device,
    session_factory,
)
from tests.support.kiosk_messages import FakeKiosk


def test_the_migrations_build_exactly_the_models(store: Engine) -> None:
    require_current_schema(store)
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_0003_keeps_existing_dead_letters_and_lots_and_keys_lots_by_their_record(
    database_url: str
) -> None:
    """Upgrading a 0002 store with data: dead letters get their topic's hash, lots their new key
    (a second lot event of one session, refused before, now fits)."""
    import hashlib

    from cloud_bridge.ingest import BatchWriter, Inbound
    from tests.support.cloud import enroll, rows

    migrate(database_url, "0002")
    engine = make_engine(database_url)
    try:
        kiosk = FakeKiosk()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO dead_letters (topic, device_id, code, reason, payload, payload_size,"
                " payload_truncated, payload_sha256, first_seen, last_seen, count) VALUES"
                " ('nongan/v1/x/event/y', 'x', 'bad_topic', 'r', :p, 2, false, :h, :t, :t, 1)"),
                {"p": b"{}", "h": "a" * 64, "t": now})
        migrate(database_url, "0003")
        assert rows(engine, "SELECT topic_sha256, state FROM dead_letters") == [
            (hashlib.sha256(b"nongan/v1/x/event/y").hexdigest(), "open")]
        # Today's writer needs today's schema (later revisions add columns it reads); the lots'
        # key is 0003's and no later revision changes it.
        migrate(database_url)
        enroll(engine, kiosk)
        session = "5" * 32
        lot_a, lot_b = kiosk.lot(session_id=session), kiosk.lot(session_id=session)
        result = BatchWriter(engine).write(
            [Inbound(t, p, i, 1, now) for i, (t, p) in enumerate((lot_a, lot_b))])
        assert [v.rejection for v in result.verdicts] == [None, None]
        assert rows(engine, "SELECT seq FROM lots WHERE session_id = :s ORDER BY seq",
                    s=session) == [(1,), (2,)]
        assert rows(engine, "SELECT topic_sha256, state FROM dead_letters") == [
            (hashlib.sha256(b"nongan/v1/x/event/y").hexdigest(), "open")]
    finally:
        engine.dispose()


def test_migrating_twice_is_harmless(database_url: str) -> None:
    assert migrate(database_url) == head_revision()
    assert migrate(database_url) == head_revision()


def test_an_unmigrated_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(SchemaError, match=r"never migrated.*nongan bridge migrate"):
            require_current_schema(engine)
    finally:
        engine.dispose()


def test_sqlite_is_set_up_for_a_ledger(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                       for name in ("journal_mode", "synchronous", "foreign_keys",
                                    "busy_timeout")}
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                           "busy_timeout": 5000}
    finally:
        engine.dispose()


def test_savepoints_work_on_sqlite(tmp_path: Path) -> None:
    """pysqlite's own transaction handling would break this without the engine's event hooks."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            nested = conn.begin_nested()
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            nested.rollback()
            conn.exec_driver_sql("INSERT INTO t VALUES (3)")
        with engine.connect() as conn:
            assert [x for (x,) in conn.execute(text("SELECT x FROM t ORDER BY x"))] == [1, 3]
    finally:
        engine.dispose()


def test_times_come_back_aware_and_in_utc(store: Engine) -> None:
    kiosk = FakeKiosk()
    beijing = timezone(timedelta(hours=8))
    when = datetime(2025, 3, 1, 9, 30, tzinfo=beijing)
    with session_factory(store).begin() as session:
        enroll_device(session, device_id=kiosk.device_id, public_key=kiosk.public_key,
                      station_id="JL01", place_code="220122")
        session.add(DeviceStatus(device_id=kiosk.device_id, state="online", graceful=False,
                                 msg_id="0" * 32, boot_id="1" * 32, kiosk_time=when,
                                 time_synced=True, software_version="0.1",
                                 received_at=when))
    with session_factory(store)() as session:
        status = session.get(DeviceStatus, kiosk.device_id)
        assert status is not None
        assert status.kiosk_time == when and status.kiosk_time.tzinfo == UTC
    with session_factory(store).begin() as session, pytest.raises(Exception, match="naive"):
        session.add(DeviceStatus(device_id=kiosk.device_id, state="x", graceful=False,
                                 msg_id="2" * 32, boot_id="1" * 32,
                                 kiosk_time=datetime(2025, 1, 1), time_synced=False,
                                 software_version="0.1", received_at=when))
        session.flush()


def test_enrolment_checks_its_fields_and_keeps_retired_devices(store: Engine) -> None:
    kiosk = FakeKiosk()
    good = {"device_id": kiosk.device_id, "public_key": kiosk.public_key,
            "station_id": "JL01", "place_code": "220122"}
    bad = [
        ({"device_id": "Kiosk_1"}, "must be 3-63 lower-case"),
        ({"public_key": "abc"}, "public key must be 32 bytes"),
        ({"station_id": "J"}, "station id"),
        ({"place_code": "2201"}, "GB/T 2260"),
    ]
    with session_factory(store)() as session:
        for change, message in bad:
            with pytest.raises(EnrolmentError, match=message):
                enroll_device(session, **{**good, **change})
    with session_factory(store).begin() as session:
        enroll_device(session, **good)
    with session_factory(store).begin() as session, \
            pytest.raises(EnrolmentError, match="already enrolled"):
        enroll_device(session, **good)
    with session_factory(store).begin() as session:
        retired = retire_device(session, kiosk.device_id, confirm=kiosk.device_id,
                                reason="stolen")
        assert retired.state == "retired" and retired.retired_at is not None
    with session_factory(store).begin() as session:
        with pytest.raises(EnrolmentError, match="already retired"):
            retire_device(session, kiosk.device_id, confirm=kiosk.device_id, reason="again")
        with pytest.raises(EnrolmentError, match="already retired"):
            enroll_device(session, **good)
        with pytest.raises(EnrolmentError, match="no device"):
            retire_device(session, "kiosk-nobody", confirm="kiosk-nobody", reason="typo")
    with session_factory(store)() as session:
        assert [(d.id, d.state, d.acked_seq) for d in list_devices(session)] == [
            (kiosk.device_id, "retired", 0)]
