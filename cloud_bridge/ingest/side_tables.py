"""Writing the non-ledger messages: status, telemetry and command results.

These are not records the cloud acknowledges: the latest status and telemetry per kiosk are
kept (last received wins), and a repeat of the message already stored (same msg_id, e.g. a
retained status replayed when a worker subscribes again) changes nothing, so ``received_at``
stays the time the cloud first heard of the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from cloud_bridge.store.models import table_of
from cloud_bridge.store.upsert import upsert

from .handlers import SIDE_HANDLERS, SideHandler
from .inbound import Accepted


def _latest_per_device(items: Sequence[Accepted]) -> list[Accepted]:
    latest: dict[str, Accepted] = {}
    for item in items:
        latest[item.device_id] = item  # batches keep arrival order: the last one wins
    return [latest[d] for d in sorted(latest)]


def _replace_all_but_key(table: Table, excluded: Any) -> dict[str, Any]:
    return {c.name: excluded[c.name] for c in table.columns if c.name != "device_id"}


def store_side_messages(session: Session, items: Sequence[Accepted]) -> None:
    """Upsert the status, telemetry and command results among ``items`` (verified already),
    each type as its handler says (``ingest.handlers.SIDE_HANDLERS``)."""
    by_type: dict[type[Any], list[Accepted]] = {model: [] for model in SIDE_HANDLERS}
    for item in items:
        by_type[type(item.message)].append(item)
    for model, batch in by_type.items():
        _store(session, SIDE_HANDLERS[model], batch)


def _store(session: Session, handler: SideHandler, items: Sequence[Accepted]) -> None:
    table = table_of(handler.table)
    if handler.key == "device_id":
        upsert(
            session,
            table,
            [handler.row(i) for i in _latest_per_device(items)],
            key=["device_id"],
            set_=_replace_all_but_key,
            where=lambda t, excluded: t.c.msg_id != excluded.msg_id,
        )
        return
    unique = {handler.row(i)[handler.key]: i for i in items}
    upsert(session, table, [handler.row(unique[k]) for k in sorted(unique)], key=[handler.key])
