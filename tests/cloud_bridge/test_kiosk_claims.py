"""What an enrolled kiosk may claim: only tokens it made (no squatting on another kiosk's
token), the fixed certificate texts, and this cloud's own verify URL (issue 11, finding 9 and
"the cloud shows whatever promise text, template version and verify_url a kiosk sends")."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from cloud_bridge.ingest.claims import verify_url_problem
from protocol.bound_ids import make_token, token_belongs_to
from tests.support.cloud import enroll, scalar
from tests.support.kiosk_messages import FakeKiosk, new_token

from .api_support import token_of


def write(writer: BatchWriter, *messages: tuple[str, bytes]):
    now = datetime.now(UTC)
    return writer.write([Inbound(t, p, i, 1, now) for i, (t, p) in enumerate(messages)])


@pytest.fixture
def two_stations(store: Engine) -> tuple[FakeKiosk, FakeKiosk]:
    d, e = FakeKiosk(station_id="JL01"), FakeKiosk(station_id="JL02")
    enroll(store, d, e)
    return d, e


def test_a_token_is_bound_to_its_kiosk_and_stays_unguessable() -> None:
    tokens = {make_token("kiosk-0001") for _ in range(200)}
    assert len(tokens) == 200  # 128 random bits each
    token = tokens.pop()
    assert len(token) == 43 and token_belongs_to(token, "kiosk-0001")
    assert not token_belongs_to(token, "kiosk-0002")
    assert not token_belongs_to(new_token(), "kiosk-0001")  # a plain random token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not token_belongs_to(tampered, "kiosk-0001")


def test_a_squatter_cannot_take_another_kiosks_token_and_the_genuine_one_is_recorded(
    store: Engine, writer: BatchWriter, client: TestClient,
    two_stations: tuple[FakeKiosk, FakeKiosk],
) -> None:
    d, e = two_stations
    genuine = d.certificate(product_name="韭菜")
    token = token_of(genuine)
    # E read D's token off a printed QR while D was offline, and publishes a fake first.
    fake = e.certificate(token=token, product_name="假货", promisor_name="冒名者")
    squat = write(writer, fake).verdicts[0]
    assert squat.outcome is Outcome.DEAD_LETTER
    assert squat.rejection is not None and squat.rejection.code == "foreign_certificate"
    assert "did not make" in squat.rejection.reason
    result = write(writer, genuine)
    assert result.verdicts[0].outcome is Outcome.RECORDED
    assert result.watermarks == {d.device_id: 1}  # D's watermark advances
    shown = client.get(f"/api/v1/certificates/{token}").json()
    assert (shown["device_id"], shown["product_name"], shown["status"]) == (
        d.device_id, "韭菜", "issued")
    assert scalar(store, "SELECT count(*) FROM dead_letters WHERE device_id = :d",
                  d=e.device_id) == 1


def test_a_kiosk_cannot_void_or_name_in_a_lot_a_token_it_did_not_make(
    store: Engine, writer: BatchWriter, two_stations: tuple[FakeKiosk, FakeKiosk],
) -> None:
    d, e = two_stations
    cert = d.certificate()
    token = token_of(cert)
    # Before D's certificate arrives (a shared subscription keeps no order).
    early_void = e.void(token, reason="恶意作废")
    lot = e.lot("certified", certificate_token=token)
    verdicts = write(writer, early_void, lot).verdicts
    assert [v.rejection.code for v in verdicts if v.rejection] == ["foreign_certificate"] * 2
    write(writer, cert)
    assert scalar(store, "SELECT status FROM certificates WHERE token = :t", t=token) == "issued"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("promise", "我承诺：本产品绝对安全，假一赔十。", "wrong_promise_text"),
    ("template_version", "HOMEMADE-1", "unknown_template"),
    ("verify_url", "javascript:alert(document.cookie)", "foreign_verify_url"),
    ("verify_url", "https://evil.example/c/{token}", "foreign_verify_url"),
    ("verify_url", "http://verify.example.cn/c/{token}", "foreign_verify_url"),
])
def test_the_cloud_refuses_texts_and_urls_it_would_show_unless_they_are_the_fixed_ones(
    store: Engine, kiosk: FakeKiosk, field: str, value: str, code: str
) -> None:
    writer = BatchWriter(store, public_base_urls=["https://verify.example.cn"])
    token = kiosk.new_token()
    bad = kiosk.certificate(token=token, **{field: value.format(token=token)})
    verdict = write(writer, bad).verdicts[0]
    assert verdict.outcome is Outcome.DEAD_LETTER
    assert verdict.rejection is not None and verdict.rejection.code == code
    assert scalar(store, "SELECT count(*) FROM certificates") == 0
    good = kiosk.certificate(verify_url=f"https://verify.example.cn/c/{(t := kiosk.new_token())}",
                             token=t)
    assert write(writer, good).verdicts[0].outcome is Outcome.RECORDED
    stored = json.loads(bytes(scalar(store, "SELECT payload FROM dead_letters")))
    assert stored["body"]["certificate"][field] == value.format(token=token)  # nothing lost


def test_a_moved_cloud_still_accepts_its_former_address_and_nothing_else() -> None:
    token = make_token("kiosk-0001")
    bases = ["https://new.example.cn", "https://old.example.cn/"]
    assert verify_url_problem(f"https://old.example.cn/c/{token}", token, bases) is None
    assert verify_url_problem(f"https://new.example.cn/c/{token}", token, bases) is None
    assert verify_url_problem(f"https://new.example.cn/c/{make_token('kiosk-0001')}", token,
                              bases) is not None
    # Without a configured address: https (or http on loopback), the token's page, nothing more.
    assert verify_url_problem(f"http://127.0.0.1:8080/c/{token}", token, []) is None
    for url in (f"javascript:alert(1)//c/{token}", f"https://a.example/c/{token}?x=1",
                f"https://user@a.example/c/{token}", f"http://a.example/c/{token}",
                f"https://a.example/c/{token}#x", "https://a.example/"):
        assert verify_url_problem(url, token, []) is not None, url
