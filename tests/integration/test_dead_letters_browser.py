"""The dead-letter pages in headless Chromium: an operator discards a refused record, the page
asks for confirmation first, and the kiosk's watermark passes the gap only after it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloud_bridge.api import create_app
from cloud_bridge.domain.keys import create_key
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.settings import load_settings
from cloud_bridge.store import make_engine, migrate, session_factory
from tests.support.cloud import enroll, rows, scalar
from tests.support.kiosk_messages import FakeKiosk
from tests.support.live_server import chromium, live_server

pytestmark = pytest.mark.browser


def test_an_operator_discards_a_dead_letter_after_confirming(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    migrate(url)
    engine = make_engine(url)
    kiosk = FakeKiosk(device_id="kiosk-nongan-07")
    forged = FakeKiosk(device_id=kiosk.device_id, next_seq=2)
    enroll(engine, kiosk)
    kiosk.next_seq = 3
    BatchWriter(engine).write([Inbound(t, p, i, 1, datetime.now(UTC)) for i, (t, p) in
                               enumerate([kiosk.certificate(seq=1), forged.certificate(),
                                          kiosk.certificate()])])
    with session_factory(engine).begin() as session:
        _, key = create_key(session, name="wang.operator", role="operator", actor="test")
    [(letter,)] = rows(engine, "SELECT id FROM dead_letters")
    try:
        settings = load_settings(None, database={"url": url})
        with live_server(create_app(settings)) as base, chromium() as browser:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{base}/dashboard/login")
            page.fill("input[name=key]", key)
            page.click("button[type=submit]")
            page.goto(f"{base}/dashboard/dead-letters")
            page.click(f"a[href='/dashboard/dead-letters/{letter}']")
            assert page.locator("[data-blocks]").count() == 1
            page.fill("form[data-form=discard] input[name=reason]", "伪造的记录")
            page.click("form[data-form=discard] button")
            # The confirmation page: nothing has changed yet.
            assert page.locator("form[data-form=confirm]").count() == 1
            assert page.locator("[data-skip='2']").count() == 1
            assert scalar(engine, "SELECT acked_seq FROM ack_watermarks") == 1
            page.click("form[data-form=confirm] button")
            assert page.locator("[data-done=discarded]").count() == 1
            assert page.locator("[data-state=discarded]").count() == 1
            assert "伪造的记录" in page.content()
        assert scalar(engine, "SELECT acked_seq FROM ack_watermarks") == 3
        assert rows(engine, "SELECT action, actor, reason FROM history "
                            "WHERE entity = 'dead_letter'") == [
            ("discarded", "wang.operator", "伪造的记录")]
    finally:
        engine.dispose()
