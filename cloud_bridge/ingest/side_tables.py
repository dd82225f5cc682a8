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

from cloud_bridge.store.models import (
    Base,
    CommandResultRecord,
    DeviceStatus,
    LatestTelemetry,
    table_of,
)
from cloud_bridge.store.upsert import upsert
from protocol import CommandResult, StatusMessage, Telemetry

from . import rows
from .inbound import Accepted


def _latest_per_device(items: Sequence[Accepted]) -> list[Accepted]:
    latest: dict[str, Accepted] = {}
    for item in items:
        latest[item.device_id] = item  # batches keep arrival order: the last one wins
    return [latest[d] for d in sorted(latest)]


def _replace_all_but_key(table: Table, excluded: Any) -> dict[str, Any]:
    return {c.name: excluded[c.name] for c in table.columns if c.name != "device_id"}


def store_side_messages(session: Session, items: Sequence[Accepted]) -> None:
    """Upsert the status, telemetry and command results among ``items`` (verified already)."""
    statuses = [i for i in items if isinstance(i.message, StatusMessage)]
    telemetry = [i for i in items if isinstance(i.message, Telemetry)]
    results = [i for i in items if isinstance(i.message, CommandResult)]
    upserts: tuple[tuple[type[Base], list[Accepted], Any], ...] = (
        (DeviceStatus, statuses, rows.status_row),
        (LatestTelemetry, telemetry, rows.telemetry_row),
    )
    for model, batch, make_row in upserts:
        upsert(
            session,
            table_of(model),
            [make_row(i) for i in _latest_per_device(batch)],
            key=["device_id"],
            set_=_replace_all_but_key,
            where=lambda t, excluded: t.c.msg_id != excluded.msg_id,
        )
    unique_results = {rows.command_result_row(i)["msg_id"]: i for i in results}
    upsert(
        session,
        table_of(CommandResultRecord),
        [rows.command_result_row(unique_results[m]) for m in sorted(unique_results)],
        key=["msg_id"],
    )
