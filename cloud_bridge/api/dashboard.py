"""The operators' dashboard: server-rendered pages behind a login with an API key.

The key is checked against its hash once, at login; the HttpOnly, SameSite=Strict (and, by
default, Secure) cookie then holds a random session id, never the key (``registry.logins``):
logging out ends it, and so do a revoked key and 12 hours. Forms that change something also
carry a token derived from the session id (double submit), so another site cannot post them.
Operator and supervisor keys open the pages; a market key gets a 403 page.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from cloud_bridge.domain import alerts as alert_rules
from cloud_bridge.domain import certificates, logins, queries
from cloud_bridge.domain.certificates import RevokeRequest
from cloud_bridge.domain.credit import LEVEL_NAMES
from cloud_bridge.domain.fleet import fleet
from cloud_bridge.domain.ingest_health import ingest_health
from cloud_bridge.domain.keys import Principal
from cloud_bridge.domain.stats import stats as compute_stats
from cloud_bridge.notify.escalation import escalations_for
from cloud_bridge.store.registry_models import Role
from cloud_bridge.store.types import utcnow
from protocol.config import describe_error

from . import charts
from .deps import COOKIE, presented_key, presented_session, principal, readers, settings_of, writers
from .errors import ApiError
from .pages import render
from .public import check_token, issue_time
from .responses import certificate_view

router = APIRouter(include_in_schema=False)


def _staff(request: Request) -> Principal:
    who = principal(request)
    if who is None:
        raise ApiError(401, "unauthorized", "log in with an operator or supervisor key")
    if not who.has(Role.OPERATOR, Role.SUPERVISOR):
        raise ApiError(403, "forbidden", "the dashboard is for operator and supervisor keys")
    return who


def csrf_token(request: Request) -> str:
    secret = presented_session(request) or presented_key(request) or ""
    return hashlib.sha256(b"csrf:" + secret.encode()).hexdigest()[:32]


def _page(request: Request, name: str, who: Principal, **context: Any) -> HTMLResponse:
    return render(request, name, {"who": who, "csrf": csrf_token(request), "now": utcnow(),
                                  **context})


@router.get("/dashboard/login", response_class=HTMLResponse)
def login_form(request: Request, failed: int = 0) -> HTMLResponse:
    return render(request, "login.html", {"failed": bool(failed)})


@router.post("/dashboard/login")
def login(request: Request, key: Annotated[str, Form(max_length=200)]) -> Response:
    with writers(request).begin() as session:
        opened = logins.open_session(session, key.strip())
    if opened is None:
        return RedirectResponse("/dashboard/login?failed=1", status_code=303)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(COOKIE, opened[0], httponly=True, samesite="strict",
                        secure=settings_of(request).api.secure_cookies,
                        max_age=int(logins.LIFETIME.total_seconds()))
    return response


@router.post("/dashboard/logout")
def logout(request: Request) -> Response:
    session_id = request.cookies.get(COOKIE)
    if session_id:
        with writers(request).begin() as session:
            logins.close_session(session, session_id)
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/dashboard", response_class=HTMLResponse)
def fleet_page(request: Request) -> HTMLResponse:
    who = _staff(request)
    now = utcnow()
    with readers(request)() as session:
        kiosks = fleet(session, now=now)
        found = alert_rules.alerts(session, settings_of(request).dashboard, now=now,
                                   kiosks=kiosks)
        ingest = ingest_health(session, settings_of(request).dashboard, now=now)
        acks = escalations_for(session, "positive", [
            str(a.data["reading_id"]) for a in found if a.kind == "positive"])
    return _page(request, "fleet.html", who, kiosks=kiosks, alerts=found, ingest=ingest,
                 thresholds=settings_of(request).dashboard, acks=acks)


@router.get("/dashboard/stats", response_class=HTMLResponse)
def stats_page(request: Request, days: int = 30) -> HTMLResponse:
    who = _staff(request)
    days = min(max(days, 7), 366)
    with readers(request)() as session:
        s = compute_stats(session, days=days)
    svg = {
        "tests": charts.day_bars(s.days, s.tests_by_day, s.positives_by_day, title="tests"),
        "certs": charts.day_bars(s.days, s.certificates_by_day, {}, colour=charts.BLUE,
                                 title="certificates"),
        "product": charts.hbars(s.positives_by_product, title="product"),
        "analyte": charts.hbars(s.positives_by_analyte, title="analyte"),
        "place": charts.hbars(s.positives_by_place, title="place"),
        "tested": charts.hbars(s.tests_by_product, colour=charts.GREEN, title="tested"),
    }
    return _page(request, "stats.html", who, s=s, days=days,
                 # Our own SVG, every label escaped in charts.py.
                 svg={k: Markup(v) for k, v in svg.items()})


@router.get("/dashboard/producers", response_class=HTMLResponse)
def producers_page(request: Request, q: str = "") -> HTMLResponse:
    who = _staff(request)
    with readers(request)() as session:
        found = queries.list_producers(session, q[:100])
    return _page(request, "producers.html", who, producers=found, q=q[:100])


@router.get("/dashboard/producers/{producer_id}", response_class=HTMLResponse)
def producer_page(request: Request, producer_id: str) -> HTMLResponse:
    who = _staff(request)
    with readers(request)() as session:
        record = queries.producer_record(session, producer_id[:64])
    if record is None:
        raise ApiError(404, "not_found", "no such producer")
    return _page(request, "producer.html", who, r=record, level_names=LEVEL_NAMES)


@router.get("/dashboard/certificates", response_class=HTMLResponse)
def certificates_page(request: Request, q: str = "") -> HTMLResponse:
    who = _staff(request)
    with readers(request)() as session:
        found = queries.search_certificates(session, q.strip()[:64])
    return _page(request, "certificates.html", who, certs=found, q=q[:64])


@router.get("/dashboard/certificates/{token}", response_class=HTMLResponse)
def certificate_detail(request: Request, token: str) -> HTMLResponse:
    who = _staff(request)
    check_token(token)
    with readers(request)() as session:
        details = certificates.get(session, token, with_uses=True)
        view = certificate_view(details, issue_time(session, details))
        history = queries.certificate_history(session, token)
    return _page(request, "certificate_admin.html", who, c=view, details=details,
                 history=history)


@router.post("/dashboard/certificates/{token}/revoke")
def revoke_form(request: Request, token: str, reason: Annotated[str, Form(max_length=300)],
                csrf: Annotated[str, Form(max_length=64)]) -> Response:
    who = _staff(request)
    check_token(token)
    if not hmac.compare_digest(csrf, csrf_token(request)):
        raise ApiError(403, "bad_form", "the form is stale; open the page again")
    try:
        request_body = RevokeRequest(reason=reason)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", describe_error(exc)) from None
    with writers(request).begin() as session:
        certificates.revoke(session, token, request_body, who)
    return RedirectResponse(f"/dashboard/certificates/{token}", status_code=303)
