"""The page a certificate's QR opens: status, masked personal data, languages, not found,
rate limit, and never a 1970 date."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys, api_client, make_keys, record, token_of


def test_a_valid_certificate_in_chinese_by_default(client: TestClient, kiosk: FakeKiosk,
                                                   writer: BatchWriter) -> None:
    cert = kiosk.certificate(phone="13812345678", promisor_name="张三丰",
                             origin_detail="三村 身份证220122199001011234")
    record(writer, cert)
    page = client.get(f"/c/{token_of(cert)}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in page.text and 'lang="zh-CN"' in page.text
    assert 'data-status="issued"' in page.text and "有效" in page.text
    assert "韭菜" in page.text and "50 kg" in page.text and "自行检测合格" in page.text
    assert "腐霉利" in page.text and "阴性" in page.text
    assert "138****5678" in page.text and "张**" in page.text
    assert "13812345678" not in page.text and "张三丰" not in page.text
    assert "220122199001011234" not in page.text and "2201**********1234" in page.text
    assert "https://" not in page.text.split("<body")[0], "no asset from a CDN"
    assert page.headers["referrer-policy"] == "no-referrer"  # the token must not leak
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_english_by_query_or_browser_language(client: TestClient, kiosk: FakeKiosk,
                                              writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    by_query = client.get(f"/c/{token_of(cert)}?lang=en")
    by_header = client.get(f"/c/{token_of(cert)}", headers={"Accept-Language": "en-US,en"})
    for page in (by_query, by_header):
        assert 'lang="en"' in page.text and "Valid" in page.text and "Promise" in page.text


def test_voided_and_revoked_say_so_clearly(client: TestClient, store: Engine, kiosk: FakeKiosk,
                                           writer: BatchWriter) -> None:
    keys: Keys = make_keys(store)
    voided, revoked = kiosk.certificate(), kiosk.certificate()
    record(writer, voided, revoked, kiosk.void(token_of(voided), reason="重量写错"))
    client.post(f"/api/v1/certificates/{token_of(revoked)}/revoke",
                json={"reason": "复检阳性"}, headers=keys.auth("supervisor"))
    page = client.get(f"/c/{token_of(voided)}").text
    assert 'data-status="voided"' in page and "已作废" in page and "重量写错" in page
    page = client.get(f"/c/{token_of(revoked)}").text
    assert 'data-status="revoked"' in page and "已撤销" in page and "复检阳性" in page


def test_checks_show_on_the_page(client: TestClient, store: Engine, kiosk: FakeKiosk,
                                 writer: BatchWriter) -> None:
    keys = make_keys(store)
    cert = kiosk.certificate()
    record(writer, cert)
    client.post(f"/api/v1/certificates/{token_of(cert)}/checks", json={"result": "accepted"},
                headers=keys.auth("market"))
    page = client.get(f"/c/{token_of(cert)}").text
    assert "长春农贸市场" in page and "查验通过" in page


def test_unknown_and_malformed_tokens_get_a_page_not_a_trace(client: TestClient) -> None:
    missing = client.get("/c/" + "A" * 22)
    assert missing.status_code == 404 and "未找到合格证" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    bad = client.get("/c/<script>")
    assert bad.status_code in (404, 422) and "<script>" not in bad.text
    assert "Traceback" not in missing.text + bad.text


def test_an_unsynchronised_clock_never_shows_1970(client: TestClient, kiosk: FakeKiosk,
                                                  writer: BatchWriter) -> None:
    epoch = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
    cert = kiosk.certificate(issued_at=epoch, time_synced=False)
    record(writer, cert)
    page = client.get(f"/c/{token_of(cert)}").text
    assert "1970" not in page and "终端时钟未同步" in page
    body = client.get(f"/api/v1/certificates/{token_of(cert)}").json()
    assert body["time_source"] == "received"
    assert body["shown_issued_at"].startswith(str(datetime.now(UTC).year))


def test_a_later_sync_of_the_same_boot_corrects_the_time(client: TestClient,
                                                         kiosk: FakeKiosk,
                                                         writer: BatchWriter) -> None:
    topic, payload = kiosk.certificate(issued_at=datetime(1970, 1, 1, tzinfo=UTC),
                                       time_synced=False)
    # the kiosk's header clock is unsynchronised too
    import json

    from protocol import CertificateEvent, seal

    obj = json.loads(payload)
    obj.pop("sig")
    obj["time_synced"] = False
    obj["time"] = "1970-01-01T00:00:00Z"
    obj["mono_ms"] = 0  # made before the telemetry below, in the same boot
    _, payload = seal(CertificateEvent, obj, kiosk.key)
    tel = kiosk.telemetry()
    record(writer, (topic, payload), tel)  # telemetry of the same boot, synced, mono later
    body = client.get(f"/api/v1/certificates/{obj['body']['certificate']['token']}").json()
    assert body["time_source"] == "corrected"
    assert re.match(r"20\d\d-", body["shown_issued_at"])


def test_the_public_endpoints_are_rate_limited(store: Engine, kiosk: FakeKiosk,
                                               writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    with api_client(store, public_rate_per_minute=60, public_burst=3) as client:
        codes = [client.get(f"/api/v1/certificates/{token_of(cert)}").status_code
                 for _ in range(5)]
        page = client.get(f"/c/{token_of(cert)}")
        other = client.get(f"/api/v1/certificates/{token_of(cert)}",
                           headers={"X-Forwarded-For": "10.9.9.9"})
    assert codes == [200, 200, 200, 429, 429]
    assert page.status_code == 429 and "请求过于频繁" in page.text
    assert int(page.headers["Retry-After"]) >= 1
    # the test client's peer ("testclient") is not a trusted proxy: X-Forwarded-For is ignored
    assert other.status_code == 429


def test_the_fast_route_is_documented_and_answers_like_the_declared_one(
    client: TestClient, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    paths = client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/certificates/{token}"]
    from cloud_bridge.api.responses import CertificateView

    body = client.get(f"/api/v1/certificates/{token_of(cert)}").json()
    assert CertificateView.model_validate(body).token == token_of(cert)  # the documented shape
    assert client.post(f"/api/v1/certificates/{token_of(cert)}").status_code == 405
    assert client.get("/docs").status_code == 404  # it would load Swagger UI from a CDN


def test_phones_and_id_numbers_are_masked_in_every_free_text_however_grouped(
    client: TestClient, store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    """Issue 11: masking missed phones inside free text and ID numbers with spaces."""
    keys: Keys = make_keys(store)
    cert = kiosk.certificate(
        origin_detail="三村二组，电话 139 8765 4321，身份证 220122 19900101 1234",
        product_name="韭菜 13600001111")
    record(writer, cert, kiosk.void(token_of(cert),
                                    reason="请联系 0431-8888 6666 或 +86 137-0000-2222"))
    revoked = kiosk.certificate()
    record(writer, revoked)
    client.post(f"/api/v1/certificates/{token_of(revoked)}/checks",
                json={"result": "rejected", "reason": "货主电话13512341234不通"},
                headers=keys.auth("market"))
    client.post(f"/api/v1/certificates/{token_of(revoked)}/revoke",
                json={"reason": "身份证 2201-2219-9001-0112-3X 与登记不符"},
                headers=keys.auth("supervisor"))
    # (Fragments a timestamp's microseconds or a random token could not hold by chance.)
    raw = ("139 8765 4321", "8765 4321", "19900101", "220122 1990", "13600001111",
           "8888 6666", "0000-2222", "13512341234", "2219-9001", "0112-3X")
    for token in (token_of(cert), token_of(revoked)):
        for shown in (client.get(f"/c/{token}").text,
                      client.get(f"/api/v1/certificates/{token}").text,
                      client.get(f"/c/{token}?lang=en").text):
            for digits in raw:
                assert digits not in shown, (digits, token)
    page = client.get(f"/c/{token_of(cert)}").text
    assert "139****4321" in page and "2201**********1234" in page and "136****1111" in page
    assert "043*****6666" in page and "137****2222" in page
    other = client.get(f"/api/v1/certificates/{token_of(revoked)}").json()
    assert other["checks"][0]["reason"] == "货主电话135****1234不通"
    assert other["revoked"]["reason"] == "身份证 2201**********123X 与登记不符"
