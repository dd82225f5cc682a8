"""Public routes: a certificate by its token, as JSON and as the page its QR code opens.

Anyone holding a certificate's token may see it (the token is unguessable), with personal data
masked. Both routes are rate-limited per client. An unknown token gets a "not found" answer
(a page for ``/c/``), never a stack trace.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.routing import Route

from cloud_bridge.domain import certificates
from cloud_bridge.domain.certificates import CertificateDetails
from cloud_bridge.domain.lookup import lookup
from cloud_bridge.domain.times import BootAnchor, ShownTime, shown_time
from cloud_bridge.patterns import TOKEN_PATTERN, TOKEN_RULE
from cloud_bridge.store.models import LatestTelemetry, LedgerRecord

from .deps import TokenPath, readers
from .errors import ApiError
from .pages import render
from .responses import CertificateView, ErrorView, certificate_view

_TOKEN_RE = re.compile(TOKEN_PATTERN)

router = APIRouter()


def check_token(token: str) -> None:
    """Refuse a malformed token (for routes whose path parameter is not a ``TokenPath``)."""
    if not _TOKEN_RE.match(token):
        raise ApiError(422, "malformed_token", TOKEN_RULE)


def issue_time(session: Session, details: CertificateDetails) -> ShownTime:
    """The issue time to show, corrected from a later sync of the same boot if possible."""
    record = details.record
    if record.time_synced or record.device_id is None or record.seq is None:
        return shown_time(record.issued_at, record.time_synced, record.recorded_at)
    ledger = session.get(LedgerRecord, (record.device_id, record.seq))
    anchor = None
    telemetry = session.get(LatestTelemetry, record.device_id)
    if ledger is not None and telemetry is not None and telemetry.time_synced:
        mono = telemetry.data.get("mono_ms")
        if telemetry.data.get("boot_id") == ledger.boot_id and isinstance(mono, int):
            anchor = BootAnchor(ledger.boot_id, telemetry.kiosk_time, mono)
    return shown_time(record.issued_at, False, record.recorded_at,
                      boot_id=ledger.boot_id if ledger else None,
                      mono_ms=ledger.mono_ms if ledger else None, anchor=anchor)


def load(session: Session, token: str) -> tuple[CertificateDetails, ShownTime]:
    details = certificates.get(session, token)  # RegistryError: answered by app's handler
    return details, issue_time(session, details)


@router.get(
    "/api/v1/certificates/{token}",
    response_model=CertificateView,
    responses={404: {"model": ErrorView}, 429: {"model": ErrorView}, 503: {"model": ErrorView}},
    tags=["public"],
)
async def get_certificate(token: TokenPath, request: Request) -> Response:
    """A certificate by its public token, with its status and checks; personal data masked."""
    # The hot path (every QR scan) runs on the event loop, not in a thread: one primary-key
    # query on an autocommit connection (~0.5 ms) costs less than the thread hop, and under
    # load the loop serves requests in order instead of thrashing the GIL (bench/verify_api.py:
    # 1.5x the requests/s of the threadpool and a far shorter tail). The reader engine has
    # connect and statement timeouts, so a database outage answers 503 quickly.
    return _certificate_json(token, request)


def _certificate_json(token: TokenPath, request: Request) -> Response:
    engine = readers(request).kw["bind"]
    with engine.connect() as connection:
        details = lookup(connection, token)
        record = details.record
        if record.time_synced or record.device_id is None:
            shown = shown_time(record.issued_at, record.time_synced, record.recorded_at)
        else:  # rare: made before the kiosk's clock was set; the correction reads more
            with Session(bind=connection) as session:
                shown = issue_time(session, details)
        view = certificate_view(details, shown)
    # A Response skips FastAPI's second validation of the returned model.
    return Response(view.model_dump_json(), media_type="application/json")


@router.get("/c/{token}", response_class=HTMLResponse, include_in_schema=True, tags=["public"],
            responses={404: {"content": {"text/html": {}}}})
def certificate_page(token: TokenPath, request: Request, lang: str | None = None) -> HTMLResponse:
    """The page a certificate's QR code opens (zh-CN, or en with ``?lang=en``).

    Rate-limited per client (``ratelimit.PublicRateLimit``), as is the JSON above.
    """
    with readers(request)() as session:
        details, shown = load(session, token)
        view = certificate_view(details, shown)
    context: dict[str, Any] = {"c": view}
    return render(request, "certificate.html", context, lang=lang)


def install_fast_route(app: FastAPI) -> None:
    """Serve GET /api/v1/certificates/{token} by a plain Starlette route ahead of FastAPI's.

    The FastAPI route above stays for the OpenAPI document (and schemathesis); this one answers
    first and skips FastAPI's per-request dependency solving and parameter validation (about a
    sixth of the endpoint's CPU). It behaves the same: same checks, same errors, same body.
    """

    async def fast(request: Request) -> Response:
        token = request.path_params["token"]
        check_token(token)
        return _certificate_json(token, request)

    app.router.routes.insert(0, Route("/api/v1/certificates/{token}", fast, methods=["GET"]))
