"""Writing rejected messages to the dead-letter table.

A dead letter keeps the topic, the payload (up to a cap, with its full size and SHA-256), the
code and reason, and when it was first and last seen. The same payload on the same topic again
(a kiosk re-sending a record the cloud refuses, a retained message replayed) counts up the row
instead of adding one, so a stuck kiosk cannot flood the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cloud_bridge.store.models import DeadLetter, table_of
from cloud_bridge.store.upsert import upsert

from .classify import topic_device
from .inbound import Inbound, Rejection

_REASON_LIMIT = 2000


def store_dead_letters(
    session: Session, items: Sequence[tuple[Inbound, Rejection]], *, payload_cap: int
) -> None:
    """Upsert one row per distinct (topic, payload) among ``items`` (within the transaction)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for inbound, rejection in items:
        digest = inbound.sha256
        key = (inbound.topic, digest)
        row = rows.get(key)
        if row is not None:
            row["count"] += 1
            row["last_seen"] = max(row["last_seen"], inbound.received_at)
            continue
        payload = inbound.payload
        rows[key] = {
            "topic": inbound.topic,
            "device_id": topic_device(inbound.topic),
            "code": rejection.code[:32],
            "reason": rejection.reason[:_REASON_LIMIT],
            "payload": payload[:payload_cap],
            "payload_size": len(payload),
            "payload_truncated": len(payload) > payload_cap,
            "payload_sha256": digest,
            "first_seen": inbound.received_at,
            "last_seen": inbound.received_at,
            "count": 1,
        }
    upsert(
        session,
        table_of(DeadLetter),
        # Sorted, so two workers upserting the same rows lock them in the same order.
        [rows[k] for k in sorted(rows)],
        key=["topic", "payload_sha256"],
        set_=lambda t, excluded: {
            "count": t.c.count + excluded.count,
            "last_seen": excluded.last_seen,
            "code": excluded.code,
            "reason": excluded.reason,
        },
    )
