"""Escalation: tell the first recipients at once, the next ones if nobody acknowledged by then.

``open_escalation`` stores one row per alert (kind + subject, unique: opening it twice is a
no-op) with its steps, each ``(after, recipients, template)``, ``after`` counted from the
alert. ``fire_due`` (run by the notify worker) enqueues every step whose time has come and
is not yet fired, and moves ``next_at`` on; ``acknowledge`` records who and when and stops
every step not yet fired. All of it is in the database, so a restart loses nothing, and all
of it takes ``now`` from the caller (tests move a clock; nothing sleeps).

Acknowledging an alert nobody was told about (no escalation yet) stores an acknowledged
escalation with no steps, so the alert watcher will not notify it afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud_bridge.domain.errors import Conflict, Refused
from cloud_bridge.domain.history import log_change
from cloud_bridge.store.notify_models import Escalation, EscalationState

from .outbox import enqueue

KIND = re.compile(r"^[a-z_]{1,32}$")
SUBJECT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Step:
    """Notify ``recipients`` ``after`` the alert (unless acknowledged by then)."""

    after: timedelta
    recipients: tuple[str, ...]
    template_key: str | None = None
    """None: the escalation's own template."""


def _check(kind: str, subject: str) -> None:
    if not KIND.match(kind):
        raise Refused("bad_kind", "an alert kind is 1-32 lower-case letters or _")
    if not SUBJECT.match(subject):
        raise Refused("bad_subject", "an alert subject is 1-64 letters, digits or _ . : -")


def open_escalation(session: Session, *, kind: str, subject: str, template_key: str,
                    params: Mapping[str, Any], steps: Sequence[Step], now: datetime,
                    link: str | None = None) -> Escalation | None:
    """Start telling people about an alert; None if it was opened (or acknowledged) before.

    Steps run in the order given, each at ``now + step.after``; the first is usually at once.
    With no steps the escalation is stored all the same (the alert page says nobody is
    configured to hear about it).
    """
    _check(kind, subject)
    ordered = sorted(steps, key=lambda s: s.after)
    row = Escalation(kind=kind, subject=subject, template_key=template_key,
                     params=dict(params), link=link, state=EscalationState.OPEN,
                     steps=[{"after_s": s.after.total_seconds(), "recipients": list(s.recipients),
                             "template_key": s.template_key or template_key} for s in ordered],
                     next_step=0, next_at=now + ordered[0].after if ordered else None,
                     created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None  # another worker (or an acknowledgement) got there first
    return row


def fire_due(session: Session, *, now: datetime, channels: Sequence[str],
             limit: int = 100) -> int:
    """Enqueue every due step of open escalations; returns how many steps fired."""
    due = session.scalars(
        select(Escalation)
        .where(Escalation.state == EscalationState.OPEN, Escalation.next_at <= now)
        .order_by(Escalation.next_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    fired = 0
    for row in due:
        # A worker that was down fires every step that fell due meanwhile, in order.
        while row.next_at is not None and row.next_at <= now:
            _fire(session, row, row.next_step, now=now, channels=channels)
            fired += 1
            row.next_step += 1
            row.next_at = (row.created_at + timedelta(seconds=row.steps[row.next_step]["after_s"])
                           if row.next_step < len(row.steps) else None)
    return fired


def _fire(session: Session, row: Escalation, index: int, *, now: datetime,
          channels: Sequence[str]) -> None:
    step = row.steps[index]
    params = {**row.params, "level": str(index), "minutes": f"{step['after_s'] / 60:.0f}"}
    for recipient in step["recipients"]:
        enqueue(session, message_key=f"{row.kind}:{row.subject}:{index}", recipient=recipient,
                template_key=step["template_key"], params=params, now=now, channels=channels,
                link=row.link, ref=f"{row.kind}:{row.subject}")


def acknowledge(session: Session, *, kind: str, subject: str, actor: str, now: datetime,
                note: str | None = None) -> Escalation:
    """Record that ``actor`` has the alert in hand: no further step is sent.

    Raises:
        Refused: a malformed kind or subject. Conflict: already acknowledged (says by whom).
    """
    _check(kind, subject)
    note = (note or "").strip()[:300] or None
    row = session.scalar(select(Escalation).where(Escalation.kind == kind,
                                                  Escalation.subject == subject)
                         .with_for_update())
    if row is None:
        opened = open_escalation(session, kind=kind, subject=subject, template_key="",
                                 params={}, steps=[], now=now)
        row = opened or session.scalar(select(Escalation).where(
            Escalation.kind == kind, Escalation.subject == subject).with_for_update())
        assert row is not None
    if row.state == EscalationState.ACKNOWLEDGED:
        when = row.acknowledged_at.strftime("%Y-%m-%d %H:%M") if row.acknowledged_at else "?"
        raise Conflict("already_acknowledged",
                       f"acknowledged by {row.acknowledged_by} at {when} UTC")
    row.state, row.acknowledged_by, row.acknowledged_at = (EscalationState.ACKNOWLEDGED, actor,
                                                           now)
    row.note, row.next_at = note, None
    log_change(session, entity="alert", entity_id=f"{kind}:{subject}", action="acknowledged",
               actor=actor, reason=note, at=now, data={"steps_fired": row.next_step})
    return row


def get_escalation(session: Session, kind: str, subject: str) -> Escalation | None:
    return session.scalar(select(Escalation).where(Escalation.kind == kind,
                                                   Escalation.subject == subject))


def escalations_for(session: Session, kind: str, subjects: Iterable[str]
                    ) -> dict[str, Escalation]:
    """The escalations of these alerts, by subject (for the fleet page's alert list)."""
    wanted = list(subjects)
    if not wanted:
        return {}
    return {e.subject: e for e in session.scalars(select(Escalation).where(
        Escalation.kind == kind, Escalation.subject.in_(wanted)))}


def list_escalations(session: Session, *, state: str | None = None,
                     limit: int = 100) -> list[Escalation]:
    query = select(Escalation).order_by(Escalation.created_at.desc()).limit(limit)
    if state:
        query = query.where(Escalation.state == state)
    return list(session.scalars(query))
