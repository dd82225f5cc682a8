"""Revoking a source reaches the certificates re-issued from it, at any depth (issue 11):
they are shown as not valid, naming the withdrawn source, and cannot be re-issued from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter
from tests.support.kiosk_messages import FakeKiosk

from .api_support import Keys, api_client, record, token_of


@pytest.fixture
def client(store: Engine) -> Iterator[TestClient]:
    with api_client(store, public_base_url="https://verify.example.cn") as client:
        yield client


def reissue(client: TestClient, keys: Keys, source: str, quantity: float) -> Any:
    body = {"product_code": "jiucai", "product_name": "韭菜", "quantity": quantity, "unit": "kg",
            "origin_code": "220122", "purchaser_id": "buyer-7", "purchaser_name": "王五",
            "purchaser_phone": "13700007777",
            "sources": [{"token": source, "quantity": quantity}]}
    return client.post("/api/v1/certificates", json=body, headers=keys.auth("market"))


def revoke(client: TestClient, keys: Keys, token: str) -> None:
    response = client.post(f"/api/v1/certificates/{token}/revoke", json={"reason": "复检阳性"},
                           headers=keys.auth("supervisor"))
    assert response.status_code == 200, response.text


def test_a_revoked_source_reaches_every_reissue_down_the_chain(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    s = kiosk.certificate()  # 50 kg at the kiosk
    record(writer, s)
    r1 = reissue(client, keys, token_of(s), 40).json()["certificate"]
    r2 = reissue(client, keys, r1["token"], 30).json()["certificate"]
    assert client.get(f"/api/v1/certificates/{r2['token']}").json()["valid"] is True
    revoke(client, keys, token_of(s))
    for made in (r1, r2):
        shown = client.get(f"/api/v1/certificates/{made['token']}").json()
        assert shown["status"] == "issued"  # their own record is unchanged...
        assert shown["valid"] is False  # ...but they are not shown as valid
        assert [(w["token"], w["status"]) for w in shown["source_withdrawn"]] == [
            (token_of(s), "revoked")]
        page = client.get(f"/c/{made['token']}")
        assert 'data-status="source_withdrawn"' in page.text
        assert "来源证书已撤销或作废" in page.text and "有效" not in page.text.split("<h1")[0]
        english = client.get(f"/c/{made['token']}?lang=en")
        assert "A source certificate was revoked or voided" in english.text
    # Nothing can be re-issued from anywhere below the revoked source.
    refused = reissue(client, keys, r1["token"], 5)
    assert refused.status_code == 409 and refused.json()["error"] == "source_chain_withdrawn"
    assert s_serial(s) in refused.json()["detail"]
    assert reissue(client, keys, r2["token"], 5).json()["error"] == "source_chain_withdrawn"


def test_a_voided_source_is_withdrawn_too_and_valid_chains_stay_valid(
    client: TestClient, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    kept, voided = kiosk.certificate(), kiosk.certificate()
    record(writer, kept, voided)
    from_kept = reissue(client, keys, token_of(kept), 20).json()["certificate"]
    from_voided = reissue(client, keys, token_of(voided), 20).json()["certificate"]
    record(writer, kiosk.void(token_of(voided), reason="数量填错了"))
    assert client.get(f"/api/v1/certificates/{from_kept['token']}").json()["valid"] is True
    assert client.get(f"/api/v1/certificates/{from_voided['token']}").json()["valid"] is False
    assert reissue(client, keys, from_kept["token"], 10).status_code == 201


def s_serial(message: tuple[str, bytes]) -> str:
    import json

    return str(json.loads(message[1])["body"]["certificate"]["serial"])
