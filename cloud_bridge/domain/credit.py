"""Producer credit: events recorded automatically, and a level derived from them.

The rule (also in docs/cloud.md, "Credit"):

| event | recorded when | points |
|---|---|---|
| ``positive_result`` | a kiosk reports a lot ``blocked_positive`` for the producer | 10 |
| ``revoked_certificate`` | a supervisor revokes one of the producer's certificates | 5 |
| ``market_rejection`` | a market check rejects one of the producer's certificates | 3 |
| ``voided_certificate`` | the producer's kiosk voids one of their certificates | 1 |

Points count for 365 days from the event (the cloud's receive time, never a kiosk clock that
may read 1970). The level is taken from the points in that window:

| points | level | meaning |
|---|---|---|
| 0 | A (守信) | no adverse event in a year |
| 1-4 | B (基本守信) | minor slips (voids, a rejection) |
| 5-9 | C (关注) | watch: a revocation or repeated rejections |
| ≥ 10 | D (失信) | a positive result within the year |

A producer with no certificate and no event yet is ``new`` (未评级). Each event is recorded
once (unique on kind + subject), so redelivered messages and repeated checks never count twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import table_of
from cloud_bridge.store.registry_models import CreditEvent
from cloud_bridge.store.types import utcnow
from cloud_bridge.store.upsert import upsert

POINTS = {
    "positive_result": 10,
    "revoked_certificate": 5,
    "market_rejection": 3,
    "voided_certificate": 1,
}
WINDOW = timedelta(days=365)
LEVELS = (  # (lowest points, level), highest first
    (10, "D"),
    (5, "C"),
    (1, "B"),
    (0, "A"),
)
LEVEL_NAMES = {
    "A": ("守信", "trustworthy"),
    "B": ("基本守信", "minor issues"),
    "C": ("关注", "under watch"),
    "D": ("失信", "untrustworthy"),
    "new": ("未评级", "not yet rated"),
}


@dataclass(frozen=True, slots=True)
class CreditLevel:
    level: str
    points: int
    events_in_window: int


def record(session: Session, items: Iterable[tuple[str, str, str, datetime, str]]) -> None:
    """Record credit events ``(producer_id, kind, subject, at, detail)``; repeats are ignored."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for producer_id, kind, subject, at, detail in items:
        rows[(kind, subject)] = {"producer_id": producer_id, "kind": kind, "subject": subject,
                                 "points": POINTS[kind], "at": at, "detail": detail[:500]}
    upsert(session, table_of(CreditEvent), [rows[k] for k in sorted(rows)],
           key=["kind", "subject"])


def level_from(events: Sequence[tuple[int, datetime]], *, has_certificates: bool,
               now: datetime | None = None) -> CreditLevel:
    """The credit level from ``(points, at)`` pairs, by the rule in the module docstring."""
    now = now or utcnow()
    recent = [p for p, at in events if now - at <= WINDOW]
    points = sum(recent)
    if not events and not has_certificates:
        return CreditLevel("new", 0, 0)
    level = next(name for lowest, name in LEVELS if points >= lowest)
    return CreditLevel(level, points, len(recent))


def events_of(session: Session, producer_id: str) -> list[CreditEvent]:
    return list(session.scalars(
        select(CreditEvent).where(CreditEvent.producer_id == producer_id)
        .order_by(CreditEvent.at.desc(), CreditEvent.id.desc())
    ))
