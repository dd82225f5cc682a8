"""Retention pruning never touches certificates within retention; CSV and EPCIS exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from cloud_bridge.domain.certificates import ReissueRequest, SourceUse, reissue
from cloud_bridge.domain.keys import Principal
from cloud_bridge.domain.prune import prune
from cloud_bridge.export import epcis_document
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.store import session_factory
from tests.support.cloud import rows, scalar
from tests.support.kiosk_messages import FakeKiosk

from .api_support import api_client, make_keys, token_of

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=800)


def at(writer: BatchWriter, when: datetime, *messages: tuple[str, bytes]) -> None:
    result = writer.write([Inbound(t, p, i, 1, when) for i, (t, p) in enumerate(messages)])
    assert all(v.rejection is None for v in result.verdicts)


def test_pruning_keeps_everything_within_retention_and_chains_of_sources(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    old_cert, old_source, old_alone = kiosk.certificate(), kiosk.certificate(), kiosk.certificate()
    at(writer, OLD, old_cert, old_source, old_alone, kiosk.reading(),
       kiosk.void(token_of(old_alone)))
    recent_cert = kiosk.certificate(issued_at=datetime(1970, 1, 2, tzinfo=UTC), time_synced=False)
    at(writer, NOW - timedelta(days=3), recent_cert, kiosk.reading())
    with session_factory(store).begin() as session:  # a recent re-issue takes from an old lot
        reissue(session, ReissueRequest(
            product_code="jiucai", product_name="韭菜", quantity=5, unit="kg",
            origin_code="220122", purchaser_id="b-1", purchaser_name="王五",
            purchaser_phone="13700007777",
            sources=[SourceUse(token=token_of(old_source), quantity=5)]),
            Principal("mk", "market", "市场"), public_base_url="http://x")
    with session_factory(store).begin() as session:
        dry = prune(session, retention_days=730, dry_run=True)
    assert dry.deleted["certificates"] == 2
    assert scalar(store, "SELECT count(*) FROM certificates") == 5
    with session_factory(store).begin() as session:
        report = prune(session, retention_days=730)
    kept = {t for (t,) in rows(store, "SELECT token FROM certificates")}
    assert token_of(recent_cert) in kept and token_of(old_source) in kept
    assert token_of(old_cert) not in kept and token_of(old_alone) not in kept
    assert report.deleted["certificates"] == 2 and report.deleted["strip_readings"] == 1
    # ledger rows of kept certificates stay; the old reading's and the pruned ones go
    assert scalar(store, "SELECT count(*) FROM ledger") == 3
    assert rows(store, "SELECT action FROM history WHERE entity = 'store'") == [("pruned",)]
    with pytest.raises(ValueError, match="180 days"), session_factory(store)() as session:
        prune(session, retention_days=30)


def test_a_dry_run_counts_what_a_real_run_deletes(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    old_cert, old_voided = kiosk.certificate(), kiosk.certificate()
    at(writer, OLD, old_cert, old_voided, kiosk.void(token_of(old_voided)), kiosk.reading())
    at(writer, NOW - timedelta(days=3), kiosk.certificate())
    with session_factory(store).begin() as session:
        dry = prune(session, retention_days=730, dry_run=True)
    assert scalar(store, "SELECT count(*) FROM ledger") == 5  # the dry run deleted nothing
    with session_factory(store).begin() as session:
        real = prune(session, retention_days=730)
    # The old certificates' own ledger rows (issue and void) are counted too.
    assert dry.deleted["ledger"] == 4
    assert dry.deleted == real.deleted


def test_epcis_document_has_the_2_0_shape_and_each_kind_of_event(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    a = kiosk.certificate()
    at(writer, NOW - timedelta(hours=1), a, kiosk.reading(), kiosk.reading(call="positive"))
    keys = make_keys(store)
    with api_client(store) as client:
        client.post(f"/api/v1/certificates/{token_of(a)}/checks", json={"result": "accepted"},
                    headers=keys.auth("market"))
        client.post("/api/v1/certificates", headers=keys.auth("market"), json={
            "product_code": "jiucai", "product_name": "韭菜", "quantity": 20, "unit": "kg",
            "origin_code": "220122", "purchaser_id": "b-1", "purchaser_name": "王五",
            "purchaser_phone": "13700007777", "sources": [{"token": token_of(a), "quantity": 20}]})
        response = client.get("/api/v1/export/epcis", headers=keys.auth("operator"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    doc = response.json()
    assert doc["type"] == "EPCISDocument" and doc["schemaVersion"] == "2.0"
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
    events = doc["epcisBody"]["eventList"]
    summary = sorted((e["type"], e.get("bizStep"), e.get("disposition")) for e in events)
    assert summary == sorted([
        ("ObjectEvent", "inspecting", "conformant"),
        ("ObjectEvent", "inspecting", "non_conformant"),
        ("ObjectEvent", "commissioning", "active"),
        ("ObjectEvent", "receiving", "conformant"),
        ("TransformationEvent", "repackaging", "active"),
    ])
    for e in events:
        assert e["eventTimeZoneOffset"] == "+08:00" and e["eventTime"].endswith("Z")
        assert e["eventID"].startswith("urn:uuid:")
    transform = next(e for e in events if e["type"] == "TransformationEvent")
    assert transform["inputQuantityList"] == [{"epcClass": f"http://127.0.0.1:8080/c/{token_of(a)}",
                                               "quantity": 20.0, "uom": "KGM"}]
    with session_factory(store)() as session:
        empty = epcis_document(session, NOW - timedelta(days=900), NOW - timedelta(days=899))
    assert empty["epcisBody"]["eventList"] == []


def test_csv_exports_without_personal_data_and_without_formulas(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    at(writer, NOW - timedelta(minutes=5), kiosk.certificate(product_name="=HYPERLINK(1)"),
       kiosk.reading())
    keys = make_keys(store)
    with api_client(store) as client:
        certs = client.get("/api/v1/export/certificates.csv", headers=keys.auth("operator"))
        readings = client.get("/api/v1/export/readings.csv", headers=keys.auth("operator"))
        refused = client.get("/api/v1/export/readings.csv", headers=keys.auth("operator"),
                             params={"since": "2020-01-01T00:00:00Z"})
    assert certs.status_code == 200 and certs.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(certs.text.lstrip("\ufeff"))))
    assert len(table) == 1 and table[0]["product_name"] == "'=HYPERLINK(1)"
    assert "13812341234" not in certs.text and "张三丰" not in certs.text
    assert len(list(csv.DictReader(io.StringIO(readings.text.lstrip("\ufeff"))))) == 1
    assert refused.status_code == 422 and refused.json()["error"] == "period_too_long"




def test_pruning_never_removes_the_evidence_of_a_credit_level(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    """Issue 11: pruning at the allowed minimum (180 days) deleted a positive result 200 days
    old, inside the 365-day credit window, and the producer went from D to A."""
    from cloud_bridge.domain.queries import producer_record
    from cloud_bridge.settings import ConfigError, load_settings

    at(writer, NOW - timedelta(days=200), kiosk.producer("p-7"), kiosk.certificate(
        producer_id="p-7"), kiosk.lot("blocked_positive", producer_id="p-7"))

    def level() -> str:
        with session_factory(store)() as session:
            record = producer_record(session, "p-7")
            assert record is not None
            return record.level.level

    assert level() == "D"
    for days in (180, 200, 364):
        with pytest.raises(ValueError, match="credit rule"), \
                session_factory(store).begin() as session:
            prune(session, retention_days=days)
        with pytest.raises(ConfigError, match="365"):
            load_settings(None, retention={"days": days})
    assert level() == "D"
    with session_factory(store).begin() as session:
        prune(session, retention_days=365)
    assert level() == "D"
    assert scalar(store, "SELECT count(*) FROM credit_events") == 1
