"""Security of the API: roles, hashed keys, clean 4xx for bad input of every kind."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from tests.support.cloud import rows, scalar
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys, api_client, record, token_of


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with api_client(store, max_body_bytes=4096) as client:
        yield client


def test_keys_are_stored_only_as_hashes(store: Engine, keys: Keys) -> None:
    stored = {h for (h,) in rows(store, "SELECT key_hash FROM api_keys")}
    for key in (keys.operator, keys.supervisor, keys.market):
        assert hashlib.sha256(key.encode()).hexdigest() in stored
        assert scalar(store, "SELECT count(*) FROM api_keys WHERE key_hash = :k", k=key) == 0
    dump = str(rows(store, "SELECT * FROM api_keys")) + str(rows(store, "SELECT * FROM history"))
    assert keys.operator not in dump and keys.market not in dump


@pytest.mark.parametrize(("path", "method"), [
    ("/api/v1/fleet", "get"), ("/api/v1/alerts", "get"), ("/api/v1/stats", "get"),
    ("/api/v1/producers", "get"), ("/api/v1/devices", "get"),
    ("/api/v1/export/certificates.csv", "get"), ("/api/v1/export/epcis", "get"),
    ("/api/v1/dead-letters", "get"),
])
def test_operator_endpoints_need_an_operator_or_supervisor_key(
    client: TestClient, keys: Keys, path: str, method: str
) -> None:
    assert client.request(method, path).status_code == 401
    assert client.request(method, path, headers={"Authorization": "Bearer ng_wrong"}
                          ).status_code == 401
    assert client.request(method, path, headers=keys.auth("market")).status_code == 403
    assert client.request(method, path, headers=keys.auth("operator")).status_code == 200
    assert client.request(method, path, headers=keys.auth("supervisor")).status_code == 200


def test_a_market_key_cannot_revoke_and_a_supervisor_revocation_is_logged(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter, store: Engine
) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    token = token_of(cert)
    path = f"/api/v1/certificates/{token}/revoke"
    assert client.post(path, json={"reason": "市场自行撤销"}, headers=keys.auth("market")
                       ).status_code == 403
    assert client.post(path, json={"reason": "x"}, headers=keys.auth("operator")
                       ).status_code == 403
    assert client.get(f"/api/v1/certificates/{token}").json()["valid"] is True
    response = client.post(path, json={"reason": "抽检复核阳性"}, headers=keys.auth("supervisor"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "revoked" and body["valid"] is False
    assert body["revoked"]["reason"] == "抽检复核阳性"
    assert rows(store, "SELECT actor, reason FROM history WHERE action = 'revoked'") == [
        ("sup-1", "抽检复核阳性")]
    again = client.post(path, json={"reason": "again"}, headers=keys.auth("supervisor"))
    assert again.status_code == 409 and again.json()["error"] == "already_revoked"
    assert client.post(path, json={"reason": ""}, headers=keys.auth("supervisor")
                       ).status_code == 422


def test_only_market_keys_record_checks(client: TestClient, keys: Keys, kiosk: FakeKiosk,
                                        writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    path = f"/api/v1/certificates/{token_of(cert)}/checks"
    assert client.post(path, json={"result": "accepted"}, headers=keys.auth("operator")
                       ).status_code == 403
    refused = client.post(path, json={"result": "rejected"}, headers=keys.auth("market"))
    assert refused.status_code == 422 and refused.json()["error"] == "reason_required"
    ok = client.post(path, json={"result": "rejected", "reason": "数量不符"},
                     headers=keys.auth("market"))
    assert ok.status_code == 201 and ok.json()["market"] == "长春农贸市场"
    page = client.get(f"/api/v1/certificates/{token_of(cert)}").json()
    assert [(c["market"], c["result"]) for c in page["checks"]] == [("长春农贸市场", "rejected")]
    assert client.post(f"/api/v1/certificates/{'Z' * 22}/checks", json={"result": "accepted"},
                       headers=keys.auth("market")).status_code == 404


INJECTIONS = ["' OR '1'='1", "1; DROP TABLE certificates;--", "\" OR \"\"=\"", "%' --",
              "') UNION SELECT key_hash FROM api_keys --"]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_sql_injection_attempts_get_clean_answers(client: TestClient, keys: Keys,
                                                  store: Engine, attack: str) -> None:
    from urllib.parse import quote

    public = client.get(f"/api/v1/certificates/{quote(attack, safe='')}")
    assert public.status_code in (404, 422)
    listing = client.get("/api/v1/producers", params={"q": attack}, headers=keys.auth("operator"))
    assert listing.status_code == 200 and listing.json() == []
    page = client.get("/c/" + quote(attack, safe=""))
    assert page.status_code in (404, 422) and "Traceback" not in page.text
    assert scalar(store, "SELECT count(*) FROM api_keys") == 3  # nothing dropped or leaked


def test_oversized_malformed_and_wrongly_typed_bodies_are_4xx(client: TestClient, keys: Keys,
                                                              kiosk: FakeKiosk,
                                                              writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    path = f"/api/v1/certificates/{token_of(cert)}/checks"
    auth = {**keys.auth("market"), "content-type": "application/json"}
    big = client.post(path, content=b'{"result": "' + b"x" * 10_000 + b'"}', headers=auth)
    assert big.status_code == 413 and big.json()["error"] == "too_large"
    for body in (b"{", b"[]", b'{"result": 5}', b'{"result": "maybe"}', b"\xff\xfe",
                 b'{"result": "accepted", "extra": 1}', b"null"):
        response = client.post(path, content=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"] == "invalid_request"


def test_nul_characters_are_refused_not_a_server_error(client: TestClient, keys: Keys,
                                                      kiosk: FakeKiosk,
                                                      writer: BatchWriter) -> None:
    # Found by the schemathesis run: PostgreSQL text cannot hold U+0000.
    listing = client.get("/api/v1/producers", params={"q": "a\x00b"},
                         headers=keys.auth("operator"))
    assert listing.status_code in (200, 422)
    cert = kiosk.certificate()
    record(writer, cert)
    check = client.post(f"/api/v1/certificates/{token_of(cert)}/checks",
                        json={"result": "rejected", "reason": "bad\u0000"},
                        headers=keys.auth("market"))
    assert check.status_code in (201, 422)


def test_bad_tokens_and_unknown_paths_are_clean(client: TestClient, keys: Keys) -> None:
    for token in ("short", "A" * 65, "%E5%BC%A0" * 24, "a" * 21 + "!"):
        response = client.get(f"/api/v1/certificates/{token}")
        assert response.status_code == 422, token
    assert client.get("/api/v1/certificates/" + "A" * 30).status_code == 404
    assert client.get("/nothing/here").status_code == 404
    assert client.get("/api/v1/producers/nobody", headers=keys.auth("operator")
                      ).status_code == 404
    assert client.get("/api/v1/stats", params={"days": 0}, headers=keys.auth("operator")
                      ).status_code == 422
    assert client.get("/api/v1/export/epcis", params={"since": "not a date"},
                      headers=keys.auth("operator")).status_code == 422
    # found by the schemathesis run: dates at the ends of the calendar overflowed
    for edge in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00"):
        response = client.get("/api/v1/export/readings.csv", params={"until": edge},
                              headers=keys.auth("operator"))
        assert response.status_code == 422 and response.json()["error"] == "time_out_of_range"
