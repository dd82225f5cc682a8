"""GS1 EPCIS 2.0 JSON-LD export of the cloud's events.

- a strip reading: ``ObjectEvent`` OBSERVE of the tested lot, bizStep ``inspecting``,
  disposition ``conformant`` (negative) or ``non_conformant`` (positive), none when invalid;
- a certificate issued at a kiosk: ``ObjectEvent`` ADD, ``commissioning``, ``active``;
- a certificate voided or revoked: ``ObjectEvent`` DELETE, ``decommissioning``, ``inactive``;
- a market check: ``ObjectEvent`` OBSERVE, ``receiving``, ``conformant`` / ``non_conformant``;
- a purchaser's re-issue (mixing, splitting): ``TransformationEvent`` with the sources in and
  the new certificate out, ``repackaging``, ``active``.

Identifiers: a certificate is its public verification URL (GS1 Digital Link style: it resolves
to the certificate's page); a tested lot is ``urn:nongan:lot:{session or reading id}``; read
points are ``urn:nongan:device:{id}`` and locations ``urn:nongan:place:{GB/T 2260 code}``.
Event times are the shown time (``registry.times``: the kiosk clock when synchronised, else
the cloud's receive time), with the cloud's receive time as ``recordTime``. Quantities use
UN/CEFACT codes where the unit is known (kg → KGM); other units stay in ``nongan:unit``.
Our own fields are under the ``nongan:`` prefix declared in the context.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.domain.times import CHINA_UTC_HOURS, EPOCH_FLOOR, shown_time
from cloud_bridge.store.models import CertificateRecord, Device, StripReadingRecord
from cloud_bridge.store.registry_models import CertificateSource, MarketCheck
from cloud_bridge.store.types import utcnow

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    {"nongan": "https://nongan.example.org/epcis/"},
]
UOM = {"kg": "KGM", "千克": "KGM", "公斤": "KGM", "g": "GRM", "克": "GRM", "t": "TNE",
       "吨": "TNE", "个": "H87", "枚": "H87", "只": "H87", "头": "H87", "箱": "XBX",
       "box": "XBX", "boxes": "XBX"}
CHINA_OFFSET = f"+{CHINA_UTC_HOURS:02d}:00"
MAX_EVENTS = 50_000


def _time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _quantity(epc_class: str, quantity: float, unit: str) -> dict[str, Any]:
    item: dict[str, Any] = {"epcClass": epc_class, "quantity": quantity}
    uom = UOM.get(unit.strip().lower())
    if uom is not None:
        item["uom"] = uom
    else:
        item["nongan:unit"] = unit
    return item


def _event_id(*parts: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, "nongan:" + ":".join(parts)).urn


def epcis_document(session: Session, since: datetime, until: datetime, *,
                   now: datetime | None = None) -> dict[str, Any]:
    """Every event the cloud recorded in ``[since, until)`` as one EPCISDocument.

    Raises:
        ValueError: more than ``MAX_EVENTS`` events: ask for a shorter period.
    """
    events: list[dict[str, Any]] = []
    places = dict(session.execute(select(Device.id, Device.place_code)).all())
    r = StripReadingRecord
    for reading in session.scalars(select(r).where(r.recorded_at >= since, r.recorded_at < until)
                                   .order_by(r.recorded_at).limit(MAX_EVENTS + 1)):
        events.append(_reading_event(reading, places.get(reading.device_id)))
    c = CertificateRecord
    certs = list(session.scalars(select(c).where(
        ((c.recorded_at >= since) & (c.recorded_at < until))
        | ((c.revoked_at >= since) & (c.revoked_at < until))).order_by(c.recorded_at)
        .limit(MAX_EVENTS + 1)))
    links: dict[str, list[tuple[CertificateSource, CertificateRecord]]] = {}
    reissued = [x.token for x in certs if x.origin == "cloud"]
    if reissued:
        for link, src in session.execute(
            select(CertificateSource, CertificateRecord)
            .join(CertificateRecord, CertificateRecord.token == CertificateSource.source_token)
            .where(CertificateSource.token.in_(reissued))).all():
            links.setdefault(link.token, []).append((link, src))
    for cert in certs:
        if since <= cert.recorded_at < until:
            if cert.origin == "cloud":
                events.append(_transformation(cert, links.get(cert.token, [])))
            else:
                events.append(_issue_event(cert, places.get(cert.device_id or "")))
        if cert.status in ("voided", "revoked"):
            ended = _end_event(cert)
            if ended is not None and since <= datetime.fromisoformat(
                    ended["recordTime"].replace("Z", "+00:00")) < until:
                events.append(ended)
    for check, cert in session.execute(
        select(MarketCheck, CertificateRecord)
        .join(CertificateRecord, CertificateRecord.token == MarketCheck.token)
        .where(MarketCheck.checked_at >= since, MarketCheck.checked_at < until)
        .order_by(MarketCheck.checked_at).limit(MAX_EVENTS + 1)).all():
        events.append(_check_event(check, cert))
    if len(events) > MAX_EVENTS:
        raise ValueError(f"more than {MAX_EVENTS} events in that period: ask for a shorter one")
    events.sort(key=lambda e: e["eventTime"])
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(now or utcnow()),
        "epcisBody": {"eventList": events},
    }


def _reading_event(reading: StripReadingRecord, place: str | None) -> dict[str, Any]:
    data = reading.data
    shown = shown_time(reading.scored_at, reading.time_synced, reading.recorded_at)
    lot = f"urn:nongan:lot:{reading.session_id or reading.reading_id}"
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": uuid.UUID(reading.reading_id).urn,
        "eventTime": _time(shown.at),
        "eventTimeZoneOffset": CHINA_OFFSET,
        "recordTime": _time(reading.recorded_at),
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "quantityList": [{"epcClass": lot}],
        "readPoint": {"id": f"urn:nongan:device:{reading.device_id}"},
        "nongan:product": reading.product_code,
        "nongan:analyte": reading.analyte_code,
        "nongan:call": reading.call,
        "nongan:kit": {"id": reading.kit_id, "lot": reading.kit_lot,
                       "expires": reading.kit_expires_on.isoformat()},
        "nongan:tcRatio": reading.t_c_ratio,
        "nongan:rule": data.get("rule"),
        "nongan:timeSource": shown.source,
    }
    if reading.call in ("negative", "positive"):
        event["disposition"] = "conformant" if reading.call == "negative" else "non_conformant"
    if place:
        event["bizLocation"] = {"id": f"urn:nongan:place:{place}"}
    return event


def _epc(cert: CertificateRecord) -> str:
    """A certificate's EPC: the URL its QR code holds, else a URN made of its token."""
    url = cert.data.get("verify_url")
    return str(url) if url else f"urn:nongan:certificate:{cert.token}"


def _issue_event(cert: CertificateRecord, place: str | None) -> dict[str, Any]:
    shown = shown_time(cert.issued_at, cert.time_synced, cert.recorded_at)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": _event_id("issued", cert.token),
        "eventTime": _time(shown.at),
        "eventTimeZoneOffset": CHINA_OFFSET,
        "recordTime": _time(cert.recorded_at),
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "epcList": [_epc(cert)],
        "quantityList": [_quantity(f"urn:nongan:product:{cert.product_code}", cert.quantity,
                                   cert.unit)],
        "readPoint": {"id": f"urn:nongan:device:{cert.device_id}"},
        "nongan:serial": cert.serial,
        "nongan:style": cert.style,
        "nongan:producer": cert.producer_id,
        "nongan:origin": cert.origin_code,
        "nongan:timeSource": shown.source,
    }
    if place:
        event["bizLocation"] = {"id": f"urn:nongan:place:{place}"}
    return event


def _end_event(cert: CertificateRecord) -> dict[str, Any] | None:
    if cert.status == "revoked" and cert.revoked_at is not None:
        at, recorded, why = cert.revoked_at, cert.revoked_at, cert.revoke_reason
    elif cert.status == "voided" and cert.voided_at is not None:
        at, recorded, why = cert.voided_at, cert.recorded_at, cert.void_reason
        if at < EPOCH_FLOOR:  # a kiosk clock that was not set: the cloud's receive time
            at = recorded
    else:
        return None
    return {
        "type": "ObjectEvent",
        "eventID": _event_id(cert.status, cert.token),
        "eventTime": _time(at),
        "eventTimeZoneOffset": CHINA_OFFSET,
        "recordTime": _time(recorded),
        "action": "DELETE",
        "bizStep": "decommissioning",
        "disposition": "inactive",
        "epcList": [_epc(cert)],
        "nongan:status": cert.status,
        "nongan:reason": why,
    }


def _check_event(check: MarketCheck, cert: CertificateRecord) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventID": _event_id("check", str(check.id)),
        "eventTime": _time(check.checked_at),
        "eventTimeZoneOffset": CHINA_OFFSET,
        "recordTime": _time(check.checked_at),
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "conformant" if check.result == "accepted" else "non_conformant",
        "epcList": [_epc(cert)],
        "nongan:market": check.market,
        "nongan:result": check.result,
        "nongan:reason": check.reason,
    }


def _transformation(cert: CertificateRecord,
                    sources: list[tuple[CertificateSource, CertificateRecord]]) -> dict[str, Any]:
    return {
        "type": "TransformationEvent",
        "eventID": _event_id("reissued", cert.token),
        "eventTime": _time(cert.issued_at),
        "eventTimeZoneOffset": CHINA_OFFSET,
        "recordTime": _time(cert.recorded_at),
        "bizStep": "repackaging",
        "disposition": "active",
        "inputQuantityList": [
            _quantity(_epc(src), link.quantity, src.unit) for link, src in sources],
        "outputEPCList": [_epc(cert)],
        "outputQuantityList": [_quantity(f"urn:nongan:product:{cert.product_code}",
                                         cert.quantity, cert.unit)],
        "nongan:serial": cert.serial,
        "nongan:style": cert.style,
        "nongan:issuedBy": cert.issued_by,
    }
