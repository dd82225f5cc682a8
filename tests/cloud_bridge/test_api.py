"""The HTTP API on both databases: health, certificates by token, clean errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.api import create_app, mask_name, mask_phone
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.settings import load_settings
from cloud_bridge.store import migrate
from tests.support.kiosk_messages import FakeKiosk


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine=store), raise_server_exceptions=False) as client:
        yield client


def record(writer: BatchWriter, *messages: tuple[str, bytes]) -> None:
    writer.write([Inbound(t, p, i, 1, datetime.now(UTC)) for i, (t, p) in enumerate(messages)])


def token_of(message: tuple[str, bytes]) -> str:
    return json.loads(message[1])["body"]["certificate"]["token"]


def test_health_says_the_database_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_a_certificate_by_token_with_masked_personal_data(
    client: TestClient, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    cert = kiosk.certificate(phone="13812345678")
    record(writer, cert)
    response = client.get(f"/api/v1/certificates/{token_of(cert)}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "issued" and body["valid"] is True
    assert body["token"] == token_of(cert)
    assert body["product_name"] == "韭菜" and body["quantity"] == 50 and body["unit"] == "kg"
    assert body["promisor_phone"] == "138****5678"
    assert body["promisor_name"] == "张**"
    assert "13812345678" not in response.text and "张三丰" not in response.text
    assert body["basis"] == ["自行检测合格"] and body["tests"][0]["call"] == "negative"
    assert body["device_id"] == kiosk.device_id and body["voided"] is None


def test_a_voided_certificate_says_so(client: TestClient, kiosk: FakeKiosk,
                                      writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert, kiosk.void(token_of(cert), reason="数量填写错误"))
    body = client.get(f"/api/v1/certificates/{token_of(cert)}").json()
    assert body["status"] == "voided" and body["valid"] is False
    assert body["voided"]["reason"] == "数量填写错误"


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/v1/certificates/" + "A" * 22, 404, "not_found"),
        ("/api/v1/certificates/short", 422, "malformed_token"),
        ("/api/v1/certificates/" + "A" * 65, 422, "malformed_token"),
        ("/api/v1/certificates/%27%20OR%201=1--aaaaaaaaaaaaaaa", 422, "malformed_token"),
        ("/api/v1/certificates/" + "%E5%BC%A0" * 24, 422, "malformed_token"),
        ("/api/v1/certificates/a/b", 404, "not_found"),
        ("/api/v1/nothing", 404, "not_found"),
    ],
)
def test_bad_requests_get_clean_json_errors(client: TestClient, path: str, status: int,
                                            error: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error
    assert "Traceback" not in response.text


def test_a_wrong_method_is_a_clean_405(client: TestClient) -> None:
    response = client.post("/api/v1/certificates/" + "A" * 22)
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_an_unreachable_database_is_a_503_not_a_stack_trace(tmp_path: Path) -> None:
    # A database file in a folder that does not exist cannot be opened.
    settings = load_settings(None, database={"url": f"sqlite:///{tmp_path}/no/such/dir/x.db"})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        health = client.get("/healthz")
        cert = client.get("/api/v1/certificates/" + "A" * 22)
    assert health.status_code == 503 and health.json()["database"] == "unreachable"
    assert cert.status_code == 503 and cert.json()["error"] == "database_unavailable"


def test_the_app_makes_and_disposes_its_own_engine_from_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    migrate(url)
    with TestClient(create_app(load_settings(None, database={"url": url}))) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/certificates/" + "B" * 30).status_code == 404


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812341234", "138****1234"), ("+86 138 1234 1234", "138****1234"),
     ("0431-8888 7777", "043*****7777"), ("12345", "***45")],
)
def test_phone_masking(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_name_masking() -> None:
    assert mask_name("张三丰") == "张**" and mask_name("李") == "李" and mask_name("") == ""
