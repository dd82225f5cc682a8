"""Honest health (issue 11): ``/healthz`` and the dashboard tell a stalled ingest from a quiet
one, from the workers' heartbeat rows alone (the API never talks to a worker).

A real worker on a real Mosquitto, on SQLite and PostgreSQL: quiet and healthy; retrying
because the store refuses everything (a trigger the test adds: a real refusal, retried as an
outage) while it holds a message; back, with a dead letter waiting; resolved; stopped. And a
worker whose way to the database is cut: its heartbeat stops, and healthz says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cloud_bridge.api import create_app
from cloud_bridge.ingest import IngestWorker
from cloud_bridge.ingest.resolution import discard
from cloud_bridge.settings import load_settings
from cloud_bridge.store import make_engine, migrate
from protocol import StatusMessage, seal, status_topic
from tests.cloud_bridge.api_support import make_keys
from tests.cloud_bridge.test_dashboard import login
from tests.integration.test_bridge_outage import outage_for
from tests.support.cloud import bridge_settings, enroll, rows, wait_until
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher

pytestmark = pytest.mark.mosquitto

LIMITS = {"worker_silent_s": 2.0, "ingest_stall_s": 1.0}


@contextmanager
def api(engine: Engine) -> Iterator[TestClient]:
    settings = load_settings(None, dashboard=LIMITS, api={"public_rate_per_minute": 0,
                                                             "secure_cookies": False})
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as c:
        yield c


def health(client: TestClient) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.json()


def problems(client: TestClient) -> str:
    return " | ".join(health(client)[1].get("ingest", {}).get("problems", []))


def refuse_everything(engine: Engine, on: bool) -> None:
    """A poison status the store refuses, and a dead-letter table that refuses every row: the
    worker cannot settle the message, which is an outage (it retries)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            if on:
                conn.execute(text("ALTER TABLE device_status ADD CONSTRAINT no_poison "
                                  "CHECK (software_version <> 'poison')"))
                conn.execute(text("ALTER TABLE dead_letters ADD CONSTRAINT none_at_all "
                                  "CHECK (count < 0)"))
            else:
                conn.execute(text("ALTER TABLE dead_letters DROP CONSTRAINT none_at_all"))
        elif on:
            conn.execute(text("CREATE TRIGGER no_poison BEFORE INSERT ON device_status "
                              "WHEN NEW.software_version = 'poison' "
                              "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"))
            conn.execute(text("CREATE TRIGGER none_at_all BEFORE INSERT ON dead_letters "
                              "BEGIN SELECT RAISE(ABORT, 'nothing'); END"))
        else:
            conn.execute(text("DROP TRIGGER none_at_all"))


def test_healthz_and_the_dashboard_show_a_retrying_worker_and_waiting_dead_letters(
    mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    kiosk = FakeKiosk()
    enroll(store, kiosk)
    keys = make_keys(store)
    settings = bridge_settings(mosquitto.url, database_url, heartbeat_s=0.2,
                               retry_initial_s=0.05, retry_max_s=0.2)
    with api(store) as client, Publisher(mosquitto.url) as publisher:
        assert health(client) == (200, {"status": "ok", "database": "ok"})  # nothing yet
        worker = IngestWorker(settings, store).start()
        try:
            publisher.publish([kiosk.certificate()])
            wait_until(lambda: health(client)[1].get("ingest", {}).get("workers"))
            status, body = health(client)
            assert status == 200 and body["status"] == "ok"
            assert body["ingest"]["workers"][0]["state"] == "running"

            refuse_everything(store, True)
            fields = kiosk.header("status", state="online", graceful=False,
                                  software_version="poison")
            publisher.publish([(status_topic(kiosk.device_id),
                                seal(StatusMessage, fields, kiosk.key)[1])])
            wait_until(lambda: "retrying" in problems(client))
            status, body = health(client)
            assert status == 503 and body["status"] == "degraded"
            assert body["ingest"]["status"] == "stalled"
            [w] = body["ingest"]["workers"]
            assert w["state"] == "retrying" and w["in_hand"] >= 1
            assert "refuses even a minimal dead letter" in w["last_error"]
            wait_until(lambda: (health(client)[1]["ingest"]["workers"][0]
                                ["oldest_in_hand_age_s"] or 0) > LIMITS["ingest_stall_s"])
            login(client, keys.operator)
            fleet = client.get("/dashboard").text
            assert 'data-ingest="stalled"' in fleet and "retrying" in fleet

            refuse_everything(store, False)  # the poison can now be filed as a dead letter
            wait_until(lambda: "dead letter(s) wait" in problems(client))
            assert "retrying" not in problems(client)
            assert health(client)[0] == 503
            assert 'data-ingest="attention"' in client.get("/dashboard").text
            [(letter,)] = rows(store, "SELECT id FROM dead_letters")
            discard(store, letter, actor="test", reason="a test's poison")
            wait_until(lambda: health(client)[0] == 200)
            assert health(client)[1]["ingest"]["status"] == "ok"
            assert client.get("/healthz?scope=api").json() == {"status": "ok",
                                                               "database": "ok"}
            worker.check()
        finally:
            worker.stop()
        status, body = health(client)
        assert status == 503 and "no ingest worker is running" in body["ingest"]["problems"][0]


def test_a_worker_cut_off_from_the_database_goes_silent_on_healthz(
    mosquitto: Mosquitto, database_url: str
) -> None:
    kiosk = FakeKiosk()
    migrate(database_url)
    direct = make_engine(database_url)
    enroll(direct, kiosk)
    settings = bridge_settings(mosquitto.url, database_url, heartbeat_s=0.2,
                               retry_initial_s=0.05, retry_max_s=0.2)
    try:
        with outage_for(database_url) as outage, api(direct) as client, \
                Publisher(mosquitto.url) as publisher:
            cut_off = make_engine(outage.url, busy_timeout_ms=100)
            try:
                with IngestWorker(settings, cut_off) as worker:
                    publisher.publish([kiosk.certificate()])
                    wait_until(lambda: health(client)[1].get("ingest", {}).get("workers"))
                    assert health(client)[0] == 200
                    outage.down()
                    publisher.publish([kiosk.certificate()])
                    if database_url.startswith("sqlite"):
                        # The "outage" is another process's exclusive lock: the API cannot
                        # read either, and says so.
                        wait_until(lambda: health(client) == (
                            503, {"status": "unavailable", "database": "unreachable"}))
                    else:
                        # Only the worker's way to the database is cut: its heartbeat stops.
                        wait_until(lambda: "silent" in problems(client), timeout=30)
                        assert health(client)[0] == 503
                    outage.up()
                    wait_until(lambda: health(client)[0] == 200, timeout=30)
                    worker.check()
            finally:
                cut_off.dispose()
    finally:
        direct.dispose()
