"""Writing ledger records idempotently: one row per (device, seq), unique msg_id.

For a batch, one query finds which of its records are already stored; new ones are inserted in
bulk with their certificate and reading rows. A record already stored under the same msg_id is
a duplicate (a redelivery: nothing changes); a seq already stored under another msg_id is a
conflict (a kiosk that restarted its numbering) and is dead-lettered, as is a msg_id reused for
another seq.

The bulk path assumes nobody else inserts the same keys meanwhile (the kiosks' watermark rows
are locked, see ``watermarks.lock``). If the database still reports a unique violation, the
caller rolls the batch back and runs it again with ``careful=True``: each record in its own
SAVEPOINT, and a record that fails is looked at again on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, insert, or_, select, text, tuple_, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from cloud_bridge.domain import producers
from cloud_bridge.errors import IngestError
from cloud_bridge.store.bulk import insert_rows
from cloud_bridge.store.errors import first_line
from cloud_bridge.store.ingest_models import LedgerSkip
from cloud_bridge.store.models import (
    CertificateRecord,
    CertificateStatus,
    LedgerRecord,
    table_of,
)
from protocol import CertificateEvent, CertificateVoided, ProducerEvent

from . import rows
from .handlers import ledger_handler, own_rows, producer_named, void_of
from .inbound import Accepted, Outcome, Rejection

_EXISTING_PG = text("""
    SELECT l.device_id, l.seq, l.msg_id
      FROM ledger l
      JOIN unnest(CAST(:devices AS text[]), CAST(:seqs AS bigint[])) AS k(device_id, seq)
        ON l.device_id = k.device_id AND l.seq = k.seq
    UNION
    SELECT device_id, seq, msg_id FROM ledger WHERE msg_id = ANY(CAST(:msgs AS text[]))
""")


class BulkInsertRefused(IngestError):
    """The bulk insert hit a constraint: roll back and redo the batch carefully."""

    code = "bulk_insert_refused"


@dataclass(slots=True)
class LedgerVerdict:
    item: Accepted
    outcome: Outcome
    rejection: Rejection | None = None


def _key(item: Accepted) -> tuple[str, int]:
    return item.device_id, item.message.seq  # type: ignore[attr-defined]


def _msg_id(item: Accepted) -> str:
    return item.message.msg_id  # type: ignore[attr-defined]


def _conflict(device_id: str, seq: int, stored_msg: str, msg_id: str) -> Rejection:
    return Rejection(
        "seq_conflict",
        f"device {device_id!r} seq {seq} is already recorded with msg_id {stored_msg}, not "
        f"{msg_id}: a kiosk that restarted its numbering must be re-enrolled with a new id",
    )


def _msg_reused(msg_id: str, stored: tuple[str, int], seq: int) -> Rejection:
    return Rejection(
        "msg_id_reused",
        f"msg_id {msg_id} is already recorded as device {stored[0]!r} seq {stored[1]}, "
        f"not seq {seq}",
    )


def store_ledger(
    session: Session, items: Sequence[Accepted], *, careful: bool,
    watermarks: dict[str, int] | None = None,
    voided_tokens: list[str] | None = None,
) -> list[LedgerVerdict]:
    """Store a batch's verified ledger records (inside the caller's transaction).

    Args:
        watermarks: the kiosks' locked ack watermarks. A record at or below its kiosk's
            watermark that is not in the table was stored once and pruned by the retention
            job: it is a duplicate, never recorded again; unless its seq was skipped by a
            discard (``ledger_skips``): then it is stored now.

    Raises:
        BulkInsertRefused: only when ``careful`` is False and the database refused the bulk
            insert; the transaction must then be rolled back.
    """
    if voided_tokens is None:
        voided_tokens = []
    marks = watermarks or {}
    verdicts: dict[int, LedgerVerdict] = {}
    candidates: dict[tuple[str, int], Accepted] = {}
    repeats: list[Accepted] = []
    for item in items:
        if _key(item) in candidates:
            repeats.append(item)
        else:
            candidates[_key(item)] = item

    by_key, by_msg = _existing(session, list(candidates.values()))
    # A seq a person skipped (a discarded dead letter) is below the watermark but was never
    # stored: a record that comes for it is stored, not taken for a pruned duplicate.
    skipped = _skipped(session, [k for k in candidates
                                 if k not in by_key and k[1] <= marks.get(k[0], 0)])
    new: list[Accepted] = []
    seen_msgs: dict[str, tuple[str, int]] = {}
    for key, item in candidates.items():
        msg_id = _msg_id(item)
        if key in by_key:
            stored = by_key[key]
            verdicts[id(item)] = (LedgerVerdict(item, Outcome.DUPLICATE) if stored == msg_id
                                  else LedgerVerdict(item, Outcome.DEAD_LETTER,
                                                     _conflict(*key, stored, msg_id)))
        elif key[1] <= marks.get(key[0], 0) and msg_id not in by_msg and key not in skipped:
            # Stored once (the watermark passed it) and since pruned: a duplicate.
            verdicts[id(item)] = LedgerVerdict(item, Outcome.DUPLICATE)
        elif msg_id in by_msg or msg_id in seen_msgs:
            where = by_msg.get(msg_id) or seen_msgs[msg_id]
            verdicts[id(item)] = LedgerVerdict(item, Outcome.DEAD_LETTER,
                                               _msg_reused(msg_id, where, key[1]))
        else:
            seen_msgs[msg_id] = key
            new.append(item)

    new = _reject_foreign_voids(session, new, verdicts)
    new = _reject_foreign_producer_events(session, new, verdicts)
    if careful:
        for item in new:
            verdicts[id(item)] = _insert_one(session, item)
    else:
        _insert_bulk(session, new)
        for item in new:
            verdicts[id(item)] = LedgerVerdict(item, Outcome.RECORDED)

    recorded = [i for i in new if verdicts[id(i)].outcome is Outcome.RECORDED]
    voided_tokens.extend(_apply_voids(session, recorded))

    for item in repeats:
        first = verdicts[id(candidates[_key(item)])]
        if _msg_id(item) == _msg_id(first.item):
            # The same record twice in one batch shares the first copy's fate.
            outcome = (Outcome.DEAD_LETTER if first.outcome is Outcome.DEAD_LETTER
                       else Outcome.DUPLICATE)
            verdicts[id(item)] = LedgerVerdict(item, outcome, first.rejection)
        else:
            stored = by_key.get(_key(item), _msg_id(first.item))
            verdicts[id(item)] = LedgerVerdict(item, Outcome.DEAD_LETTER,
                                               _conflict(*_key(item), stored, _msg_id(item)))
    return [verdicts[id(item)] for item in items]


def _existing(
    session: Session, items: Sequence[Accepted]
) -> tuple[dict[tuple[str, int], str], dict[str, tuple[str, int]]]:
    """One query: which of these (device, seq) and msg_ids are already stored."""
    if not items:
        return {}, {}
    ledger = LedgerRecord
    if session.get_bind().dialect.name == "postgresql":
        # Three array parameters instead of hundreds of bound pairs: far cheaper to build.
        found = session.execute(_EXISTING_PG, {
            "devices": [i.device_id for i in items],
            "seqs": [_key(i)[1] for i in items],
            "msgs": [_msg_id(i) for i in items],
        }).all()
    else:
        found = session.execute(
            select(ledger.device_id, ledger.seq, ledger.msg_id).where(
                or_(
                    tuple_(ledger.device_id, ledger.seq).in_([_key(i) for i in items]),
                    ledger.msg_id.in_([_msg_id(i) for i in items]),
                )
            )
        ).all()
    by_key = {(d, s): m for d, s, m in found}
    by_msg = {m: (d, s) for d, s, m in found}
    return by_key, by_msg


def _skipped(session: Session, keys: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of these (device, seq) were skipped by a discard (rare: one query only then)."""
    if not keys:
        return set()
    found = session.execute(
        select(LedgerSkip.device_id, LedgerSkip.seq)
        .where(tuple_(LedgerSkip.device_id, LedgerSkip.seq).in_(sorted(keys)))).all()
    return {(d, q) for d, q in found}


def _reject_foreign_voids(
    session: Session, new: list[Accepted], verdicts: dict[int, LedgerVerdict]
) -> list[Accepted]:
    """A kiosk may only void certificates it issued itself."""
    voids = {void.token: i for i in new if (void := void_of(i)) is not None}
    if not voids:
        return new
    owners = dict(session.execute(
        select(CertificateRecord.token, CertificateRecord.device_id)
        .where(CertificateRecord.token.in_(sorted(voids)))
    ).all())
    kept = []
    for item in new:
        void = void_of(item)
        owner = owners.get(void.token) if void is not None else None
        if void is not None and owner is not None and owner != item.device_id:
            verdicts[id(item)] = LedgerVerdict(item, Outcome.DEAD_LETTER, Rejection(
                "foreign_certificate",
                f"device {item.device_id!r} tried to void certificate {void.serial}, which "
                f"device {owner!r} issued",
            ))
        else:
            kept.append(item)
    return kept


def _reject_foreign_producer_events(
    session: Session, new: list[Accepted], verdicts: dict[int, LedgerVerdict]
) -> list[Accepted]:
    """A kiosk may register producers only as itself, change only its station's, and name
    only its station's in a lot or certificate (``registry.producers``)."""
    events = [i.message for i in new if isinstance(i.message, ProducerEvent)]
    mentions = [(_msg_id(i), i.device_id, pid) for i in new
                if (pid := producer_named(i)) is not None]
    refused = producers.refusals(session, events) | producers.mention_refusals(session,
                                                                                mentions)
    if not refused:
        return new
    kept = []
    for item in new:
        refusal = refused.get(_msg_id(item))
        if refusal is None:
            kept.append(item)
        else:
            verdicts[id(item)] = LedgerVerdict(item, Outcome.DEAD_LETTER,
                                               Rejection(refusal.code, refusal.reason))
    return kept


def _insert_bulk(session: Session, new: list[Accepted]) -> None:
    if not new:
        return
    ordered = sorted(new, key=_key)
    try:
        insert_rows(session, table_of(LedgerRecord),
                    [ledger_handler(i).ledger_row(i) for i in ordered])
        for table, made in own_rows(ordered).items():
            insert_rows(session, table_of(table), made)
    except (IntegrityError, DataError) as exc:
        raise BulkInsertRefused(str(exc.orig)) from exc


def _insert_one(session: Session, item: Accepted) -> LedgerVerdict:
    """Insert one record in a SAVEPOINT; on refusal, find out why."""
    tables = own_rows([item])
    try:
        with session.begin_nested():
            session.execute(insert(table_of(LedgerRecord)), [ledger_handler(item).ledger_row(item)])
            for table, made in tables.items():
                if made:
                    session.execute(insert(table_of(table)), made)
    except (IntegrityError, DataError) as exc:
        by_key, by_msg = _existing(session, [item])
        key, msg_id = _key(item), _msg_id(item)
        if key in by_key:
            if by_key[key] == msg_id:
                return LedgerVerdict(item, Outcome.DUPLICATE)
            return LedgerVerdict(item, Outcome.DEAD_LETTER, _conflict(*key, by_key[key], msg_id))
        if msg_id in by_msg:
            return LedgerVerdict(item, Outcome.DEAD_LETTER, _msg_reused(msg_id, by_msg[msg_id],
                                                                        key[1]))
        return LedgerVerdict(item, Outcome.DEAD_LETTER, Rejection(
            "store_rejected", f"the database refused the record: {first_line(exc)}"))
    return LedgerVerdict(item, Outcome.RECORDED)


def _apply_voids(session: Session, recorded: list[Accepted]) -> list[str]:
    """Mark certificates voided: by voids recorded now, and by earlier voids of certificates
    recorded now (a void may arrive before its certificate: shared subscriptions do not keep
    order)."""
    params: list[dict[str, Any]] = []
    batch_keys = {_key(i) for i in recorded}
    for item in recorded:
        void = void_of(item)
        if void is not None:
            params.append(rows.void_params(item.device_id, _key(item)[1], void))
    issued = [r["token"] for r in map(rows.certificate_row, recorded) if r is not None]
    if issued:
        earlier = session.execute(
            select(LedgerRecord.device_id, LedgerRecord.seq, LedgerRecord.payload)
            .where(LedgerRecord.action == "voided", LedgerRecord.subject.in_(issued))
            .order_by(LedgerRecord.seq)
        ).all()
        for device_id, seq, payload in earlier:
            if (device_id, seq) in batch_keys:
                continue
            body = CertificateEvent.model_validate_json(payload).body
            assert isinstance(body, CertificateVoided)  # the query asked for voids
            params.append(rows.void_params(device_id, seq, body))
    if not params:
        return []
    params.sort(key=lambda p: p["b_seq"])  # the first void of a certificate is the one kept
    table = table_of(CertificateRecord)
    session.connection().execute(
        update(table)
        .where(table.c.token == bindparam("b_token"), table.c.device_id == bindparam("b_device"),
               table.c.void_seq.is_(None))
        # A certificate a supervisor revoked stays revoked; the void is still recorded.
        .values(status=case((table.c.status == CertificateStatus.ISSUED,
                             CertificateStatus.VOIDED), else_=table.c.status),
                void_reason=bindparam("b_reason"),
                voided_at=bindparam("b_voided_at"), void_seq=bindparam("b_seq")),
        params,
    )
    return sorted({p["b_token"] for p in params})
