"""The producer registry, fed by ``event/producer`` ledger records.

A producer is registered at one kiosk and belongs to that kiosk's station: its kiosks get the
producer in their roster and can identify them offline. Updates may come from any kiosk and in
any order (a shared subscription keeps no order, a kiosk may have been offline for days), so
an event is applied only if it is newer than the one already applied: by the kiosk's clock when
that clock was synchronised, else by the cloud's receive time, ties broken by message id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.store.registry_models import Producer
from cloud_bridge.store.types import utcnow
from protocol import ProducerEvent

from .errors import NotFound
from .history import log_change
from .roster import bump_stations


def event_time(msg: ProducerEvent, received_at: datetime) -> datetime:
    """When the change was made, as far as the cloud can trust it."""
    return msg.time if msg.time_synced else received_at


def apply_producer_events(
    session: Session,
    events: Sequence[tuple[ProducerEvent, datetime]],
    stations: Mapping[str, str],
) -> set[str]:
    """Upsert producers from recorded events (inside the batch's transaction).

    Args:
        events: ``(message, cloud receive time)`` of each newly recorded producer event.
        stations: device id -> station id of the senders.

    Returns:
        The stations whose roster changed.
    """
    changed: set[str] = set()
    ordered = sorted(events, key=lambda e: (event_time(*e), e[0].msg_id))
    ids = sorted({m.producer.producer_id for m, _ in ordered})
    if not ids:
        return changed
    existing = {p.producer_id: p for p in session.scalars(
        select(Producer).where(Producer.producer_id.in_(ids)).with_for_update())}
    for msg, received_at in ordered:
        p = msg.producer
        when = event_time(msg, received_at)
        row = existing.get(p.producer_id)
        fields = {
            "kind": p.kind, "name": p.name, "phone": p.phone, "origin_code": p.origin_code,
            "origin_detail": p.origin_detail, "card_code": p.card_code, "pin_hash": p.pin_hash,
        }
        if row is None:
            row = Producer(producer_id=p.producer_id, station_id=stations[msg.device_id],
                           registered_by=p.registered_by, registered_at=p.registered_at,
                           active=True, event_time=when, last_msg_id=msg.msg_id,
                           updated_at=utcnow(), **fields)
            session.add(row)
            existing[p.producer_id] = row
        elif (when, msg.msg_id) > (row.event_time, row.last_msg_id):
            for name, value in fields.items():
                setattr(row, name, value)
            row.event_time, row.last_msg_id, row.updated_at = when, msg.msg_id, utcnow()
        else:
            continue  # an older event than the one applied: the ledger keeps it, nothing moves
        changed.add(row.station_id)
        log_change(session, entity="producer", entity_id=p.producer_id, action=msg.action,
                   actor=f"ingest:{msg.device_id}",
                   data={"seq": msg.seq, "msg_id": msg.msg_id})
    return changed


def set_active(session: Session, producer_id: str, active: bool, *, actor: str,
               reason: str) -> Producer:
    """Suspend or restore a producer (a supervisor's act); the station's roster changes.

    Raises:
        NotFound: no such producer.
    """
    row = session.get(Producer, producer_id, with_for_update=True)
    if row is None:
        raise NotFound("not_found", f"no producer {producer_id!r}")
    if row.active != active:
        row.active = active
        row.updated_at = utcnow()
        log_change(session, entity="producer", entity_id=producer_id,
                   action="restored" if active else "suspended", actor=actor, reason=reason)
        bump_stations(session, {row.station_id})
    return row
