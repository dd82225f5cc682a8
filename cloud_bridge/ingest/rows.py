"""Table rows made from accepted kiosk messages (pure: message in, dictionaries out).

Each function makes the row of one message type; ``ingest.handlers`` says which type gets
which (one handler per type, looked up in a table).

The JSON documents stored beside the columns are taken from the object exactly as received
(``raw``), not from the re-serialised model, so they hold what the kiosk signed.
"""

from __future__ import annotations

from typing import Any

from protocol import (
    CertificateEvent,
    CertificateIssued,
    CertificateVoided,
    CommandResult,
    LotEvent,
    StatusMessage,
    Telemetry,
    TestReadingEvent,
)
from protocol.messages import LedgerHeader

from .inbound import Accepted


def ledger_row(item: Accepted, action: str | None, subject: str) -> dict[str, Any]:
    """The ``ledger`` row of a ledger record; its handler says its action and subject
    (``ingest.handlers``)."""
    msg = item.message
    assert isinstance(msg, LedgerHeader)
    return {
        "device_id": msg.device_id,
        "seq": msg.seq,
        "msg_id": msg.msg_id,
        "kind": msg.kind,  # type: ignore[attr-defined]
        "action": action,
        "subject": subject,
        "kiosk_time": msg.time,
        "time_synced": msg.time_synced,
        "boot_id": msg.boot_id,
        "mono_ms": msg.mono_ms,
        "received_at": item.inbound.received_at,
        "payload": item.inbound.payload,
    }


def certificate_row(item: Accepted) -> dict[str, Any] | None:
    """The ``certificates`` row of an issuing event (None for other events)."""
    msg = item.message
    if not isinstance(msg, CertificateEvent) or not isinstance(msg.body, CertificateIssued):
        return None
    cert = msg.body.certificate
    return {
        "token": cert.token,
        "serial": cert.serial,
        "device_id": msg.device_id,
        "seq": msg.seq,
        "status": "issued",
        "style": cert.style.value,
        "product_code": cert.product_code,
        "product_name": cert.product_name,
        "quantity": cert.quantity,
        "unit": cert.unit,
        "origin_code": cert.origin_code,
        "producer_id": cert.producer_id,
        "station_id": cert.station_id,
        "place_code": cert.place_code,
        "issued_at": cert.issued_at,
        "time_synced": cert.time_synced,
        "recorded_at": item.inbound.received_at,
        "void_reason": None,
        "voided_at": None,
        "void_seq": None,
        "data": item.raw["body"]["certificate"],
    }


def void_of(item: Accepted) -> CertificateVoided | None:
    msg = item.message
    if isinstance(msg, CertificateEvent) and isinstance(msg.body, CertificateVoided):
        return msg.body
    return None


def void_params(device_id: str, seq: int, void: CertificateVoided) -> dict[str, Any]:
    return {
        "b_token": void.token,
        "b_device": device_id,
        "b_reason": void.reason,
        "b_voided_at": void.voided_at,
        "b_seq": seq,
    }


def reading_row(item: Accepted) -> dict[str, Any]:
    """The ``strip_readings`` row of a test reading event."""
    msg = item.message
    assert isinstance(msg, TestReadingEvent)
    r = msg.reading
    return {
        "reading_id": r.reading_id,
        "device_id": msg.device_id,
        "seq": msg.seq,
        "session_id": r.session_id,
        "producer_id": r.producer_id,
        "product_code": r.product_code,
        "analyte_code": r.analyte_code,
        "kit_id": r.kit_id,
        "kit_lot": r.kit_lot,
        "kit_expires_on": r.kit_expires_on,
        "call": r.call.value,
        "t_c_ratio": r.t_c_ratio,
        "reader_id": r.reader_id,
        "scored_at": r.scored_at,
        "time_synced": msg.time_synced,
        "recorded_at": item.inbound.received_at,
        "data": item.raw["reading"],
    }


def lot_row(item: Accepted) -> dict[str, Any]:
    """The ``lots`` row of a lot event."""
    msg = item.message
    assert isinstance(msg, LotEvent)
    return {
        "session_id": msg.session_id,
        "device_id": msg.device_id,
        "seq": msg.seq,
        "outcome": msg.outcome.value,
        "producer_id": msg.producer_id,
        "product_code": msg.product_code,
        "quantity": msg.quantity,
        "unit": msg.unit,
        "certificate_token": msg.certificate_token,
        "reading_ids": list(msg.reading_ids),
        "note": msg.note,
        "kiosk_time": msg.time,
        "time_synced": msg.time_synced,
        "recorded_at": item.inbound.received_at,
    }


def status_row(item: Accepted) -> dict[str, Any]:
    msg = item.message
    assert isinstance(msg, StatusMessage)
    return {
        "device_id": msg.device_id,
        "state": msg.state.value,
        "graceful": msg.graceful,
        "msg_id": msg.msg_id,
        "boot_id": msg.boot_id,
        "kiosk_time": msg.time,
        "time_synced": msg.time_synced,
        "software_version": msg.software_version,
        "firmware_version": msg.firmware_version,
        "received_at": item.inbound.received_at,
    }


def telemetry_row(item: Accepted) -> dict[str, Any]:
    msg = item.message
    assert isinstance(msg, Telemetry)
    return {
        "device_id": msg.device_id,
        "msg_id": msg.msg_id,
        "kiosk_time": msg.time,
        "time_synced": msg.time_synced,
        "received_at": item.inbound.received_at,
        "outbox_pending": msg.outbox_pending,
        "outbox_oldest_age_s": msg.outbox_oldest_age_s,
        "last_seq": msg.last_seq,
        "last_acked_seq": msg.last_acked_seq,
        "disk_free_bytes": msg.disk_free_bytes,
        "software_version": msg.software_version,
        "data": item.raw,
    }


def command_result_row(item: Accepted) -> dict[str, Any]:
    msg = item.message
    assert isinstance(msg, CommandResult)
    return {
        "msg_id": msg.msg_id,
        "device_id": msg.device_id,
        "cmd_id": msg.cmd_id,
        "name": msg.name,
        "ok": msg.ok,
        "kiosk_time": msg.time,
        "received_at": item.inbound.received_at,
        "data": item.raw,
    }
