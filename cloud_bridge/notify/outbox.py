"""The durable outbox of notifications, which is also the delivery log.

``enqueue`` adds one row per (message, recipient, channel) in the caller's transaction, unique
by its dedupe key (a repeat is a no-op: "exactly once per alert" is the key's business). The
worker ``claim``s due rows in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several workers never take the same row; SQLite has one writer anyway), counting the attempt
and pushing ``next_attempt_at`` to the end of a lease, commits, sends with no transaction open,
and records the result in another short transaction. A worker that dies mid-send leaves the row
due again when its lease ends: delivery is at least once, never lost.

After a failed attempt the next one waits ``retry_initial_s * 2**(attempts-1)``, capped at
``retry_max_s``, times a random factor in [0.5, 1) (jitter, so a county's worth of retries do not
hit a recovering mail server at the same second). After ``max_attempts`` (or a permanent
refusal) the row is ``given_up``; an operator can send it again (``retry``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.domain.errors import Conflict, NotFound
from cloud_bridge.domain.history import log_change
from cloud_bridge.locales import DEFAULT_LANGUAGE
from cloud_bridge.store.models import table_of
from cloud_bridge.store.notify_models import Notification, NotificationStatus, NotifyContact
from cloud_bridge.store.upsert import upsert

from .channels import CHANNELS
from .contacts import addresses
from .errors import DeliveryError
from .message import Outgoing

S = NotificationStatus
MAX_KEY = 80
"""A message key's length; the stored key adds the recipient and the channel."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_s: float = 30.0
    max_s: float = 3600.0
    max_attempts: int = 10

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """How long to wait after the ``attempts``-th failed attempt."""
        base = min(self.max_s, self.initial_s * 2 ** min(attempts - 1, 30))
        return timedelta(seconds=base * (0.5 + 0.5 * rng.random()))


def dedupe_key(message_key: str, recipient: str, channel: str) -> str:
    return f"{message_key}/{recipient}/{channel}"


def enqueue(session: Session, *, message_key: str, recipient: str, template_key: str,
            params: Mapping[str, Any], now: datetime, channels: Sequence[str],
            link: str | None = None, ref: str | None = None) -> list[Notification]:
    """Make the notifications of one message to one recipient (one per channel they have).

    A recipient with no contact, a disabled contact or no address on any enabled channel gets
    one ``given_up`` row on channel ``none`` saying so, so the delivery log shows who was not
    told. Enqueueing the same ``message_key`` for the same recipient again adds nothing.

    Args:
        message_key: identifies the message (e.g. ``positive:<reading>:L0``), at most 80
            characters; the rows' dedupe keys add the recipient and the channel.
        channels: the enabled channels (``notify.channels``).

    Returns:
        The recipient's rows for this message (new or already there).
    """
    if not message_key or len(message_key) > MAX_KEY or "/" in message_key:
        raise ValueError(f"a message key is 1-{MAX_KEY} characters without '/'")
    contact = session.get(NotifyContact, recipient)
    language = contact.language if contact is not None else DEFAULT_LANGUAGE
    common = {"ref": ref, "recipient": recipient, "language": language,
              "template_key": template_key, "params": dict(params), "link": link,
              "created_at": now, "attempts": 0}
    rows = [{**common, "dedupe_key": dedupe_key(message_key, recipient, channel),
             "channel": channel, "address": address, "status": S.PENDING,
             "next_attempt_at": now}
            for channel, address in addresses(contact, list(channels))]
    if not rows:
        why = ("no contact of that name" if contact is None
               else "the contact is disabled" if not contact.active
               else f"no address for the enabled channels ({', '.join(channels)})")
        rows = [{**common, "dedupe_key": dedupe_key(message_key, recipient, "none"),
                 "channel": "none", "address": "", "status": S.GIVEN_UP,
                 "next_attempt_at": None, "last_error": f"nobody to send to: {why}"}]
    for row in rows:
        row.setdefault("last_error", None)
    upsert(session, table_of(Notification), rows, key=["dedupe_key"])
    return list(session.scalars(select(Notification).where(
        Notification.dedupe_key.in_([r["dedupe_key"] for r in rows]))))


def claim(session: Session, *, now: datetime, limit: int, lease_s: float,
          max_attempts: int) -> list[Outgoing]:
    """Take up to ``limit`` due notifications for sending (commit before sending them)."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.status.in_(S.DUE), Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    taken = []
    for row in rows:
        if row.attempts >= max_attempts:
            # Its last attempt was claimed but never recorded (the worker stopped mid-send).
            row.status, row.next_attempt_at = S.GIVEN_UP, None
            row.last_error = ((row.last_error + "; ") if row.last_error else "") + \
                "no result recorded for the last attempt (worker stopped while sending?)"
            continue
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=lease_s)
        taken.append(Outgoing(id=row.id, dedupe_key=row.dedupe_key, recipient=row.recipient,
                              channel=row.channel, address=row.address, language=row.language,
                              template_key=row.template_key, params=dict(row.params),
                              link=row.link, attempt=row.attempts))
    return taken


def record_sent(session: Session, item: Outgoing, receipt: str, *, now: datetime) -> None:
    row = _claimed(session, item)
    if row is None:
        return
    row.status, row.sent_at, row.next_attempt_at = S.SENT, now, None
    row.receipt, row.last_error = receipt[:1000], None


def record_failure(session: Session, item: Outgoing, error: DeliveryError, *, now: datetime,
                   policy: RetryPolicy, rng: random.Random) -> str:
    """Record a failed attempt; returns the row's new status (failed or given_up)."""
    row = _claimed(session, item)
    if row is None:
        return "stale"
    row.last_error = str(error)[:1000] or type(error).__name__
    if error.permanent or row.attempts >= policy.max_attempts:
        row.status, row.next_attempt_at = S.GIVEN_UP, None
    else:
        row.status = S.FAILED
        row.next_attempt_at = now + policy.delay(row.attempts, rng)
    return row.status


def release(session: Session, item: Outgoing, *, until: datetime) -> None:
    """Give a claimed notification back untried (its attempt does not count), due ``until``."""
    row = _claimed(session, item)
    if row is not None:
        row.attempts -= 1
        row.next_attempt_at = until


def _claimed(session: Session, item: Outgoing) -> Notification | None:
    """The row, unless another worker re-claimed it after our lease ran out (then its result
    is the one to keep)."""
    row = session.get(Notification, item.id, with_for_update=True)
    if row is None or row.attempts != item.attempt or row.status not in S.DUE:
        return None
    return row


def retry(session: Session, notification_id: int, *, actor: str, now: datetime) -> Notification:
    """Send a given-up or failed notification again now, with fresh attempts and the
    contact's current address for its channel.

    Raises:
        NotFound: no such notification. Conflict: it was sent, is pending, or has no channel.
    """
    row = session.get(Notification, notification_id, with_for_update=True)
    if row is None:
        raise NotFound("no_such_notification", f"no notification {notification_id}")
    if row.status not in (S.GIVEN_UP, S.FAILED) or row.channel not in CHANNELS:
        raise Conflict("not_retryable", f"notification {notification_id} is {row.status} "
                       f"on channel {row.channel}: nothing to send again")
    contact = session.get(NotifyContact, row.recipient)
    current = dict(addresses(contact, [row.channel]))
    if row.channel in current:
        row.address = current[row.channel]
    row.status, row.attempts, row.next_attempt_at = S.PENDING, 0, now
    log_change(session, entity="notification", entity_id=str(row.id), action="retried",
               actor=actor, at=now, data={"last_error": row.last_error})
    return row


def deliveries(session: Session, *, status: str | None = None, ref: str | None = None,
               limit: int = 200) -> list[Notification]:
    """The delivery log, newest first."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        query = query.where(Notification.status == status)
    if ref:
        query = query.where(Notification.ref == ref)
    return list(session.scalars(query))
