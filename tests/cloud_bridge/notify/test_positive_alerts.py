"""The first real use: a positive reading at a kiosk is e-mailed to the supervisor of its
place exactly once, escalated to the county when nobody acknowledges it, and acknowledged on
the dashboard (who and when); the delivery log shows every notification with its errors."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cloud_bridge.ingest import BatchWriter
from cloud_bridge.notify import add_route
from cloud_bridge.store import HistoryEntry, session_factory
from tests.cloud_bridge.api_support import Keys, record
from tests.cloud_bridge.test_dashboard import csrf_token_for, login
from tests.support.kiosk_messages import FakeKiosk
from tests.support.smtp import SmtpServer

from .conftest import Clock, settings_for
from .helpers import contact, escalation, notifications, worker


def route(engine: Engine, clock: Clock, prefix: str, level: int, recipient: str,
          kind: str = "*") -> None:
    with session_factory(engine).begin() as session:
        add_route(session, place_prefix=prefix, level=level, recipient=recipient, kind=kind,
                  actor="test", now=clock())


@pytest.fixture
def routed(store: Engine, clock: Clock) -> None:
    """Town supervisor for 220122 (the fake kiosk's place), the county operator after 30 min,
    and a province-wide desk that only hears what no closer route covers."""
    contact(store, "sup-1", clock, email="sup@nongan.example")
    contact(store, "county.op", clock, email="op@changchun.example")
    contact(store, "province.desk", clock, email="desk@jilin.example")
    route(store, clock, "220122", 0, "sup-1", kind="positive")
    route(store, clock, "2201", 1, "county.op")
    route(store, clock, "", 0, "province.desk")


def reading_id(message: tuple[str, bytes]) -> str:
    return str(json.loads(message[1])["reading"]["reading_id"])


@pytest.mark.usefixtures("routed")
def test_a_positive_is_mailed_to_the_places_supervisor_exactly_once(
        store: Engine, database_url: str, clock: Clock, kiosk: FakeKiosk,
        writer: BatchWriter, smtp_server: SmtpServer) -> None:
    positive = kiosk.reading(call="positive")
    record(writer, kiosk.reading(call="negative"), positive)
    settings = settings_for(smtp_server.port, database_url=database_url)
    w = worker(settings, store, clock)
    report = w.run_once()
    assert (report.opened, report.fired, report.sent) == (1, 1, 1)
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "sup@nongan.example"
    assert "检出 procymidone（jiucai）" in str(mail["Subject"])
    rid = reading_id(positive)
    assert f"https://cloud.example.cn/dashboard/alerts/positive/{rid}" in mail.get_content()
    # Another pass, another worker: the alert is not notified again.
    assert w.run_once().opened == 0
    assert worker(settings, store, clock).run_once().claimed == 0
    assert len(smtp_server.messages) == 1
    assert [n.dedupe_key for n in notifications(store)] == [f"positive:{rid}:0/sup-1/email"]


@pytest.mark.usefixtures("routed")
def test_nobody_acknowledges_so_the_county_hears_after_30_minutes(
        store: Engine, database_url: str, clock: Clock, kiosk: FakeKiosk,
        writer: BatchWriter, smtp_server: SmtpServer) -> None:
    record(writer, kiosk.reading(call="positive"))
    w = worker(settings_for(smtp_server.port, database_url=database_url), store, clock)
    w.run_once()
    clock.advance(minutes=30)
    w.run_once()
    mails = smtp_server.wait_for(2)
    assert [m["To"] for m in mails] == ["sup@nongan.example", "op@changchun.example"]
    assert str(mails[1]["Subject"]).startswith("【告警升级】30 分钟无人确认")


@pytest.mark.usefixtures("routed")
def test_acknowledged_on_the_dashboard_with_who_and_when_and_no_escalation(
        store: Engine, database_url: str, clock: Clock, kiosk: FakeKiosk,
        writer: BatchWriter, smtp_server: SmtpServer, client: TestClient,
        keys: Keys) -> None:
    positive = kiosk.reading(call="positive")
    record(writer, positive)
    rid = reading_id(positive)
    w = worker(settings_for(smtp_server.port, database_url=database_url), store, clock)
    w.run_once()
    login(client, keys.supervisor)
    fleet = client.get("/dashboard").text
    assert f'href="/dashboard/alerts/positive/{rid}"' in fleet
    page = client.get(f"/dashboard/alerts/positive/{rid}").text
    assert "尚未确认" in page and 'name="confirm"' in page and "已发送" in page
    assert "sup-1" in page and "county.op" in page  # the levels and who they reach
    csrf = csrf_token_for(client)
    unconfirmed = client.post(f"/dashboard/alerts/positive/{rid}/ack", data={"csrf": csrf})
    assert unconfirmed.status_code == 422
    forged = client.post(f"/dashboard/alerts/positive/{rid}/ack",
                         data={"csrf": "0" * 32, "confirm": "yes"})
    assert forged.status_code == 403
    done = client.post(f"/dashboard/alerts/positive/{rid}/ack",
                       data={"csrf": csrf, "confirm": "yes", "note": "已安排复检"},
                       follow_redirects=False)
    assert done.status_code == 303
    page = client.get(f"/dashboard/alerts/positive/{rid}").text
    assert "已确认" in page and "由 sup-1 于" in page and "已安排复检" in page
    assert "✓ 已确认 (sup-1)" in client.get("/dashboard").text
    row = escalation(store, "positive", rid)
    assert row.acknowledged_by == "sup-1" and row.acknowledged_at is not None
    with session_factory(store)() as session:
        [entry] = session.scalars(select(HistoryEntry).where(HistoryEntry.entity == "alert"))
    assert (entry.entity_id, entry.action, entry.actor) == (f"positive:{rid}", "acknowledged",
                                                            "sup-1")
    clock.advance(hours=1)
    w.run_once()
    assert [m["To"] for m in smtp_server.messages] == ["sup@nongan.example"]
    listed = client.get("/api/v1/escalations?state=acknowledged",
                        headers=keys.auth("operator")).json()
    assert [(e["subject"], e["acknowledged_by"], e["steps_fired"]) for e in listed] == [
        (rid, "sup-1", 1)]


@pytest.mark.usefixtures("routed")
def test_the_api_acknowledges_once_and_refuses_a_second_time(
        store: Engine, kiosk: FakeKiosk, writer: BatchWriter, client: TestClient,
        keys: Keys) -> None:
    positive = kiosk.reading(call="positive")
    record(writer, positive)
    rid = reading_id(positive)
    path = f"/api/v1/alerts/positive/{rid}/ack"
    assert client.post(path, json={}).status_code == 401
    assert client.post(path, json={}, headers=keys.auth("market")).status_code == 403
    first = client.post(path, json={"note": "on it"}, headers=keys.auth("operator"))
    assert first.status_code == 200
    assert (first.json()["state"], first.json()["acknowledged_by"]) == ("acknowledged", "op-1")
    again = client.post(path, json={}, headers=keys.auth("supervisor"))
    assert again.status_code == 409 and "acknowledged by op-1" in again.json()["detail"]
    assert client.post("/api/v1/alerts/positive/bad%20id/ack", json={},
                       headers=keys.auth("operator")).status_code == 422
    for unknown in ("/api/v1/alerts/positive/no-such-reading/ack",
                    f"/api/v1/alerts/offline/{rid}/ack"):
        missing = client.post(unknown, json={}, headers=keys.auth("operator"))
        assert missing.status_code == 404 and missing.json()["error"] == "no_such_alert"


def test_the_delivery_log_shows_failures_in_chinese_and_can_send_again(
        store: Engine, database_url: str, clock: Clock, kiosk: FakeKiosk,
        writer: BatchWriter, client: TestClient, keys: Keys) -> None:
    server = SmtpServer(refuse={"typo@nongan.example"}).start()
    try:
        contact(store, "sup-1", clock, email="typo@nongan.example")
        route(store, clock, "2201", 0, "sup-1")
        record(writer, kiosk.reading(call="positive"))
        worker(settings_for(server.port, database_url=database_url), store, clock).run_once()
    finally:
        server.stop()
    [row] = client.get("/api/v1/notifications?status=given_up",
                       headers=keys.auth("operator")).json()
    assert (row["recipient"], row["channel"], row["attempts"]) == ("sup-1", "email", 1)
    assert "550" in row["last_error"]
    assert client.get("/api/v1/notifications?status=sent",
                      headers=keys.auth("operator")).json() == []
    login(client, keys.operator)
    page = client.get("/dashboard/notifications").text
    assert "通知投递记录" in page
    assert 'data-status="given_up"' in page and "已放弃" in page and "550" in page
    assert "电子邮件" in page and "重新发送" in page
    csrf = csrf_token_for(client)
    resent = client.post(f"/dashboard/notifications/{row['id']}/retry", data={"csrf": csrf},
                         follow_redirects=False)
    assert resent.status_code == 303
    assert notifications(store)[0].status == "pending"
    english = client.get("/dashboard/notifications?lang=en").text
    assert "pending" in english and "Deliveries" in english


def test_a_positive_in_a_place_nobody_covers_is_stored_and_says_so(
        store: Engine, database_url: str, clock: Clock, kiosk: FakeKiosk,
        writer: BatchWriter, client: TestClient, keys: Keys) -> None:
    positive = kiosk.reading(call="positive")
    record(writer, positive)
    report = worker(settings_for(None, database_url=database_url), store, clock).run_once()
    assert (report.opened, report.fired) == (1, 0)
    login(client, keys.operator)
    page = client.get(f"/dashboard/alerts/positive/{reading_id(positive)}").text
    assert "没有配置接收人" in page
    assert "没有配置接收人" in client.get("/dashboard/notifications").text
    assert client.get("/dashboard/alerts/positive/nope").status_code == 404
