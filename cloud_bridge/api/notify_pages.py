"""Dashboard pages of the notifications: the delivery log and one alert's page (its
escalation, what was sent to whom, and the acknowledge form). The alert page is the link every
alert notification carries. Operator and supervisor keys; forms carry the dashboard's CSRF
token, and acknowledging (which cannot be undone) needs a ticked confirmation."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from cloud_bridge.domain.keys import Principal
from cloud_bridge.notify import acknowledge, deliveries, get_escalation, retry
from cloud_bridge.notify.escalation import list_escalations
from cloud_bridge.store.models import Device, StripReadingRecord
from cloud_bridge.store.notify_models import EscalationState, NotificationStatus
from cloud_bridge.store.registry_models import Role
from cloud_bridge.store.types import utcnow

from .dashboard import csrf_token
from .deps import principal, readers, writers
from .errors import ApiError
from .notify_api import KindPath, SubjectPath, require_alert
from .pages import render

router = APIRouter(include_in_schema=False)


def _staff(request: Request) -> Principal:
    who = principal(request)
    if who is None:
        raise ApiError(401, "unauthorized", "log in with an operator or supervisor key")
    if not who.has(Role.OPERATOR, Role.SUPERVISOR):
        raise ApiError(403, "forbidden", "the dashboard is for operator and supervisor keys")
    return who


def _check_form(request: Request, csrf: str) -> None:
    if not hmac.compare_digest(csrf, csrf_token(request)):
        raise ApiError(403, "bad_form", "the form is stale; open the page again")


@router.get("/dashboard/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, status: str = "") -> HTMLResponse:
    who = _staff(request)
    status = status if status in NotificationStatus.ALL else ""
    with readers(request)() as session:
        rows = deliveries(session, status=status or None, limit=300)
        waiting = list_escalations(session, state=EscalationState.OPEN, limit=100)
    return render(request, "notifications.html",
                  {"who": who, "csrf": csrf_token(request), "now": utcnow(), "rows": rows,
                   "escalations": waiting, "status": status,
                   "statuses": NotificationStatus.ALL})


@router.post("/dashboard/notifications/{notification_id}/retry")
def retry_form(request: Request, notification_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
               csrf: Annotated[str, Form(max_length=64)]) -> Response:
    who = _staff(request)
    _check_form(request, csrf)
    with writers(request).begin() as session:
        retry(session, notification_id, actor=who.name, now=utcnow())
    return RedirectResponse("/dashboard/notifications", status_code=303)


@router.get("/dashboard/alerts/{kind}/{subject}", response_class=HTMLResponse)
def alert_page(request: Request, kind: KindPath, subject: SubjectPath) -> HTMLResponse:
    who = _staff(request)
    with readers(request)() as session:
        escalation = get_escalation(session, kind, subject)
        reading = None
        if kind == "positive":
            reading = session.execute(
                select(StripReadingRecord, Device.place_code)
                .join(Device, Device.id == StripReadingRecord.device_id)
                .where(StripReadingRecord.reading_id == subject,
                       StripReadingRecord.call == "positive")).first()
        if escalation is None and reading is None:
            raise ApiError(404, "not_found", "no such alert")
        sent = deliveries(session, ref=f"{kind}:{subject}", limit=200)
    return render(request, "alert.html",
                  {"who": who, "csrf": csrf_token(request), "now": utcnow(), "kind": kind,
                   "subject": subject, "e": escalation, "reading": reading, "sent": sent})


@router.post("/dashboard/alerts/{kind}/{subject}/ack")
def ack_form(request: Request, kind: KindPath, subject: SubjectPath,
             csrf: Annotated[str, Form(max_length=64)],
             confirm: Annotated[str, Form(max_length=8)] = "",
             note: Annotated[str, Form(max_length=300)] = "") -> Response:
    who = _staff(request)
    _check_form(request, csrf)
    if confirm != "yes":
        raise ApiError(422, "not_confirmed", "tick the confirmation to acknowledge the alert")
    with writers(request).begin() as session:
        require_alert(session, kind, subject)
        acknowledge(session, kind=kind, subject=subject, actor=who.name, now=utcnow(),
                    note=note)
    return RedirectResponse(f"/dashboard/alerts/{kind}/{subject}", status_code=303)
