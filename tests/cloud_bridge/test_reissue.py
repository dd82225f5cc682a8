"""A purchaser's re-issue (样式二): sources are checked and quantities kept consistent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from protocol.certificate_rules import PROMISE_TEXT
from protocol.messages import CertificateStyle
from tests.support.cloud import rows
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys, api_client, record, token_of


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with api_client(store, public_base_url="https://verify.example.cn") as client:
        yield client


def request(*sources: tuple[str, float], quantity: float | None = None, unit: str = "kg",
            product: str = "jiucai") -> dict[str, Any]:
    return {
        "product_code": product, "product_name": "韭菜",
        "quantity": quantity if quantity is not None else sum(q for _, q in sources),
        "unit": unit, "origin_code": "220122", "origin_detail": "农安县批发市场",
        "purchaser_id": "buyer-7", "purchaser_name": "王五", "purchaser_phone": "13700007777",
        "sources": [{"token": t, "quantity": q} for t, q in sources],
    }


def issue(client: TestClient, keys: Keys, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/certificates", json=body, headers=keys.auth("market"))


def test_mixing_two_lots_makes_a_style2_certificate_linked_to_its_sources(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter, store: Engine
) -> None:
    a, b = kiosk.certificate(), kiosk.certificate()  # 50 kg each
    record(writer, a, b)
    response = issue(client, keys, request((token_of(a), 50), (token_of(b), 20)))
    assert response.status_code == 201, response.text
    cert = response.json()["certificate"]
    assert cert["style"] == "style2" and cert["origin"] == "cloud" and cert["quantity"] == 70
    assert cert["promise"] == PROMISE_TEXT[CertificateStyle.PURCHASER]
    assert cert["verify_url"] == f"https://verify.example.cn/c/{cert['token']}"
    assert cert["promisor_phone"] == "137****7777"
    assert {s["token"]: s["quantity"] for s in cert["sources"]} == {token_of(a): 50,
                                                                    token_of(b): 20}
    page = client.get(f"/c/{cert['token']}")
    assert page.status_code == 200 and "样式二" in page.text
    # a is used up, b has 30 kg left
    used_up = issue(client, keys, request((token_of(a), 1)))
    assert used_up.status_code == 409 and used_up.json()["error"] == "source_used_up"
    too_much = issue(client, keys, request((token_of(b), 31)))
    assert too_much.status_code == 422 and too_much.json()["error"] == "exceeds_remaining"
    assert issue(client, keys, request((token_of(b), 30))).status_code == 201
    assert rows(store, "SELECT sum(quantity) FROM certificate_sources WHERE source_token = :t",
                t=token_of(b)) == [(50.0,)]


def test_splitting_one_lot_into_several(client: TestClient, keys: Keys, kiosk: FakeKiosk,
                                        writer: BatchWriter) -> None:
    a = kiosk.certificate()
    record(writer, a)
    for part in (10, 15, 25):
        assert issue(client, keys, request((token_of(a), part))).status_code == 201
    assert issue(client, keys, request((token_of(a), 0.5))).json()["error"] == "source_used_up"


@pytest.mark.parametrize(("change", "error", "status"), [
    ({"quantity": 60}, "quantity_mismatch", 422),
    ({"unit": "箱"}, "units_differ", 422),
    ({"product_code": "qincai"}, "product_differs", 422),
])
def test_inconsistent_requests_are_refused(client: TestClient, keys: Keys, kiosk: FakeKiosk,
                                           writer: BatchWriter, change: dict[str, Any],
                                           error: str, status: int) -> None:
    a = kiosk.certificate()
    record(writer, a)
    body = request((token_of(a), 50))
    body.update(change)
    response = issue(client, keys, body)
    assert response.status_code == status and response.json()["error"] == error


def test_voided_revoked_positive_unknown_and_repeated_sources_are_refused(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    voided, revoked, ok = kiosk.certificate(), kiosk.certificate(), kiosk.certificate()
    positive = kiosk.certificate(tests=[{
        "reading_id": "f" * 32, "analyte_code": "procymidone", "analyte_name": "腐霉利",
        "kit_id": "kit-pcm", "kit_lot": "L1", "call": "positive"}])
    linked = kiosk.certificate()
    record(writer, voided, revoked, ok, positive, linked, kiosk.void(token_of(voided)),
           kiosk.lot("blocked_positive", certificate_token=token_of(linked)))
    client.post(f"/api/v1/certificates/{token_of(revoked)}/revoke", json={"reason": "抽检"},
                headers=keys.auth("supervisor"))
    cases = {
        token_of(voided): "source_voided", token_of(revoked): "source_revoked",
        token_of(positive): "source_positive", token_of(linked): "source_positive",
        "Q" * 22: "unknown_source",
    }
    for token, error in cases.items():
        response = issue(client, keys, request((token, 10)))
        assert response.json()["error"] == error, (token, response.text)
        assert response.status_code in (409, 422)
    twice = issue(client, keys, request((token_of(ok), 10), (token_of(ok), 10)))
    assert twice.json()["error"] == "duplicate_source"
    assert client.post("/api/v1/certificates", json=request((token_of(ok), 10)),
                       headers=keys.auth("operator")).status_code == 403
