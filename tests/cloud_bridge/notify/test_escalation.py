"""Escalation with a clock the test moves: acknowledgement stops it; without one the next
recipient is told after the delay; a restart loses nothing; a worker that was away catches up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from cloud_bridge.domain.errors import Conflict
from cloud_bridge.notify import Step, acknowledge, open_escalation
from cloud_bridge.store import make_engine, session_factory
from tests.support.smtp import SmtpServer

from .conftest import Clock, settings_for
from .helpers import contact, escalation, notifications, worker

PARAMS = {"reading": "r-9", "device": "kiosk-0042", "station": "JL01", "place": "220122",
          "place_name": "农安县", "product": "jiucai", "analyte": "procymidone",
          "producer": "p-7", "time": "2026-03-01 09:30"}


def open_positive(engine: Engine, clock: Clock, subject: str = "r-9",
                  delays: tuple[float, ...] = (30,)) -> None:
    steps = [Step(timedelta(0), ("town.sup",), "positive_alert")]
    recipients = ["county.op", "city.duty"]
    steps += [Step(timedelta(minutes=m), (recipients[i],), "positive_escalated")
              for i, m in enumerate(delays)]
    with session_factory(engine).begin() as session:
        assert open_escalation(session, kind="positive", subject=subject,
                               template_key="positive_alert", params=PARAMS, steps=steps,
                               now=clock(), link=f"https://x/dashboard/alerts/positive/{subject}")


@pytest.fixture
def people(store: Engine, clock: Clock) -> None:
    contact(store, "town.sup", clock, email="sup@town.example")
    contact(store, "county.op", clock, email="op@county.example")
    contact(store, "city.duty", clock, email="duty@city.example")


def to(server: SmtpServer, address: str) -> list[str]:
    return [str(m["Subject"]) for m in server.messages if m["To"] == address]


@pytest.mark.usefixtures("people")
def test_acknowledgement_cancels_the_escalation(store: Engine, clock: Clock,
                                                smtp_server: SmtpServer) -> None:
    w = worker(settings_for(smtp_server.port), store, clock)
    open_positive(store, clock)
    w.run_once()
    smtp_server.wait_for(1)
    assert len(to(smtp_server, "sup@town.example")) == 1
    clock.advance(minutes=10)
    with session_factory(store).begin() as session:
        acknowledge(session, kind="positive", subject="r-9", actor="town.sup", now=clock(),
                    note="已通知实验室复检")
    clock.advance(minutes=25)  # 35 min after the alert: past the 30 min step
    assert w.run_once().fired == 0
    assert to(smtp_server, "op@county.example") == []
    row = escalation(store, "positive", "r-9")
    assert (row.state, row.acknowledged_by, row.next_at, row.note) == (
        "acknowledged", "town.sup", None, "已通知实验室复检")
    assert row.acknowledged_at == clock() - timedelta(minutes=25)


@pytest.mark.usefixtures("people")
def test_without_acknowledgement_the_next_recipient_hears_after_the_delay(
        store: Engine, clock: Clock, smtp_server: SmtpServer) -> None:
    w = worker(settings_for(smtp_server.port), store, clock)
    open_positive(store, clock)
    w.run_once()
    smtp_server.wait_for(1)
    clock.advance(minutes=29, seconds=59)
    assert w.run_once().fired == 0  # not yet
    clock.advance(seconds=1)
    assert w.run_once().fired == 1
    smtp_server.wait_for(2)
    [subject] = to(smtp_server, "op@county.example")
    assert subject.startswith("【告警升级】30 分钟无人确认")
    assert len(to(smtp_server, "sup@town.example")) == 1  # told once, not again
    clock.advance(hours=5)
    assert w.run_once().fired == 0 and len(smtp_server.messages) == 2


@pytest.mark.usefixtures("people")
def test_a_restart_loses_no_pending_escalation(store: Engine, database_url: str, clock: Clock,
                                               smtp_server: SmtpServer) -> None:
    settings = settings_for(smtp_server.port)
    first = worker(settings, store, clock)
    open_positive(store, clock)
    first.run_once()
    first.close()  # the process stops here
    clock.advance(minutes=31)
    engine = make_engine(database_url)  # a new process, a new engine
    try:
        worker(settings, engine, clock).run_once()
    finally:
        engine.dispose()
    smtp_server.wait_for(2)
    assert len(to(smtp_server, "op@county.example")) == 1


@pytest.mark.usefixtures("people")
def test_a_worker_that_was_away_fires_every_step_that_fell_due_in_order(
        store: Engine, clock: Clock, smtp_server: SmtpServer) -> None:
    open_positive(store, clock, delays=(30, 120))
    clock.advance(hours=3)
    report = worker(settings_for(smtp_server.port), store, clock).run_once()
    assert (report.fired, report.sent) == (3, 3)
    assert [n.recipient for n in notifications(store)] == ["town.sup", "county.op",
                                                           "city.duty"]
    assert escalation(store, "positive", "r-9").next_at is None


def test_an_alert_acknowledged_before_anyone_was_told_is_never_notified(
        store: Engine, clock: Clock) -> None:
    with session_factory(store).begin() as session:
        acknowledge(session, kind="positive", subject="r-5", actor="op-1", now=clock())
    with session_factory(store).begin() as session:
        assert open_escalation(session, kind="positive", subject="r-5",
                               template_key="positive_alert", params={},
                               steps=[Step(timedelta(0), ("town.sup",))], now=clock()) is None
    with session_factory(store).begin() as session, pytest.raises(
            Conflict, match="acknowledged by op-1"):
        acknowledge(session, kind="positive", subject="r-5", actor="sup-2", now=clock())
