"""Notification routes (JSON): the delivery log, sending one again, escalations, and
acknowledging an alert. Operator and supervisor keys; changes need the key in the header."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cloud_bridge.notify import acknowledge, deliveries, retry
from cloud_bridge.notify.alert_watch import is_alert
from cloud_bridge.notify.escalation import list_escalations
from cloud_bridge.store.notify_models import EscalationState, NotificationStatus
from cloud_bridge.store.types import utcnow

from .deps import OperatorKey, readers, writers
from .errors import ApiError
from .responses import ErrorView

router = APIRouter(tags=["notifications"])
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorView} for s in (401, 403, 404,
                                                                             409, 422)}
KindPath = Annotated[str, Path(pattern=r"^[a-z_]{1,32}$", description="alert kind: positive")]
SubjectPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                  description="the alert's subject, e.g. the reading id")]


class NotificationView(BaseModel):
    id: int
    dedupe_key: str
    ref: str | None = Field(description="what it is about, e.g. positive:<reading id>")
    recipient: str
    channel: str = Field(description="email, webhook, sms, wecom, or none (nobody to send to)")
    address: str
    language: str
    template_key: str
    status: str = Field(description="pending, sent, failed (retried later) or given_up")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    receipt: str | None
    created_at: datetime
    sent_at: datetime | None


class EscalationView(BaseModel):
    kind: str
    subject: str
    state: str = Field(description="open or acknowledged")
    steps: list[dict[str, Any]] = Field(description="after_s, recipients, template_key")
    steps_fired: int
    next_at: datetime | None = Field(description="when the next step is due, if any")
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


class AckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=300)


def notification_view(n: Any) -> NotificationView:
    return NotificationView(
        id=n.id, dedupe_key=n.dedupe_key, ref=n.ref, recipient=n.recipient, channel=n.channel,
        address=n.address, language=n.language, template_key=n.template_key, status=n.status,
        attempts=n.attempts, next_attempt_at=n.next_attempt_at, last_error=n.last_error,
        receipt=n.receipt, created_at=n.created_at, sent_at=n.sent_at)


def escalation_view(e: Any) -> EscalationView:
    return EscalationView(kind=e.kind, subject=e.subject, state=e.state, steps=e.steps,
                          steps_fired=e.next_step, next_at=e.next_at, created_at=e.created_at,
                          acknowledged_at=e.acknowledged_at, acknowledged_by=e.acknowledged_by,
                          note=e.note)


StatusQuery = Annotated[str | None, Query(pattern="^(" + "|".join(NotificationStatus.ALL) + ")$")]


@router.get("/api/v1/notifications", response_model=list[NotificationView], responses=ERRORS)
def get_notifications(request: Request, who: OperatorKey, status: StatusQuery = None,
                      ref: Annotated[str | None, Query(max_length=140)] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 200
                      ) -> list[NotificationView]:
    """The delivery log, newest first: every notification with its status and last error."""
    with readers(request)() as session:
        return [notification_view(n) for n in deliveries(session, status=status, ref=ref,
                                                          limit=limit)]


@router.post("/api/v1/notifications/{notification_id}/retry", response_model=NotificationView,
             responses=ERRORS)
def retry_notification(notification_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                       request: Request,
                       who: OperatorKey) -> NotificationView:
    """Send a given-up or failed notification again now (to the contact's current address)."""
    with writers(request).begin() as session:
        return notification_view(retry(session, notification_id, actor=who.name, now=utcnow()))


@router.get("/api/v1/escalations", response_model=list[EscalationView], responses=ERRORS)
def get_escalations(request: Request, who: OperatorKey,
                    state: Annotated[str | None, Query(pattern="^(open|acknowledged)$")] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[EscalationView]:
    """Alerts people were told about, newest first, with who acknowledged them."""
    with readers(request)() as session:
        return [escalation_view(e) for e in list_escalations(session, state=state, limit=limit)]


@router.post("/api/v1/alerts/{kind}/{subject}/ack", response_model=EscalationView,
             responses=ERRORS)
def ack_alert(kind: KindPath, subject: SubjectPath, request: Request, who: OperatorKey,
              body: AckRequest | None = None) -> EscalationView:
    """Acknowledge an alert: records who and when, and stops its escalation (409 if done)."""
    with writers(request).begin() as session:
        require_alert(session, kind, subject)
        row = acknowledge(session, kind=kind, subject=subject, actor=who.name, now=utcnow(),
                          note=body.note if body else None)
        return escalation_view(row)


def require_alert(session: Session, kind: str, subject: str) -> None:
    """404 unless this is an alert that can be acknowledged (today: a positive reading)."""
    if not is_alert(session, kind, subject):
        raise ApiError(404, "no_such_alert", f"no {kind} alert {subject!r} (only positive "
                       "readings can be acknowledged so far)")


__all__ = ["EscalationState", "router"]
