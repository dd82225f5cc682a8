"""Per-kiosk ack watermarks: N such that every ledger record 1..N of the kiosk is stored.

``lock`` takes the kiosks' watermark rows FOR UPDATE (in id order, so two workers never
deadlock) at the start of a batch's writes. That serialises the writes of one kiosk across
workers: the second worker's duplicate check then sees the first's committed rows, and a
certificate's void and issue never miss each other. SQLite has one writer at a time anyway
(the ingest engine opens its transactions with BEGIN IMMEDIATE), and SQLAlchemy leaves FOR
UPDATE out there.

``advance`` moves each watermark to the end of the contiguous run of stored seqs that follows
it, in one query for the whole batch, and never backwards. A seq an operator settled without a
record (a dead letter discarded with a reason: ``ledger_skips``) counts as stored, so the
watermark passes the gap; ``lock`` says, in the same query, which kiosks have such a skip
ahead of their watermark, so the common case costs nothing more.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from cloud_bridge.store.ingest_models import LedgerSkip
from cloud_bridge.store.models import (
    AckWatermark,
    DeadLetter,
    DeadLetterState,
    LedgerRecord,
    table_of,
)
from cloud_bridge.store.types import utcnow
from cloud_bridge.store.upsert import upsert

from .inbound import Accepted


class Locked(dict[str, int]):
    """The locked watermark of each kiosk, and the kiosks that need the rarer paths."""

    def __init__(self, values: dict[str, int] | None = None, *,
                 skips_ahead: Collection[str] = (), open_dead_letters: Collection[str] = ()
                 ) -> None:
        super().__init__(values or {})
        self.skips_ahead = set(skips_ahead)
        """Kiosks with a skipped seq above their watermark."""
        self.open_dead_letters = set(open_dead_letters)
        """Kiosks with an open dead letter (a re-send recorded now may settle it)."""


def lock(session: Session, device_ids: Collection[str]) -> Locked:
    """Lock (creating if missing) the watermark rows of ``device_ids``; return their values."""
    if not device_ids:
        return Locked()
    ids = sorted(device_ids)
    upsert(
        session,
        table_of(AckWatermark),
        [{"device_id": d, "acked_seq": 0, "updated_at": utcnow()} for d in ids],
        key=["device_id"],
    )
    wm = AckWatermark
    skip_ahead = exists().where(LedgerSkip.device_id == wm.device_id,
                                LedgerSkip.seq > wm.acked_seq)
    open_dead = exists().where(DeadLetter.device_id == wm.device_id,
                               DeadLetter.state == DeadLetterState.OPEN)
    rows = session.execute(
        select(wm.device_id, wm.acked_seq, skip_ahead, open_dead)
        .where(wm.device_id.in_(ids))
        .order_by(wm.device_id)
        .with_for_update(of=wm)
    ).all()
    return Locked({device_id: acked for device_id, acked, _, _ in rows},
                  skips_ahead=[d for d, _, skip, _ in rows if skip],
                  open_dead_letters=[d for d, _, _, dead in rows if dead])


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
    result = dict(current)
    for device_id, end in session.execute(_run_ends(sorted(current))).all():
        result[device_id] = max(result[device_id], end)
    skips = current.skips_ahead if isinstance(current, Locked) else set()
    for device_id in sorted(skips & result.keys()):
        result[device_id] = _over_skips(session, device_id, result[device_id])
    changes = [{"b_device": d, "b_seq": result[d], "b_time": utcnow()}
               for d in sorted(result) if result[d] > current[d]]
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


def _run_ends(device_ids: list[str]) -> Any:
    """Per kiosk, the end of the run of stored seqs starting at acked_seq + 1: the smallest
    stored seq above the watermark whose successor is missing, provided acked_seq + 1 itself is
    stored."""
    ledger = LedgerRecord
    nxt = aliased(LedgerRecord)
    first = aliased(LedgerRecord)
    wm = AckWatermark
    return (
        select(ledger.device_id, func.min(ledger.seq))
        .join(wm, wm.device_id == ledger.device_id)
        .where(
            wm.device_id.in_(device_ids),
            ledger.seq > wm.acked_seq,
            exists().where(and_(first.device_id == wm.device_id,
                                first.seq == wm.acked_seq + 1)),
            ~exists().where(and_(nxt.device_id == ledger.device_id,
                                 nxt.seq == ledger.seq + 1)),
        )
        .group_by(ledger.device_id)
    )


def _over_skips(session: Session, device_id: str, mark: int) -> int:
    """Walk one kiosk's watermark from ``mark`` over stored records and skipped seqs alike."""
    skipped = set(session.scalars(select(LedgerSkip.seq).where(LedgerSkip.device_id == device_id,
                                                               LedgerSkip.seq > mark)))
    ledger, nxt = LedgerRecord, aliased(LedgerRecord)
    while True:
        if mark + 1 in skipped:
            mark += 1
            continue
        # The end of the stored run from mark + 1, if mark + 1 is stored.
        end = session.scalar(
            select(func.min(ledger.seq)).where(
                ledger.device_id == device_id, ledger.seq > mark,
                ~exists().where(and_(nxt.device_id == device_id, nxt.seq == ledger.seq + 1)))
        )
        stored = session.scalar(select(func.count()).select_from(ledger).where(
            ledger.device_id == device_id, ledger.seq == mark + 1))
        if not stored or end is None:
            return mark
        mark = end


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
