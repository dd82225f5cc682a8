"""What newly recorded ledger records change beyond their own rows, in the same transaction.

- producer events update the producer registry, which raises their station's roster version;
- a lot ``blocked_positive`` with a known producer is a ``positive_result`` credit event;
- a certificate voided by its kiosk is a ``voided_certificate`` credit event of its producer;
- a kiosk alarm (``event/alarm``) updates that alarm's latest state, if it is newer (by seq)
  than the one applied (a shared subscription keeps no order).

Only records stored for the first time get here (duplicates change nothing), and the credit
events are unique on (kind, subject), so a batch redone after a refused bulk insert is safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.domain import credit
from cloud_bridge.domain.producers import apply_producer_events
from cloud_bridge.domain.roster import bump_stations
from cloud_bridge.store.models import CertificateRecord, table_of
from cloud_bridge.store.registry_models import KioskAlarm
from cloud_bridge.store.upsert import upsert
from protocol import AlarmEvent, DeviceState, LotEvent, LotOutcome, ProducerEvent, StatusMessage

from .classify import KnownDevice
from .inbound import Accepted


def is_birth(item: Accepted) -> bool:
    msg = item.message
    return isinstance(msg, StatusMessage) and msg.state is DeviceState.ONLINE


def after_ledger(session: Session, recorded: Sequence[Accepted], voided_tokens: Sequence[str],
                 devices: Mapping[str, KnownDevice]) -> set[str]:
    """Apply the follow-ups of ``recorded``; returns the stations whose roster changed."""
    producer_events = [(i.message, i.inbound.received_at) for i in recorded
                       if isinstance(i.message, ProducerEvent)]
    stations: set[str] = set()
    if producer_events:
        stations = apply_producer_events(
            session, producer_events,
            {d: info.station_id for d, info in devices.items()})
        bump_stations(session, stations)
    events = []
    for item in recorded:
        msg = item.message
        if (isinstance(msg, LotEvent) and msg.outcome is LotOutcome.BLOCKED_POSITIVE
                and msg.producer_id):
            events.append((msg.producer_id, "positive_result", msg.session_id,
                           item.inbound.received_at,
                           f"{msg.product_code}: lot blocked as positive at {msg.device_id}"))
    if voided_tokens:
        received = {i.device_id: i.inbound.received_at for i in recorded}
        for token, producer_id, device_id, reason in session.execute(
            select(CertificateRecord.token, CertificateRecord.producer_id,
                   CertificateRecord.device_id, CertificateRecord.void_reason)
            .where(CertificateRecord.token.in_(list(voided_tokens)),
                   CertificateRecord.void_seq.is_not(None))
        ).all():
            at = received.get(device_id or "") or max(received.values())
            events.append((producer_id, "voided_certificate", token, at, reason or ""))
    if events:
        credit.record(session, events)
    _apply_alarms(session, [i for i in recorded if isinstance(i.message, AlarmEvent)])
    return stations


def _apply_alarms(session: Session, items: Sequence[Accepted]) -> None:
    latest: dict[tuple[str, str], Accepted] = {}
    for item in items:
        msg = item.message
        assert isinstance(msg, AlarmEvent)
        key = (msg.device_id, msg.code)
        if key not in latest or msg.seq > latest[key].message.seq:  # type: ignore[attr-defined]
            latest[key] = item
    rows = []
    for (device_id, code), item in sorted(latest.items()):
        msg = item.message
        assert isinstance(msg, AlarmEvent)
        rows.append({"device_id": device_id, "code": code, "state": msg.state,
                     "severity": str(msg.severity), "subject": msg.subject,
                     "message": msg.message, "seq": msg.seq,
                     "received_at": item.inbound.received_at})
    upsert(session, table_of(KioskAlarm), rows, key=["device_id", "code"],
           set_=lambda t, excluded: {c: excluded[c] for c in (
               "state", "severity", "subject", "message", "seq", "received_at")},
           where=lambda t, excluded: t.c.seq < excluded.seq)
