"""Tables of the notification subsystem (``cloud_bridge.notify``).

- ``notify_contacts``: how to reach a person or a duty desk: e-mail, webhook URL, phone,
  WeChat Work user id, and the language they read. The name is the person's API key name
  when they have one (so "acknowledged by zhang.wei" and "sent to zhang.wei" match), but a
  contact needs no key (a county duty mailbox, a webhook into a county's own system).
- ``notify_routes``: which contacts hear about what happens in a place: a GB/T 2260 code
  prefix, an alert kind (``*`` for any) and a level (0: told at once; 1, 2, ...: told when
  nobody acknowledged by the policy's delay). The grids work replaces this table.
- ``notifications``: the durable outbox and delivery log: one row per (message, recipient,
  channel), unique by its dedupe key, with status, attempts, next attempt, last error and the
  channel's receipt.
- ``escalations``: one row per alert (kind + subject) that people are told about: the steps
  (who, after how long), the next step due, and who acknowledged it and when. Stored, so a
  restart loses no pending escalation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base
from .types import JSONDocument, UTCDateTime, utcnow


class NotificationStatus:
    PENDING = "pending"
    """Not tried yet (or claimed by a worker that may have died mid-send: tried again after
    its lease, ``notify.lease_s``)."""
    SENT = "sent"
    FAILED = "failed"
    """The last attempt failed; another is due at ``next_attempt_at``."""
    GIVEN_UP = "given_up"
    """Permanently refused, out of attempts, or nobody to send it to: an operator may retry."""
    ALL = ("pending", "sent", "failed", "given_up")
    DUE = ("pending", "failed")


class EscalationState:
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ALL = ("open", "acknowledged")


class NotifyContact(Base):
    __tablename__ = "notify_contacts"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(32), comment="SMS")
    wecom_user: Mapped[str | None] = mapped_column(String(64), comment="WeChat Work user id")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


class NotifyRoute(Base):
    __tablename__ = "notify_routes"
    __table_args__ = (UniqueConstraint("place_prefix", "kind", "level", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    place_prefix: Mapped[str] = mapped_column(String(12), comment="'' matches every place")
    kind: Mapped[str] = mapped_column(String(32), comment="alert kind, or * for any")
    level: Mapped[int] = mapped_column(Integer, comment="0: at once; n: after the n-th delay")
    recipient: Mapped[str] = mapped_column(String(100), comment="notify_contacts.name")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    ref: Mapped[str | None] = mapped_column(String(140), index=True,
                                            comment="what it is about, e.g. positive:<reading>")
    recipient: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500), default="")
    language: Mapped[str] = mapped_column(String(8))
    template_key: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    link: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="due time; while a worker holds it, the end of its lease")
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text, comment="the channel's answer on success")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("kind", "subject"),
                      Index("ix_escalations_state_next", "state", "next_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), comment="alert kind, e.g. positive")
    subject: Mapped[str] = mapped_column(String(100), comment="e.g. the reading id")
    template_key: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    link: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONDocument, comment='[{"after_s", "recipients", "template_key"}], in order')
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime,
                                                     comment="when the next step is due")
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text, comment="the acknowledger's words")
