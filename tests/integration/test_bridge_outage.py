"""The database goes away under a running ingest worker, and comes back: nothing is lost or
doubled, nothing is acknowledged before it is committed, and a worker that crashes says so.

SQLite "goes away" by another connection holding an exclusive lock (a backup, a stuck
process); PostgreSQL by a TCP proxy that cuts every connection and refuses new ones.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError

from cloud_bridge.ingest import IngestWorker, WorkerCrashed
from cloud_bridge.store import LedgerRecord, make_engine, migrate
from protocol import CloudAck, ack_topic
from tests.support.cloud import bridge_settings, count, enroll, rows, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher, TopicWatcher
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.mosquitto


class Outage(Protocol):
    url: str

    def down(self) -> None: ...
    def up(self) -> None: ...


class SqliteLock:
    """Another connection holding SQLite's exclusive lock: every writer gets 'locked'."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = make_url(url).database
        self.conn: sqlite3.Connection | None = None

    def down(self) -> None:
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")

    def up(self) -> None:
        if self.conn is not None:
            self.conn.execute("ROLLBACK")
            self.conn.close()
            self.conn = None


class PostgresCut:
    def __init__(self, proxy: TcpProxy, url: str) -> None:
        self.proxy = proxy
        self.url = url

    def down(self) -> None:
        self.proxy.cut()

    def up(self) -> None:
        self.proxy.restore()


@contextmanager
def outage_for(database_url: str) -> Iterator[Outage]:
    if database_url.startswith("sqlite"):
        lock = SqliteLock(database_url)
        try:
            yield lock
        finally:
            lock.up()
        return
    url = make_url(database_url)
    with TcpProxy(url.port or 5432) as proxy:
        yield PostgresCut(proxy, url.set(port=proxy.port).render_as_string(hide_password=False))


def acked(watcher: TopicWatcher, kiosk: FakeKiosk) -> int:
    payload = watcher.latest.get(ack_topic(kiosk.device_id))
    return CloudAck.model_validate_json(payload).acked_seq if payload else 0


def test_database_outage_loses_nothing_doubles_nothing_and_acks_nothing_early(
    mosquitto: Mosquitto, database_url: str
) -> None:
    kiosk = FakeKiosk()
    migrate(database_url)
    with outage_for(database_url) as outage:
        engine = make_engine(outage.url, busy_timeout_ms=100)
        enroll(engine, kiosk)
        settings = bridge_settings(mosquitto.url, database_url, retry_initial_s=0.05,
                                   retry_max_s=0.2)
        watcher = TopicWatcher(mosquitto.url, ack_topic(kiosk.device_id))
        try:
            with watcher, Publisher(mosquitto.url) as publisher:
                worker = IngestWorker(settings, engine).start()
                try:
                    publisher.publish([kiosk.certificate()])
                    assert watcher.wait_for(lambda _: acked(watcher, kiosk) == 1)

                    outage.down()
                    publisher.publish([kiosk.certificate() for _ in range(5)])
                    wait_until(lambda: worker.stats.database_retries >= 2)
                    assert acked(watcher, kiosk) == 1, "nothing may be acked while uncommitted"
                    assert worker.stats.pubacks_sent == 1
                finally:
                    # Stop the worker while the database is still away: its batch stays with
                    # the broker, unacknowledged.
                    worker.stop()
                assert not worker.crashed
                outage.up()

                # The same client id resumes the broker session and gets the batch again.
                with IngestWorker(settings, engine) as again:
                    assert watcher.wait_for(lambda _: acked(watcher, kiosk) == 6)
                    again.check()
        finally:
            engine.dispose()

    check = make_engine(database_url)
    try:
        assert count(check, LedgerRecord) == 6
        assert [s for (s,) in rows(check, "SELECT seq FROM ledger ORDER BY seq")] == [1, 2, 3, 4,
                                                                                     5, 6]
    finally:
        check.dispose()


def test_database_back_under_the_same_worker_commits_the_kept_batch(
    mosquitto: Mosquitto, database_url: str
) -> None:
    kiosk = FakeKiosk()
    migrate(database_url)
    with outage_for(database_url) as outage:
        engine = make_engine(outage.url, busy_timeout_ms=100)
        enroll(engine, kiosk)
        settings = bridge_settings(mosquitto.url, database_url, retry_initial_s=0.05,
                                   retry_max_s=0.2)
        try:
            with TopicWatcher(mosquitto.url, ack_topic(kiosk.device_id)) as watcher, \
                    Publisher(mosquitto.url) as publisher, \
                    IngestWorker(settings, engine) as worker:
                outage.down()
                publisher.publish([kiosk.certificate() for _ in range(4)])
                wait_until(lambda: worker.stats.database_retries >= 2)
                assert acked(watcher, kiosk) == 0
                outage.up()
                assert watcher.wait_for(lambda _: acked(watcher, kiosk) == 4)
                assert worker.stats.recorded == 4 and worker.stats.duplicates == 0
                assert count(engine, LedgerRecord) == 4
                worker.check()
        finally:
            engine.dispose()


def test_a_crashing_committer_stops_the_worker_loudly_and_acknowledges_nothing(
    mosquitto: Mosquitto, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = FakeKiosk()
    migrate(database_url)
    engine = make_engine(database_url)
    enroll(engine, kiosk)
    settings = bridge_settings(mosquitto.url, database_url)
    try:
        worker = IngestWorker(settings, engine).start()

        def broken(batch: object) -> object:
            raise RuntimeError("bug in the writer")

        worker._writer.commit = broken  # type: ignore[method-assign]
        with Publisher(mosquitto.url) as publisher:
            publisher.publish([kiosk.certificate()])
            with pytest.raises(WorkerCrashed, match="bug in the writer"):
                worker.wait(timeout=10)
        assert not worker.running
        worker.stop()
        assert "crashed" in caplog.text
        assert worker.stats.pubacks_sent == 0

        # The message was never acknowledged, so a healthy worker gets it again.
        with IngestWorker(settings, engine) as healthy:
            wait_until(lambda: count(engine, LedgerRecord) == 1)
            healthy.check()
    finally:
        engine.dispose()


def test_a_database_error_that_is_no_outage_crashes_the_worker_instead_of_retrying_for_ever(
    mosquitto: Mosquitto, database_url: str
) -> None:
    kiosk = FakeKiosk()
    migrate(database_url)
    engine = make_engine(database_url)
    enroll(engine, kiosk)
    try:
        worker = IngestWorker(bridge_settings(mosquitto.url, database_url), engine).start()

        def unbindable(batch: object) -> object:
            raise StatementError("(builtins.OverflowError) date value out of range",
                                 "INSERT INTO device_status ...", {}, OverflowError())

        worker._writer.commit = unbindable  # type: ignore[method-assign]
        with Publisher(mosquitto.url) as publisher:
            publisher.publish([kiosk.certificate()])
            with pytest.raises(WorkerCrashed, match="out of range"):
                worker.wait(timeout=10)
        worker.stop()
        assert worker.stats.database_retries == 0 and worker.stats.pubacks_sent == 0
    finally:
        engine.dispose()
