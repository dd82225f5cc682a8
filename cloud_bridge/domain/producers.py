"""The producer registry, fed by ``event/producer`` ledger records.

A producer is registered at one kiosk and belongs to that kiosk's station: its kiosks get the
producer in their roster and can identify them offline.

**Who may change a producer** (``refusals``, checked before a record is stored): a kiosk
registers producers only as itself (``registered_by`` is the sender), under an id bound to it
(``protocol.bound_ids``), and only kiosks of the producer's station (the station of the kiosk
that registered them) may update them. The registrar is fixed by the first event the cloud
records; an event that names another registrar for the same id, or comes from another
station's kiosk, is refused and becomes a dead letter with the reason, so an enrolled kiosk
cannot take over another station's farmer (replace their phone, card code and PIN hash).

**Who may name a producer**: a lot or a certificate names the producer it is for, and that
name carries weight (a positive lot, a voided or rejected certificate count against their
credit). A kiosk can only identify its own station's producers (its roster) and those
registered at itself, so a lot or certificate naming a producer of another station, or a
producer id bound to no kiosk of the sender's station, is refused the same way
(``mention_refusals``). A producer the cloud does not know yet (registered offline, the
registration still on its way) under an id of another shape is let through.

**Which update wins**: updates may come from several kiosks and in any order (a shared
subscription keeps no order, a kiosk may have been offline for days), so an event is applied
only if it is newer than the one applied, by what the cloud can trust. From the same kiosk, the
higher ``seq`` is newer (a kiosk's numbering never goes back, its clock may). Between kiosks,
the kiosk's clock when it was synchronised, but never later than the cloud's receive time (a
kiosk cannot claim the future to make its change stick), else the receive time; ties by
message id. An event that is not applied is still in the ledger, and the history says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import Device
from cloud_bridge.store.registry_models import Producer
from cloud_bridge.store.types import utcnow
from protocol import ProducerEvent
from protocol.bound_ids import producer_id_belongs_to

from .errors import NotFound
from .history import log_change
from .roster import bump_stations


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a producer event may not be recorded: a short code and words for the operator."""

    code: str
    reason: str


def event_time(msg: ProducerEvent, received_at: datetime) -> datetime:
    """When the change was made, as far as the cloud can trust it: the kiosk's synchronised
    clock, capped at the cloud's receive time; else the receive time."""
    return min(msg.time, received_at) if msg.time_synced else received_at


def refusals(session: Session, events: Sequence[ProducerEvent]) -> dict[str, Refusal]:
    """The events among ``events`` (new, in arrival order) whose sender may not make them.

    Returns:
        Refusals by ``msg_id``; events not named may be recorded and applied.
    """
    if not events:
        return {}
    ids = sorted({m.producer.producer_id for m in events})
    owners: dict[str, tuple[str, str]] = {
        pid: (station, registrar) for pid, station, registrar in session.execute(
            select(Producer.producer_id, Producer.station_id, Producer.registered_by)
            .where(Producer.producer_id.in_(ids)))}
    devices = sorted({m.device_id for m in events} | {m.producer.registered_by for m in events})
    stations = dict(session.execute(
        select(Device.id, Device.station_id).where(Device.id.in_(devices))).all())
    refused: dict[str, Refusal] = {}
    for msg in events:
        pid, sender, registrar = msg.producer.producer_id, msg.device_id, msg.producer.registered_by
        sender_station = stations.get(sender, "")
        if msg.action == "registered" and registrar != sender:
            refused[msg.msg_id] = Refusal("foreign_registrar", (
                f"device {sender!r} sent a registration of producer {pid} naming device "
                f"{registrar!r} as the registrar: a kiosk registers producers only as itself"))
            continue
        if producer_id_belongs_to(pid, registrar) is False:
            refused[msg.msg_id] = Refusal("foreign_producer", (
                f"producer id {pid} was not made at its registrar {registrar!r} (a kiosk's "
                f"producer ids are bound to it): device {sender!r} may not claim it"))
            continue
        owner = owners.get(pid)
        if owner is None:
            if registrar not in stations:
                refused[msg.msg_id] = Refusal("unknown_registrar", (
                    f"producer {pid} names registrar {registrar!r}, which is not enrolled"))
                continue
            owner = (stations[registrar], registrar)
        if registrar != owner[1]:
            refused[msg.msg_id] = Refusal("foreign_producer", (
                f"producer {pid} was registered by device {owner[1]!r}, not {registrar!r}: "
                f"device {sender!r} may not register the same id again"))
        elif sender_station != owner[0]:
            refused[msg.msg_id] = Refusal("foreign_producer", (
                f"device {sender!r} (station {sender_station or '?'}) may not change producer "
                f"{pid} of station {owner[0]}: only that station's kiosks may"))
        else:
            owners.setdefault(pid, owner)  # the first accepted event fixes a new id's owner
    return refused


def mention_refusals(session: Session, mentions: Sequence[tuple[str, str, str]]
                     ) -> dict[str, Refusal]:
    """The mentions ``(msg_id, sender device, producer id)`` a sender may not make: a lot or a
    certificate for a producer of another station (see the module docstring).

    Returns:
        Refusals by ``msg_id``.
    """
    if not mentions:
        return {}
    ids = sorted({pid for _, _, pid in mentions})
    producer_station = dict(session.execute(
        select(Producer.producer_id, Producer.station_id)
        .where(Producer.producer_id.in_(ids))).all())
    senders = sorted({device for _, device, _ in mentions})
    station_of = dict(session.execute(
        select(Device.id, Device.station_id).where(Device.id.in_(senders))).all())
    station_devices: dict[str, list[str]] = {}
    for device_id, station in session.execute(
            select(Device.id, Device.station_id)
            .where(Device.station_id.in_(sorted(set(station_of.values()))))).all():
        station_devices.setdefault(station, []).append(device_id)
    refused: dict[str, Refusal] = {}
    for msg_id, sender, pid in mentions:
        station = station_of.get(sender, "")
        known = producer_station.get(pid)
        if known is not None and known != station:
            refused[msg_id] = Refusal("foreign_producer", (
                f"device {sender!r} (station {station or '?'}) names producer {pid} of station "
                f"{known}: a kiosk serves only its own station's producers"))
        elif known is None and not any(producer_id_belongs_to(pid, d) is not False
                                       for d in station_devices.get(station, [sender])):
            refused[msg_id] = Refusal("foreign_producer", (
                f"device {sender!r} names producer {pid}, whose id was made at no kiosk of "
                f"station {station or '?'}"))
    return refused


def _newer(msg: ProducerEvent, when: datetime, row: Producer) -> bool:
    if row.last_device_id == msg.device_id and row.last_seq is not None:
        return msg.seq > row.last_seq
    return (when, msg.msg_id) > (row.event_time, row.last_msg_id)


def apply_producer_events(
    session: Session,
    events: Sequence[tuple[ProducerEvent, datetime]],
    stations: Mapping[str, str],
) -> set[str]:
    """Upsert producers from recorded events (inside the batch's transaction).

    ``refusals`` has already kept out the events their senders may not make.

    Args:
        events: ``(message, cloud receive time)`` of each newly recorded producer event.
        stations: device id -> station id of the senders.

    Returns:
        The stations whose roster changed.
    """
    changed: set[str] = set()
    ordered = sorted(events, key=lambda e: (event_time(*e), e[0].device_id, e[0].seq))
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
        applied = {"event_time": when, "last_msg_id": msg.msg_id,
                   "last_device_id": msg.device_id, "last_seq": msg.seq}
        if row is None:
            row = Producer(producer_id=p.producer_id, station_id=stations[msg.device_id],
                           registered_by=p.registered_by, registered_at=p.registered_at,
                           active=True, updated_at=utcnow(), **applied, **fields)
            session.add(row)
            existing[p.producer_id] = row
        elif _newer(msg, when, row):
            for name, value in (fields | applied).items():
                setattr(row, name, value)
            row.updated_at = utcnow()
        else:
            # An older change than the one applied: the ledger keeps it; say so, not nothing.
            log_change(session, entity="producer", entity_id=p.producer_id,
                       action="not_applied", actor=f"ingest:{msg.device_id}",
                       reason="a newer change was applied already",
                       data={"seq": msg.seq, "msg_id": msg.msg_id,
                             "applied_msg_id": row.last_msg_id})
            continue
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
