"""How the API answers errors: one translation of registry errors (JSON or page, as the route
serves), 503 when the database is away or its pool is exhausted, readable form errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from cloud_bridge.api import public
from cloud_bridge.ingest import BatchWriter
from tests.support.kiosk_messages import FakeKiosk, new_token

from .api_support import Keys, record, token_of
from .test_dashboard import csrf_token_for, login


def test_an_exhausted_reader_pool_is_503_not_500(client: TestClient, store: Engine,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def pool_empty(*args: Any, **kwargs: Any) -> Any:
        raise PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached, "
                               "connection timed out, timeout 1.00")

    monkeypatch.setattr(public, "lookup", pool_empty)
    response = client.get(f"/api/v1/certificates/{new_token()}")  # the fast route
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"

    monkeypatch.setattr(public.certificates, "get", pool_empty)
    page = client.get(f"/c/{new_token()}")
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")


def test_registry_refusals_keep_their_status_code_and_format(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    missing = client.post("/api/v1/producers/nobody/suspend", json={"reason": "复检"},
                          headers=keys.auth("supervisor"))
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "no producer 'nobody'"}
    unknown = client.get(f"/api/v1/certificates/{new_token()}")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    page = client.get(f"/c/{new_token()}")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")

    cert = kiosk.certificate()
    record(writer, cert)
    path = f"/api/v1/certificates/{token_of(cert)}/revoke"
    assert client.post(path, json={"reason": "抽检"},
                       headers=keys.auth("supervisor")).status_code == 200
    again = client.post(path, json={"reason": "抽检"}, headers=keys.auth("supervisor"))
    assert again.status_code == 409 and again.json()["error"] == "already_revoked"
    forbidden = client.post(f"/api/v1/certificates/{token_of(cert)}/checks",
                            json={"result": "accepted"}, headers=keys.auth("supervisor"))
    assert forbidden.status_code == 403

    login(client, keys.operator)
    dashboard = client.get(f"/dashboard/certificates/{new_token()}")
    assert dashboard.status_code == 404
    assert dashboard.headers["content-type"].startswith("text/html")


def test_retiring_an_unknown_device_is_404_and_a_retired_one_409(
    client: TestClient, keys: Keys, kiosk: FakeKiosk
) -> None:
    auth = keys.auth("supervisor")  # retiring is a supervisor's (test_device_retirement.py)

    def body(device_id: str) -> dict[str, str]:
        return {"confirm": device_id, "reason": "replaced by a new kiosk"}

    missing = client.post("/api/v1/devices/kiosk-nobody/retire", headers=auth,
                          json=body("kiosk-nobody"))
    assert missing.status_code == 404 and missing.json()["error"] == "retire_refused"
    assert client.post(f"/api/v1/devices/{kiosk.device_id}/retire", headers=auth,
                       json=body(kiosk.device_id)).status_code == 200
    again = client.post(f"/api/v1/devices/{kiosk.device_id}/retire", headers=auth,
                        json=body(kiosk.device_id))
    assert again.status_code == 409 and "already retired" in again.json()["detail"]


def test_a_blank_revoke_reason_on_the_dashboard_gets_a_readable_answer(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    login(client, keys.supervisor)
    response = client.post(f"/dashboard/certificates/{token_of(cert)}/revoke",
                           data={"reason": "   ", "csrf": csrf_token_for(client)},
                           follow_redirects=False)
    assert response.status_code == 422
    assert "validation error for" not in response.text
    assert "reason: String should have at least 1 character" in response.text
    assert client.get(f"/api/v1/certificates/{token_of(cert)}").json()["status"] == "issued"


def test_a_producer_search_takes_underscore_and_percent_literally(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    record(writer, kiosk.producer("p_001"), kiosk.producer("pX001"),
           kiosk.producer("p-pct", name="百分百%"))

    def found(q: str) -> list[str]:
        response = client.get("/api/v1/producers", params={"q": q},
                              headers=keys.auth("operator"))
        assert response.status_code == 200
        return sorted(p["producer_id"] for p in response.json())

    assert found("p_001") == ["p_001"]
    assert found("p_0") == ["p_001"]
    assert found("X001") == ["pX001"]
    assert found("%") == ["p-pct"]  # the one name holding a percent sign, not everyone
