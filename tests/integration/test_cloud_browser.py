"""The verification page and the dashboard in headless Chromium, with the screenshots that
docs/cloud.md shows (``NONGAN_UPDATE_SCREENSHOTS=1`` writes them to docs/images/)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cloud_bridge.api import create_app
from cloud_bridge.domain.certificates import (
    CheckRequest,
    ReissueRequest,
    RevokeRequest,
    SourceUse,
    record_check,
    reissue,
    revoke,
)
from cloud_bridge.domain.keys import Principal, create_key
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.settings import load_settings
from cloud_bridge.store import make_engine, migrate, session_factory
from tests.support.cloud import enroll
from tests.support.kiosk_messages import FakeKiosk
from tests.support.live_server import chromium, live_server

pytestmark = pytest.mark.browser

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1360, "height": 900}


def token_of(message: tuple[str, bytes]) -> str:
    return str(json.loads(message[1])["body"]["certificate"]["token"])


def populate(engine: Engine) -> dict[str, str]:
    """A small county: three kiosks, a month of tests, checks, a revocation, a re-issue."""
    now = datetime.now(UTC)
    writer = BatchWriter(engine)
    kiosks = [FakeKiosk(device_id="kiosk-nongan-01", station_id="JL01", place_code="220122"),
              FakeKiosk(device_id="kiosk-nongan-02", station_id="JL01", place_code="220122"),
              FakeKiosk(device_id="kiosk-dehui-01", station_id="JL02", place_code="220183")]
    enroll(engine, *kiosks)

    def at(when: datetime, *messages: tuple[str, bytes]) -> None:
        result = writer.write([Inbound(t, p, i, 1, when) for i, (t, p) in enumerate(messages)])
        assert all(v.rejection is None for v in result.verdicts), result.verdicts

    a, b, c = kiosks
    at(now - timedelta(days=29), a.producer("p-0001", name="张三丰", phone="13812345678"),
       c.producer("p-0002", name="李秀英", phone="13987654321"))
    analytes = ["procymidone", "chlorpyrifos", "carbofuran", "omethoate"]
    for day in range(28, -1, -1):
        when = now - timedelta(days=day, hours=2)
        batch = []
        for i in range(3 + (day * 7) % 9):
            call = "positive" if (day + i) % 17 == 0 else "invalid" if (day + i) % 23 == 0 \
                else "negative"
            kiosk = kiosks[(day + i) % 3]
            # Each kiosk serves its own station's producer (the cloud refuses any other).
            producer = "p-0001" if kiosk is not c else "p-0002"
            batch.append(kiosk.reading(call=call, analyte_code=analytes[(day + i) % 4],
                                       producer_id=producer))
            if call == "negative" and i % 2 == 0:
                batch.append(kiosk.certificate(producer_id=producer))
        at(when, *batch)
    valid = a.certificate(phone="13812345678", quantity=120, origin_detail="农安镇三村二组")
    revoked = a.certificate()
    voided = b.certificate()
    source = c.certificate(product_code="jiucai", quantity=80, producer_id="p-0002")
    at(now - timedelta(hours=5), valid, revoked, voided, source,
       b.void(token_of(voided), reason="数量填写错误"))
    soon = (now + timedelta(days=9)).date().isoformat()
    later = (now + timedelta(days=160)).date().isoformat()
    at(now - timedelta(seconds=2), a.status(), a.telemetry(
        outbox_pending=0, disk_free_bytes=9 * 10**9, calibration_state="ok",
        calibrated_at=(now - timedelta(days=12)).isoformat(), firmware_version="reader-fw 1.4.2",
        kits=[{"kit_id": "kit-pcm", "lot": "L2409", "expires_on": later, "strips_left": 180}]))
    at(now - timedelta(seconds=1), b.status(), b.telemetry(
        outbox_pending=37, disk_free_bytes=5 * 10**9, outbox_oldest_age_s=1260.0,
        calibration_state="overdue",
        calibrated_at=(now - timedelta(days=41)).isoformat(), firmware_version="reader-fw 1.4.1",
        kits=[{"kit_id": "kit-cpf", "lot": "L2403", "expires_on": soon, "strips_left": 12}]))
    at(now - timedelta(hours=6), c.status())
    at(now - timedelta(hours=3), c.status("offline"))
    with session_factory(engine).begin() as session:
        _, key = create_key(session, name="zhang.wei", role="supervisor", actor="test")
        market = Principal("market-07", "market", "长春农产品批发市场")
        record_check(session, token_of(valid), CheckRequest(result="accepted"), market)
        revoke(session, token_of(revoked), RevokeRequest(reason="抽检复核：氧乐果阳性"),
               Principal("zhang.wei", "supervisor"))
        mixed = reissue(session, ReissueRequest(
            product_code="jiucai", product_name="韭菜", quantity=150, unit="kg",
            origin_code="220122", origin_detail="农安县批发市场 12 号摊", purchaser_id="buyer-07",
            purchaser_name="王建国", purchaser_phone="13700007777",
            sources=[SourceUse(token=token_of(valid), quantity=100),
                     SourceUse(token=token_of(source), quantity=50)]),
            market, public_base_url="http://127.0.0.1")
        mixed_token = mixed.token
    return {"valid": token_of(valid), "revoked": token_of(revoked),
            "voided": token_of(voided), "mixed": mixed_token, "key": key}


@pytest.fixture
def site(database_url: str) -> dict[str, str]:
    url = database_url
    migrate(url)
    engine = make_engine(url)
    try:
        data = populate(engine)
        app = create_app(load_settings(None, database={"url": url}))
        with live_server(app) as base:
            yield {**data, "base": base}
    finally:
        engine.dispose()


def test_the_verification_page_and_the_dashboard_in_chromium(site: dict[str, str],
                                                             database_url: str,
                                                             tmp_path: Path) -> None:
    # Both databases are driven the same way. The screenshots always go to tmp_path; with
    # NONGAN_UPDATE_SCREENSHOTS=1 the SQLite run writes docs/images/ (what docs/cloud.md shows).
    update = os.environ.get("NONGAN_UPDATE_SCREENSHOTS") == "1"
    shots = IMAGES if update and database_url.startswith("sqlite") else tmp_path / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    base = site["base"]
    with chromium() as browser:
        phone = browser.new_page(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
        phone.goto(f"{base}/c/{site['valid']}")
        assert phone.locator(".status-word").inner_text() == "有效"
        assert "138****5678" in phone.content() and "13812345678" not in phone.content()
        assert phone.locator(".checks li").count() == 1
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "no sideways scrolling on a phone"
        phone.screenshot(path=str(shots / "verify-valid-zh.png"), full_page=True)
        phone.click("text=English")
        assert phone.locator(".status-word").inner_text() == "Valid"
        phone.screenshot(path=str(shots / "verify-valid-en.png"), full_page=True)
        phone.goto(f"{base}/c/{site['revoked']}")
        assert phone.locator(".status-word").inner_text() == "已撤销"
        assert "氧乐果阳性" in phone.content()
        phone.screenshot(path=str(shots / "verify-revoked-zh.png"), full_page=True)
        phone.goto(f"{base}/c/{site['mixed']}")
        assert phone.locator(".sources li").count() == 2
        phone.screenshot(path=str(shots / "verify-reissue-zh.png"), full_page=True)
        missing = phone.goto(f"{base}/c/{'A' * 22}")
        assert missing is not None and missing.status == 404
        assert phone.locator(".status-word").inner_text() == "未找到合格证"
        phone.screenshot(path=str(shots / "verify-not-found.png"), full_page=True)

        desk = browser.new_page(viewport=DESK, locale="zh-CN")
        desk.goto(f"{base}/dashboard")
        assert desk.url.endswith("/dashboard/login")
        desk.fill("input[name=key]", site["key"])
        desk.click("button[type=submit]")
        desk.wait_for_url(f"{base}/dashboard")
        assert desk.locator("tr[data-device]").count() == 3
        assert desk.locator('[data-state="offline"]').count() == 1
        kinds = set(desk.locator(".alert").evaluate_all("els => els.map(e => e.dataset.kind)"))
        assert {"positive", "offline", "calibration", "kit_expiry", "kit_low"} <= kinds
        desk.screenshot(path=str(shots / "dashboard-fleet.png"), full_page=True)
        desk.goto(f"{base}/dashboard/stats")
        assert desk.locator("svg.chart").count() == 6
        desk.screenshot(path=str(shots / "dashboard-stats.png"), full_page=True)
        desk.goto(f"{base}/dashboard/certificates/{site['valid']}")
        assert "used as a source" in desk.content()
        desk.screenshot(path=str(shots / "dashboard-certificate.png"), full_page=True)
        desk.goto(f"{base}/dashboard/producers/p-0001")
        desk.screenshot(path=str(shots / "dashboard-producer.png"), full_page=True)
        browser.close()
