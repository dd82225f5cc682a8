"""Routes that change a certificate or a producer: market checks, purchaser re-issues,
revocations, producer suspension. Each needs its role's key and commits one transaction with
its history row.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloud_bridge.domain import certificates, producers
from cloud_bridge.domain.certificates import CheckRequest, ReissueRequest, RevokeRequest
from cloud_bridge.domain.keys import Principal

from .deps import (
    MarketKey,
    ProducerPath,
    ReissuerKey,
    SupervisorKey,
    TokenPath,
    settings_of,
    writers,
)
from .public import issue_time
from .responses import CertificateView, CheckView, ErrorView, certificate_view

router = APIRouter(tags=["market and supervisor"])
ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorView} for s in (401, 403, 404, 409, 413, 422)}


class ProducerStateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=300)]


class ProducerStateView(BaseModel):
    producer_id: str
    active: bool


class ReissuedView(BaseModel):
    certificate: CertificateView
    verify_url: str = Field(description="Print this as the new certificate's QR code.")


@router.post("/api/v1/certificates/{token}/checks", response_model=CheckView, status_code=201,
             responses=ERRORS)
def record_check(token: TokenPath, body: CheckRequest, request: Request,
                 who: MarketKey) -> CheckView:
    """A market inspector records a check (查验) of a certificate (market keys)."""
    with writers(request).begin() as session:
        check = certificates.record_check(session, token, body, who)
        return CheckView(market=check.market, result=check.result, reason=check.reason,
                         checked_at=check.checked_at)


@router.post("/api/v1/certificates", response_model=ReissuedView, status_code=201,
             responses=ERRORS)
def reissue(body: ReissueRequest, request: Request,
            who: ReissuerKey) -> ReissuedView:
    """A purchaser's re-issue (样式二) after mixing or splitting lots, naming its sources."""
    settings = settings_of(request)
    with writers(request).begin() as session:
        record = certificates.reissue(session, body, who,
                                      public_base_url=settings.api.public_base_url)
        details = certificates.get(session, record.token)
        view = certificate_view(details, issue_time(session, details))
    return ReissuedView(certificate=view, verify_url=view.verify_url)


@router.post("/api/v1/certificates/{token}/revoke", response_model=CertificateView,
             responses=ERRORS)
def revoke(token: TokenPath, body: RevokeRequest, request: Request,
           who: SupervisorKey) -> CertificateView:
    """A supervisor revokes a certificate, with a reason (logged with who and why)."""
    with writers(request).begin() as session:
        certificates.revoke(session, token, body, who)
        details = certificates.get(session, token)
        return certificate_view(details, issue_time(session, details))


@router.post("/api/v1/producers/{producer_id}/suspend", response_model=ProducerStateView,
             responses=ERRORS)
def suspend_producer(producer_id: ProducerPath, body: ProducerStateRequest, request: Request,
                     who: SupervisorKey) -> ProducerStateView:
    """Suspend a producer: kiosks get a roster marking them inactive."""
    return _set_active(producer_id, False, body, request, who)


@router.post("/api/v1/producers/{producer_id}/restore", response_model=ProducerStateView,
             responses=ERRORS)
def restore_producer(producer_id: ProducerPath, body: ProducerStateRequest, request: Request,
                     who: SupervisorKey) -> ProducerStateView:
    """Restore a suspended producer."""
    return _set_active(producer_id, True, body, request, who)


def _set_active(producer_id: str, active: bool, body: ProducerStateRequest, request: Request,
                who: Principal) -> ProducerStateView:
    with writers(request).begin() as session:
        row = producers.set_active(session, producer_id, active, actor=who.name,
                                   reason=body.reason)
        return ProducerStateView(producer_id=row.producer_id, active=row.active)
