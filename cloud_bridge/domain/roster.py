"""Rosters: the producers each kiosk may identify offline, published retained per kiosk.

A station's roster has a version that only grows (``roster_state``); every change to one of its
producers bumps it in the same transaction as the change. ``pending`` finds enrolled kiosks
that have not been sent their station's current version (``devices.roster_version``); the
ingest worker publishes those (retained, QoS 1, in pages on ``nongan/v1/{device}/roster/{n}``,
``ingest.outbound``) after its commit, and on a kiosk's birth message, then marks them sent.
Publishing twice is harmless: a kiosk keeps the highest version it has seen.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cloud_bridge.store.models import Device, DeviceStateValue, table_of
from cloud_bridge.store.registry_models import Producer, RosterState
from cloud_bridge.store.types import utcnow
from cloud_bridge.store.upsert import upsert
from protocol import RosterEntry
from protocol.messages import MAX_ROSTER_ENTRIES

log = logging.getLogger(__name__)

MAX_ROSTER = MAX_ROSTER_ENTRIES


def bump_stations(session: Session, stations: Collection[str]) -> None:
    """Raise the roster version of ``stations`` by one (within the caller's transaction)."""
    if not stations:
        return
    now = utcnow()
    table = table_of(RosterState)
    upsert(session, table, [{"station_id": s, "version": 1, "changed_at": now}
                            for s in sorted(stations)],
           key=["station_id"],
           set_=lambda t, excluded: {"version": t.c.version + 1,
                                     "changed_at": excluded.changed_at})


def pending(session: Session, device_ids: Collection[str] | None = None
            ) -> list[tuple[str, str, int]]:
    """Kiosks behind their station's roster: ``(device_id, station_id, version)``.

    Args:
        device_ids: only these kiosks (None: all enrolled kiosks).
    """
    query = (
        select(Device.id, Device.station_id, RosterState.version)
        .join(RosterState, RosterState.station_id == Device.station_id)
        .where(Device.state == DeviceStateValue.ENROLLED,
               Device.roster_version < RosterState.version)
        .order_by(Device.id)
    )
    if device_ids is not None:
        if not device_ids:
            return []
        query = query.where(Device.id.in_(sorted(device_ids)))
    return [(d, s, v) for d, s, v in session.execute(query).all()]


def pages_sent(session: Session, device_ids: Collection[str]) -> dict[str, int]:
    """How many roster pages each of ``device_ids`` was last sent."""
    if not device_ids:
        return {}
    rows = session.execute(select(Device.id, Device.roster_pages)
                           .where(Device.id.in_(sorted(device_ids)))).all()
    return {device_id: pages for device_id, pages in rows}


@dataclass(frozen=True, slots=True)
class RosterContent:
    """One kiosk's roster before it is paged and signed (``ingest.outbound``)."""

    device_id: str
    version: int
    generated_at: datetime
    producers: list[RosterEntry]


def build(session: Session, device_id: str, station_id: str, version: int,
          now: datetime | None = None) -> RosterContent:
    """The roster for one kiosk: its station's producers (``entries``)."""
    return RosterContent(device_id, version, now or utcnow(), entries(session, station_id))


def entries(session: Session, station_id: str) -> list[RosterEntry]:
    """A station's roster: its producers (suspended ones inactive), by producer id; at most
    ``MAX_ROSTER`` of them, the active and most recently changed first."""
    producers = session.scalars(
        select(Producer).where(Producer.station_id == station_id)
        .order_by(Producer.active.desc(), Producer.updated_at.desc()).limit(MAX_ROSTER + 1)
    ).all()
    if len(producers) > MAX_ROSTER:
        log.error("station %s has more than %d producers: its kiosks' offline roster holds the "
                  "%d active and most recently changed", station_id, MAX_ROSTER, MAX_ROSTER)
        producers = producers[:MAX_ROSTER]
    return [RosterEntry(producer_id=p.producer_id, kind=p.kind, name=p.name,
                        phone=p.phone, origin_code=p.origin_code,
                        origin_detail=p.origin_detail, card_code=p.card_code,
                        pin_hash=p.pin_hash, active=p.active)
            for p in sorted(producers, key=lambda p: p.producer_id)]


def mark_sent(session: Session, sent: dict[str, int],
              pages: dict[str, int] | None = None) -> None:
    """Record which roster version (and in how many pages) each kiosk was sent, never lowering
    the version."""
    table = table_of(Device)
    for device_id, version in sorted(sent.items()):
        values: dict[str, int] = {"roster_version": version}
        if pages is not None and device_id in pages:
            values["roster_pages"] = pages[device_id]
        session.execute(update(table).where(table.c.id == device_id,
                                            table.c.roster_version < version)
                        .values(**values))
