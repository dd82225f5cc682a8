"""The dashboard's pages: login with a key, roles, the revoke form and its CSRF token."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from cloud_bridge.api.dashboard import csrf_token
from cloud_bridge.ingest import BatchWriter
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys, record, token_of


def login(client: TestClient, key: str) -> None:
    response = client.post("/dashboard/login", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_pages_need_a_login_and_a_staff_key(client: TestClient, keys: Keys) -> None:
    anonymous = client.get("/dashboard", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/dashboard/login"
    bad = client.post("/dashboard/login", data={"key": "ng_nope"}, follow_redirects=False)
    assert bad.headers["location"].endswith("failed=1")
    login(client, keys.market)
    assert client.get("/dashboard").status_code == 403
    login(client, keys.operator)
    for path in ("/dashboard", "/dashboard/stats", "/dashboard/producers",
                 "/dashboard/certificates", "/dashboard/dead-letters"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert '<meta charset="utf-8">' in page.text
    client.post("/dashboard/logout")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_fleet_page_lists_kiosks_alerts_and_charts(client: TestClient, keys: Keys,
                                                       kiosk: FakeKiosk,
                                                       writer: BatchWriter) -> None:
    record(writer, kiosk.status(), kiosk.telemetry(outbox_pending=4),
           kiosk.reading(call="positive"), kiosk.producer("p-3"))
    login(client, keys.operator)
    fleet = client.get("/dashboard").text
    assert kiosk.device_id in fleet and 'data-state="online"' in fleet
    assert 'data-kind="positive"' in fleet
    stats = client.get("/dashboard/stats").text
    assert stats.count("<svg") >= 6 and "<script" not in stats
    producer = client.get("/dashboard/producers/p-3").text
    assert "张三丰" in producer and "credit-A" not in producer  # no certificates: unrated
    assert client.get("/dashboard/producers/nobody").status_code == 404


def test_a_supervisor_revokes_from_the_page_with_a_csrf_token(client: TestClient, keys: Keys,
                                                              kiosk: FakeKiosk,
                                                              writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    token = token_of(cert)
    login(client, keys.operator)
    assert 'action="/dashboard/certificates/' not in client.get(
        f"/dashboard/certificates/{token}").text  # operators see no revoke form
    login(client, keys.supervisor)
    page = client.get(f"/dashboard/certificates/{token}").text
    assert "/revoke" in page
    forged = client.post(f"/dashboard/certificates/{token}/revoke",
                         data={"reason": "x", "csrf": "0" * 32})
    assert forged.status_code == 403
    real = csrf_token_for(client)
    done = client.post(f"/dashboard/certificates/{token}/revoke",
                       data={"reason": "复检阳性", "csrf": real}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get(f"/api/v1/certificates/{token}").json()["status"] == "revoked"
    assert "复检阳性" in client.get(f"/dashboard/certificates/{token}").text


def csrf_token_for(client: TestClient) -> str:
    """The form token of the client's dashboard session (derived from its session id)."""
    request = SimpleNamespace(method="GET", headers={}, cookies=dict(client.cookies))
    return csrf_token(request)  # type: ignore[arg-type]


def test_the_login_cookie_cannot_change_anything_through_the_json_api(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    login(client, keys.supervisor)
    assert client.get("/api/v1/fleet").status_code == 200  # reading with the cookie is fine
    response = client.post(f"/api/v1/certificates/{token_of(cert)}/revoke",
                           json={"reason": "cross-site"})
    assert response.status_code == 401
    assert client.get(f"/api/v1/certificates/{token_of(cert)}").json()["status"] == "issued"
