"""A positive at a kiosk, walked in headless Chromium: the town supervisor's e-mail arrives at
a real SMTP server, its link opens the alert's page, the supervisor acknowledges it there, and
the delivery log shows what was sent and what failed. ``NONGAN_UPDATE_SCREENSHOTS=1`` writes
the screenshots docs/cloud.md shows (from the SQLite run)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cloud_bridge.api import create_app
from cloud_bridge.domain.keys import create_key
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.notify import NotifyWorker, add_route, set_contact
from cloud_bridge.settings import load_settings
from cloud_bridge.store import make_engine, migrate, session_factory
from tests.support.cloud import enroll
from tests.support.kiosk_messages import FakeKiosk
from tests.support.live_server import chromium, live_server
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.browser

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DESK = {"width": 1360, "height": 900}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_positive_is_mailed_opened_and_acknowledged_in_chromium(
        engine: Engine, database_url: str, tmp_path: Path) -> None:
    update = os.environ.get("NONGAN_UPDATE_SCREENSHOTS") == "1"
    shots = IMAGES if update and database_url.startswith("sqlite") else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    kiosk = FakeKiosk(device_id="kiosk-nongan-01", station_id="JL01", place_code="220122")
    enroll(engine, kiosk)
    with session_factory(engine).begin() as session:
        _, key = create_key(session, name="zhang.wei", role="supervisor", actor="test")
        set_contact(session, "zhang.wei", actor="test", now=now, display_name="张伟",
                    email="zhang.wei@nongan.example")
        set_contact(session, "county.duty", actor="test", now=now, email="duty@jilin.example")
        set_contact(session, "li.na", actor="test", now=now, email="li.na@nongan.example")
        add_route(session, place_prefix="220122", level=0, recipient="zhang.wei",
                  kind="positive", actor="test", now=now)
        add_route(session, place_prefix="220122", level=0, recipient="li.na", actor="test",
                  now=now)
        add_route(session, place_prefix="22", level=1, recipient="county.duty", actor="test",
                  now=now)
    BatchWriter(engine).write([Inbound(t, p, i, 1, now) for i, (t, p) in enumerate([
        kiosk.status(), kiosk.reading(call="positive", producer_id="p-0001"),
        kiosk.reading(call="negative")])])

    smtp = SmtpServer(refuse={"li.na@nongan.example"}).start()
    try:
        app = create_app(load_settings(None, database={"url": database_url}))
        with live_server(app) as base:
            settings = load_settings(None, database={"url": database_url},
                                     api={"public_base_url": base},
                                     notify={"smtp": {"host": "127.0.0.1", "port": smtp.port,
                                                      "security": "none"}})
            report = NotifyWorker(settings, engine, clock=lambda: now).run_once()
            assert (report.opened, report.sent, report.given_up) == (1, 1, 1)
            [mail] = smtp.wait_for(1)
            assert mail["To"] == "zhang.wei@nongan.example"
            match = re.search(rf"{re.escape(base)}/dashboard/alerts/positive/\S+",
                              mail.get_content())
            assert match is not None
            with chromium() as browser:
                desk = browser.new_page(viewport=DESK, locale="zh-CN")
                desk.goto(match.group(0))  # the supervisor clicks the link in the mail
                assert desk.url.endswith("/dashboard/login")
                desk.fill("input[name=key]", key)
                desk.click("button[type=submit]")
                desk.wait_for_url(f"{base}/dashboard")
                desk.click(".alert-notify a")  # the positive alert's page
                assert desk.locator("section.ack").get_attribute("data-state") == "open"
                assert desk.locator("tr[data-step]").count() == 2
                desk.screenshot(path=str(shots / "notify-alert-zh.png"), full_page=True)
                desk.fill("input[name=note]", "已通知农安镇监管站复检")
                desk.check("input[name=confirm]")
                desk.click("button.primary")
                desk.wait_for_selector('section.ack[data-state="acknowledged"]')
                assert "由 zhang.wei 于" in desk.content()
                desk.goto(f"{base}/dashboard/notifications")
                statuses = desk.locator("tr[data-notification]").evaluate_all(
                    "rows => rows.map(r => r.dataset.status)")
                assert sorted(statuses) == ["given_up", "sent"]
                assert "已放弃" in desk.content() and "550" in desk.content()
                desk.screenshot(path=str(shots / "notify-log-zh.png"), full_page=True)
                browser.close()
            later = NotifyWorker(settings, engine, clock=lambda: now + timedelta(hours=1))
            assert later.run_once().fired == 0  # acknowledged: the county is not told
    finally:
        smtp.stop()
    assert [m["To"] for m in smtp.messages] == ["zhang.wei@nongan.example"]
