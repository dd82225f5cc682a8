"""Writing rejected messages to the dead-letter table, in a way the store cannot refuse.

A dead letter keeps the topic, the payload (up to a cap, with its full size and SHA-256), the
code and reason, what the message claimed to be (device, seq, msg_id, when they can be read),
and when it was first and last seen. The same payload on the same topic again (a kiosk
re-sending a record the cloud refuses, a retained message replayed) counts up the row instead
of adding one, so a stuck kiosk cannot flood the table.

The row is made so that no message can make its insert fail: only hashes, our own codes, a
*valid* device id and numbers reach an index; every text is cleaned of what PostgreSQL's text
type cannot hold (NUL characters, lone surrogates) and capped. ``store_minimal`` is the last
resort when even that is refused: a row made of nothing but the message's hashes and sizes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, update
from sqlalchemy.orm import Session

from cloud_bridge.store.models import DeadLetter, DeadLetterState, table_of
from cloud_bridge.store.types import utcnow
from cloud_bridge.store.upsert import upsert
from protocol.topics import DEVICE_ID_PATTERN

from .inbound import Inbound, Rejection

REASON_LIMIT = 2000
TOPIC_LIMIT = 65_535  # MQTT's own limit on a topic name, in bytes
_DEVICE_ID_RE = re.compile(DEVICE_ID_PATTERN)
_MSG_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_BIGINT_MAX = 2**63 - 1
_CLAIMS_LIMIT = 256 * 1024  # read claims only from a payload a kiosk may send


def clean_text(value: str, limit: int) -> str:
    """``value`` as text any store keeps: NUL characters and lone surrogates replaced, capped."""
    value = value[:limit].replace("\x00", "\ufffd")
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def topic_sha256(topic: str) -> str:
    return hashlib.sha256(topic.encode("utf-8", "backslashreplace")).hexdigest()


def topic_device(topic: str) -> str | None:
    """The device level of a topic, when it is a valid device id (for filing dead letters)."""
    parts = topic.split("/", 3)
    if len(parts) > 2 and _DEVICE_ID_RE.match(parts[2]):
        return parts[2]
    return None


def claims(payload: bytes) -> tuple[int | None, str | None]:
    """The ``seq`` and ``msg_id`` a payload claims, if it is a JSON object holding valid ones
    (nothing is trusted: it is what the dead letter says it was)."""
    if len(payload) > _CLAIMS_LIMIT:
        return None, None
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(obj, dict):
        return None, None
    seq, msg_id = obj.get("seq"), obj.get("msg_id")
    ok_seq = type(seq) is int and 0 < seq <= _BIGINT_MAX
    ok_msg = isinstance(msg_id, str) and _MSG_ID_RE.match(msg_id) is not None
    return (seq if ok_seq else None), (msg_id if ok_msg else None)


def store_dead_letters(
    session: Session, items: Sequence[tuple[Inbound, Rejection]], *, payload_cap: int
) -> None:
    """Upsert one row per distinct (topic, payload) among ``items`` (within the transaction)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for inbound, rejection in items:
        digest = inbound.sha256
        key = (topic_sha256(inbound.topic), digest)
        row = rows.get(key)
        if row is not None:
            row["count"] += 1
            row["last_seen"] = max(row["last_seen"], inbound.received_at)
            continue
        payload = inbound.payload
        seq, msg_id = claims(payload)
        rows[key] = {
            "topic": clean_text(inbound.topic, TOPIC_LIMIT),
            "topic_sha256": key[0],
            "device_id": topic_device(inbound.topic),
            "seq": seq,
            "msg_id": msg_id,
            "code": clean_text(rejection.code, 32),
            "reason": clean_text(rejection.reason, REASON_LIMIT),
            "payload": payload[:payload_cap],
            "payload_size": len(payload),
            "payload_truncated": len(payload) > payload_cap,
            "payload_sha256": digest,
            "first_seen": inbound.received_at,
            "last_seen": inbound.received_at,
            "count": 1,
            "state": DeadLetterState.OPEN,
        }
    _upsert(session, [rows[k] for k in sorted(rows)])


def store_minimal(session: Session, inbound: Inbound, why: str) -> None:
    """The last resort: a dead letter of the message's hashes and size only (no payload, the
    topic shown as ASCII escapes), for a message whose full dead letter the store refused."""
    topic = ascii(inbound.topic[:400])
    _upsert(session, [{
        "topic": topic,
        "topic_sha256": topic_sha256(inbound.topic),
        "device_id": topic_device(inbound.topic),
        "seq": None,
        "msg_id": None,
        "code": "unstorable",
        "reason": ascii(why)[:REASON_LIMIT],
        "payload": b"",
        "payload_size": len(inbound.payload),
        "payload_truncated": bool(inbound.payload),
        "payload_sha256": inbound.sha256,
        "first_seen": inbound.received_at,
        "last_seen": inbound.received_at,
        "count": 1,
        "state": DeadLetterState.OPEN,
    }])


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    upsert(
        session,
        table_of(DeadLetter),
        # Sorted by key, so two workers upserting the same rows lock them in the same order.
        rows,
        key=["topic_sha256", "payload_sha256"],
        set_=lambda t, excluded: {
            "count": t.c.count + excluded.count,
            "last_seen": excluded.last_seen,
            # A settled dead letter keeps the words it was settled with.
            "code": case((t.c.state == DeadLetterState.OPEN, excluded.code), else_=t.c.code),
            "reason": case((t.c.state == DeadLetterState.OPEN, excluded.reason),
                           else_=t.c.reason),
        },
    )


def settle_recorded(session: Session, payload_hashes: Collection[str], when: datetime | None = None
                    ) -> int:
    """Open dead letters whose exact bytes were just recorded (a kiosk's re-send, accepted once
    the cause was fixed) are settled: nothing is left for a person to do. Returns how many."""
    if not payload_hashes:
        return 0
    table = table_of(DeadLetter)
    result = session.execute(
        update(table)
        .where(table.c.state == DeadLetterState.OPEN,
               table.c.payload_sha256.in_(bindparam("hashes", expanding=True)))
        .values(state=DeadLetterState.RECORDED, resolved_at=when or utcnow(),
                resolved_by="ingest",
                resolution="the same bytes were recorded on a later delivery"),
        {"hashes": sorted(payload_hashes)},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
