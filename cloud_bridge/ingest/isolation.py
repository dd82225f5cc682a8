"""Finding the message the store refuses, so that one message never stops the stream.

When a batch's transaction fails with an error that is not an outage (``is_outage``), some
message in it holds something the store cannot take: a value too long for its column, an index
row too big, a number out of range, a constraint the checks did not foresee, or a bug that
only this message reaches. ``commit_isolated`` splits the batch in halves and commits each half
on its own, again and again, until every half either commits or is one message; that message
becomes a dead letter with the store's own words (code ``store_rejected``), and everything
else is stored. A batch with one bad message costs about 2·log2(n) small transactions.

If the dead letter itself is refused, a minimal one (hashes and size only) is written instead
and the message is counted as *unstorable*; if even that is refused the store is not taking
anything, which is an outage (``StoreUnwritable``): nothing is acknowledged and the worker
retries. A message settled here is acknowledged like any dead letter: it is kept.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cloud_bridge.store.errors import StoreUnwritable, first_line, is_outage, sqlstate_of

from .dead_letters import store_dead_letters, store_minimal
from .inbound import Accepted, BatchResult, Outcome, Rejection, Verdict

if TYPE_CHECKING:
    from .writer import BatchWriter, Prepared

log = logging.getLogger(__name__)


def commit_isolated(writer: BatchWriter, prepared: Prepared, first: BaseException) -> BatchResult:
    """Commit ``prepared`` in parts, dead-lettering each message the store refuses on its own.

    Args:
        writer: the batch writer (its ``commit_whole`` commits one part).
        prepared: the batch whose single transaction failed.
        first: why it failed (logged).

    Raises:
        SQLAlchemyError | StoreUnwritable: an outage met on the way (retry the batch).
    """
    log.warning("the store refused a batch of %d message(s) (%s); finding the message(s) at "
                "fault", len(prepared.batch), _describe(first))
    parts: list[BatchResult] = []
    indexes = list(range(len(prepared.batch)))
    if len(indexes) == 1:
        parts.append(_refused(writer, prepared, first))
    else:
        middle = len(indexes) // 2
        _settle(writer, prepared, indexes[:middle], parts)
        _settle(writer, prepared, indexes[middle:], parts)
    return _merge(prepared, parts)


def _settle(writer: BatchWriter, prepared: Prepared, indexes: list[int],
            parts: list[BatchResult]) -> None:
    part = _subset(prepared, indexes)
    try:
        parts.append(writer.commit_whole(part))
        return
    except Exception as exc:
        if is_outage(exc):
            raise
        if len(indexes) == 1:
            parts.append(_refused(writer, part, exc))
            return
        why = exc
    log.debug("a part of %d message(s) was refused (%s); splitting it", len(indexes),
              _describe(why))
    middle = len(indexes) // 2
    _settle(writer, prepared, indexes[:middle], parts)
    _settle(writer, prepared, indexes[middle:], parts)


def _subset(prepared: Prepared, indexes: list[int]) -> Prepared:
    batch = [prepared.batch[i] for i in indexes]
    decoded = [prepared.decoded[i] for i in indexes]
    keep = {id(d) for d in decoded}
    return replace(prepared, batch=batch, decoded=decoded,
                   verified={k: v for k, v in prepared.verified.items() if k in keep})


def _refused(writer: BatchWriter, single: Prepared, exc: BaseException) -> BatchResult:
    """One message the store refused: its dead letter, or a minimal one, or an outage."""
    (inbound,) = single.batch
    (item,) = single.decoded
    rejection = Rejection("store_rejected",
                          f"the database refused this message: {_describe(exc)}")
    log.error("dead letter on %s: the store refused it: %s", inbound.topic[:200],
              _describe(exc), exc_info=not _is_database_error(exc))
    device_id = item.device_id if isinstance(item, Accepted) else None
    seq = getattr(item.message, "seq", None) if isinstance(item, Accepted) else None
    verdict = Verdict(inbound, Outcome.DEAD_LETTER, rejection, device_id, seq)
    try:
        with Session(writer.engine) as session, session.begin():
            store_dead_letters(session, [(inbound, rejection)], payload_cap=writer.payload_cap)
        return BatchResult(verdicts=[verdict])
    except Exception as again:
        if is_outage(again):
            raise
        second = again
    log.error("the store refused the dead letter of a message on %s too (%s); keeping only its "
              "hashes and size", inbound.topic[:200], _describe(second))
    try:
        with Session(writer.engine) as session, session.begin():
            store_minimal(session, inbound, f"the store refused this message "
                          f"({_describe(exc)}) and its dead letter ({_describe(second)})")
    except Exception as last:
        if is_outage(last):
            raise
        raise StoreUnwritable(f"the store refuses even a minimal dead letter: "
                              f"{_describe(last)}") from last
    return BatchResult(verdicts=[verdict], unstorable=1)


def _merge(prepared: Prepared, parts: list[BatchResult]) -> BatchResult:
    merged = BatchResult()
    by_inbound: dict[int, Verdict] = {}
    for part in parts:
        for verdict in part.verdicts:
            by_inbound[id(verdict.inbound)] = verdict
        for device_id, acked in part.watermarks.items():
            merged.watermarks[device_id] = max(acked, merged.watermarks.get(device_id, 0))
        merged.roster_stations |= part.roster_stations
        merged.births = sorted(set(merged.births) | set(part.births))
        merged.unstorable += part.unstorable
    merged.verdicts = [by_inbound[id(m)] for m in prepared.batch]
    return merged


def _is_database_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError)


def _describe(exc: BaseException) -> str:
    code = sqlstate_of(exc)
    words = first_line(exc)
    if not _is_database_error(exc):
        words = f"{type(exc).__name__}: {words}"
    return f"{words} [{code}]" if code else words
