"""Per-kiosk ack watermarks: N such that every ledger record 1..N of the kiosk is stored.

``lock`` takes the kiosks' watermark rows FOR UPDATE (in id order, so two workers never
deadlock) at the start of a batch's writes. That serialises the writes of one kiosk across
workers: the second worker's duplicate check then sees the first's committed rows, and a
certificate's void and issue never miss each other. SQLite has one writer at a time anyway
(the ingest engine opens its transactions with BEGIN IMMEDIATE), and SQLAlchemy leaves FOR
UPDATE out there.

``advance`` moves each watermark to the end of the contiguous run of stored seqs that follows
it, in one query for the whole batch, and never backwards.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from cloud_bridge.store.models import AckWatermark, LedgerRecord, table_of
from cloud_bridge.store.types import utcnow
from cloud_bridge.store.upsert import upsert

from .inbound import Accepted


def lock(session: Session, device_ids: Collection[str]) -> dict[str, int]:
    """Lock (creating if missing) the watermark rows of ``device_ids``; return their values."""
    if not device_ids:
        return {}
    ids = sorted(device_ids)
    upsert(
        session,
        table_of(AckWatermark),
        [{"device_id": d, "acked_seq": 0, "updated_at": utcnow()} for d in ids],
        key=["device_id"],
    )
    rows = session.execute(
        select(AckWatermark.device_id, AckWatermark.acked_seq)
        .where(AckWatermark.device_id.in_(ids))
        .order_by(AckWatermark.device_id)
        .with_for_update()
    ).all()
    return {device_id: acked for device_id, acked in rows}


def advance(session: Session, current: dict[str, int]) -> dict[str, int]:
    """Advance the watermarks of the kiosks in ``current`` over newly stored records.

    Args:
        session: the batch's session, after its ledger rows are inserted (flushed).
        current: the locked watermark values from ``lock``.

    Returns:
        The new watermark of every kiosk in ``current``.
    """
    if not current:
        return {}
    ledger = LedgerRecord
    nxt = aliased(LedgerRecord)
    first = aliased(LedgerRecord)
    wm = AckWatermark
    # The end of the run starting at acked_seq + 1: the smallest stored seq above the watermark
    # whose successor is missing, provided acked_seq + 1 itself is stored.
    run_end = (
        select(ledger.device_id, func.min(ledger.seq))
        .join(wm, wm.device_id == ledger.device_id)
        .where(
            wm.device_id.in_(sorted(current)),
            ledger.seq > wm.acked_seq,
            exists().where(and_(first.device_id == wm.device_id,
                                first.seq == wm.acked_seq + 1)),
            ~exists().where(and_(nxt.device_id == ledger.device_id,
                                 nxt.seq == ledger.seq + 1)),
        )
        .group_by(ledger.device_id)
    )
    result = dict(current)
    changes = []
    for device_id, end in session.execute(run_end).all():
        if end > result[device_id]:
            result[device_id] = end
            changes.append({"b_device": device_id, "b_seq": end, "b_time": utcnow()})
    if changes:
        table = table_of(AckWatermark)
        session.connection().execute(
            update(table)
            .where(table.c.device_id == bindparam("b_device"),
                   table.c.acked_seq < bindparam("b_seq"))
            .values(acked_seq=bindparam("b_seq"), updated_at=bindparam("b_time")),
            changes,
        )
    return result


def touch(session: Session, recorded: Sequence[Accepted]) -> None:
    """Note, per kiosk, when the cloud last received a new record (for "last seen"), and
    count the records made before the kiosk's clock was synchronised (a fleet alert)."""
    newest: dict[str, datetime] = {}
    unsynced: dict[str, int] = {}
    for item in recorded:
        at = item.inbound.received_at
        device = item.device_id
        if device not in newest or at > newest[device]:
            newest[device] = at
        if not item.message.time_synced:  # type: ignore[attr-defined]
            unsynced[device] = unsynced.get(device, 0) + 1
    if not newest:
        return
    table = table_of(AckWatermark)
    session.connection().execute(
        update(table).where(table.c.device_id == bindparam("b_device"))
        .values(last_record_at=bindparam("b_at")),
        [{"b_device": d, "b_at": newest[d]} for d in sorted(newest)],
    )
    if unsynced:
        session.connection().execute(
            update(table).where(table.c.device_id == bindparam("b_device"))
            .values(unsynced_records=table.c.unsynced_records + bindparam("b_n"),
                    last_unsynced_at=bindparam("b_at")),
            [{"b_device": d, "b_n": n, "b_at": newest[d]} for d, n in sorted(unsynced.items())],
        )
