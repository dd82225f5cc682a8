"""A certificate's life in the cloud: supervisors revoke, markets check, purchasers re-issue.

- ``revoke``: a supervisor withdraws a certificate, with a reason; logged with who and why,
  and a ``revoked_certificate`` credit event for the producer.
- ``record_check``: a market inspector records a check (查验): accepted, or rejected with a
  reason (a ``market_rejection`` credit event). The public page shows the checks.
- ``reissue``: a purchaser who mixes or splits lots issues a new certificate (样式二) naming its
  sources and how much it takes from each. Refused: a source that is voided, revoked, positive
  or already fully used; a source re-issued (at any depth) from a voided or revoked one; a
  source of another product or unit; quantities that do not add up. The sources' rows are
  locked for the check, so two re-issues cannot both take the last kilo.
- ``withdrawn_sources``: revocation reaches re-issues. A re-issue rests on its sources'
  promises; when one of them, or one of theirs, is later voided or revoked, the re-issue keeps
  its own status (only a supervisor revokes, with a reason, and the purchaser's credit is not
  charged for the producer's fault) but is shown as not valid, naming the withdrawn source, and
  cannot be re-issued from. Computed when read, so a revocation reaches every re-issue below it
  at once, at any depth.

Every function works inside the caller's transaction (the API commits).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import (
    CertificateOrigin,
    CertificateRecord,
    CertificateStatus,
    StripReadingRecord,
    table_of,
)
from cloud_bridge.store.registry_models import CertificateSource, Lot, MarketCheck
from cloud_bridge.store.types import utcnow
from protocol import Basis, Certificate, CertificateStyle, LotOutcome
from protocol.certificate_rules import PROMISE_TEXT, TEMPLATE_VERSION, verify_url
from protocol.messages import Code, Phone, PlaceCode, Token

from . import credit
from .errors import Conflict, Forbidden, NotFound, Refused
from .history import log_change
from .keys import Principal

QUANTITY_TOLERANCE = 1e-6
"""Relative slack when adding quantities (floats from JSON)."""

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevokeRequest(_Body):
    reason: Reason = Field(description="Why the certificate is revoked (kept in the history).")


class CheckRequest(_Body):
    result: Literal["accepted", "rejected"]
    reason: Reason | None = Field(default=None, description="Required when rejected.")


class SourceUse(_Body):
    token: Token
    quantity: Annotated[float, Field(gt=0, le=1e9)] = Field(
        description="How much of the source lot goes into the new certificate (its unit).")


class ReissueRequest(_Body):
    """A purchaser's re-issue (样式二) after mixing or splitting lots."""

    product_code: Code
    product_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    quantity: Annotated[float, Field(gt=0, le=1e9)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    origin_code: PlaceCode
    origin_detail: Annotated[str, StringConstraints(max_length=500)] = ""
    purchaser_id: Code
    purchaser_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    purchaser_phone: Phone
    basis: list[Basis] = Field(default_factory=lambda: [Basis.QUALITY_CONTROL], min_length=1,
                               max_length=3)
    sources: list[SourceUse] = Field(min_length=1, max_length=100)


@dataclass(frozen=True, slots=True)
class WithdrawnSource:
    """A voided or revoked certificate somewhere up a re-issue's chain of sources."""

    token: str
    serial: str
    status: str


@dataclass
class CertificateDetails:
    """A certificate with what the cloud knows around it."""

    record: CertificateRecord
    checks: list[MarketCheck] = field(default_factory=list)
    sources: list[tuple[CertificateSource, CertificateRecord]] = field(default_factory=list)
    used_by: list[CertificateSource] = field(default_factory=list)
    withdrawn: list[WithdrawnSource] = field(default_factory=list)
    """Voided or revoked certificates up its chain of sources (re-issues only)."""

    @property
    def used_quantity(self) -> float:
        return sum(u.quantity for u in self.used_by)


_LINK = table_of(CertificateSource)
_CERT = table_of(CertificateRecord)


def withdrawn_sources(db: Session | Connection, token: str) -> list[WithdrawnSource]:
    """The voided or revoked certificates among ``token``'s sources, their sources, and so on.

    One recursive query. A re-issue can only name certificates that exist already, so the
    links form no cycle; UNION (not UNION ALL) would end the walk even if one did.
    """
    chain = (select(_LINK.c.source_token.label("token"))
             .where(_LINK.c.token == token).cte("chain", recursive=True))
    chain = chain.union(select(_LINK.c.source_token)
                        .join(chain, _LINK.c.token == chain.c.token))
    found = db.execute(
        select(_CERT.c.token, _CERT.c.serial, _CERT.c.status)
        .join(chain, chain.c.token == _CERT.c.token)
        .where(_CERT.c.status != CertificateStatus.ISSUED)
        .order_by(_CERT.c.serial, _CERT.c.token)).all()
    return [WithdrawnSource(t, serial, status) for t, serial, status in found]


def get(session: Session, token: str, *, with_uses: bool = False) -> CertificateDetails:
    """A certificate by token with its market checks and sources (and uses, if asked).

    Raises:
        NotFound: no certificate has this token.
    """
    record = session.get(CertificateRecord, token)
    if record is None:
        raise NotFound("not_found", "no certificate has this token")
    details = CertificateDetails(record)
    details.checks = list(session.scalars(
        select(MarketCheck).where(MarketCheck.token == token).order_by(MarketCheck.checked_at)))
    if record.style == CertificateStyle.PURCHASER.value:
        details.sources = [(link, src) for link, src in session.execute(
            select(CertificateSource, CertificateRecord)
            .join(CertificateRecord, CertificateRecord.token == CertificateSource.source_token)
            .where(CertificateSource.token == token)
            .order_by(CertificateSource.source_token)).all()]
        details.withdrawn = withdrawn_sources(session, token)
    if with_uses:
        details.used_by = list(session.scalars(
            select(CertificateSource).where(CertificateSource.source_token == token)))
    return details


def revoke(session: Session, token: str, request: RevokeRequest, who: Principal
           ) -> CertificateRecord:
    """Revoke a certificate (supervisors only); see the module docstring.

    Raises:
        Forbidden: the caller is not a supervisor. NotFound. Conflict: not currently valid.
    """
    if not who.has("supervisor"):
        raise Forbidden("forbidden", "only a supervisor may revoke a certificate")
    record = session.get(CertificateRecord, token, with_for_update=True)
    if record is None:
        raise NotFound("not_found", "no certificate has this token")
    if record.status != CertificateStatus.ISSUED:
        raise Conflict(f"already_{record.status}", f"the certificate is already {record.status}")
    now = utcnow()
    record.status = CertificateStatus.REVOKED
    record.revoked_at, record.revoked_by, record.revoke_reason = now, who.name, request.reason
    log_change(session, entity="certificate", entity_id=token, action="revoked", actor=who.name,
               reason=request.reason, at=now)
    credit.record(session, [(record.producer_id, "revoked_certificate", token, now,
                             request.reason)])
    return record


def record_check(session: Session, token: str, request: CheckRequest, who: Principal
                 ) -> MarketCheck:
    """Record a market's check of a certificate (market keys only).

    Raises:
        Forbidden: not a market key. NotFound. Refused: a rejection without a reason.
    """
    if not who.has("market") or not who.market:
        raise Forbidden("forbidden", "only a market key may record a market check")
    if request.result == "rejected" and not request.reason:
        raise Refused("reason_required", "a rejection needs a reason")
    record = session.get(CertificateRecord, token)
    if record is None:
        raise NotFound("not_found", "no certificate has this token")
    now = utcnow()
    check = MarketCheck(token=token, market=who.market, result=request.result,
                        reason=request.reason, checked_at=now, checked_by=who.name)
    session.add(check)
    session.flush()
    log_change(session, entity="certificate", entity_id=token, action=f"check_{request.result}",
               actor=who.name, reason=request.reason, at=now,
               data={"market": who.market, "check_id": check.id})
    if request.result == "rejected":
        credit.record(session, [(record.producer_id, "market_rejection", f"check-{check.id}",
                                 now, f"{who.market}: {request.reason}")])
    return check


def is_positive(session: Session, record: CertificateRecord) -> bool:
    """Whether anything links the certificate to a non-negative result.

    Its own test summaries, the stored readings they name, and a lot that names the
    certificate but ended ``blocked_positive`` all count.
    """
    tests = record.data.get("tests", []) if isinstance(record.data, dict) else []
    if any(isinstance(t, dict) and t.get("call") == "positive" for t in tests):
        return True
    reading_ids = [t["reading_id"] for t in tests if isinstance(t, dict) and "reading_id" in t]
    if reading_ids and session.scalar(
        select(func.count()).select_from(StripReadingRecord)
        .where(StripReadingRecord.reading_id.in_(reading_ids),
               StripReadingRecord.call == "positive")):
        return True
    return bool(session.scalar(
        select(func.count()).select_from(Lot)
        .where(Lot.certificate_token == record.token,
               Lot.outcome == LotOutcome.BLOCKED_POSITIVE.value)))


def reissue(session: Session, request: ReissueRequest, who: Principal, *,
            public_base_url: str, now: datetime | None = None) -> CertificateRecord:
    """Issue a purchaser's certificate (样式二) from source certificates.

    Raises:
        Forbidden: the caller's role may not re-issue (market and supervisor keys may).
        Refused / Conflict: a source breaks a rule (see the module docstring).
    """
    if not who.has("market", "supervisor"):
        raise Forbidden("forbidden", "only a market or supervisor key may re-issue")
    tokens = [s.token for s in request.sources]
    if len(set(tokens)) != len(tokens):
        raise Refused("duplicate_source", "each source certificate may be named once")
    asked = sum(s.quantity for s in request.sources)
    if abs(asked - request.quantity) > QUANTITY_TOLERANCE * max(asked, request.quantity):
        raise Refused("quantity_mismatch",
                      f"the sources give {asked:g} {request.unit} but the new certificate says "
                      f"{request.quantity:g}: a re-issue must account for exactly what it takes")
    sources = {r.token: r for r in session.scalars(
        select(CertificateRecord).where(CertificateRecord.token.in_(sorted(tokens)))
        .order_by(CertificateRecord.token).with_for_update())}
    used = dict(session.execute(
        select(CertificateSource.source_token, func.sum(CertificateSource.quantity))
        .where(CertificateSource.source_token.in_(sorted(tokens)))
        .group_by(CertificateSource.source_token)).all())
    for use in request.sources:
        _check_source(session, sources.get(use.token), use, request, float(used.get(use.token)
                                                                            or 0.0))
    now = now or utcnow()
    token = secrets.token_urlsafe(16)
    serial = f"RE-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"
    certificate = Certificate(
        token=token, serial=serial, style=CertificateStyle.PURCHASER,
        template_version=TEMPLATE_VERSION, product_code=request.product_code,
        product_name=request.product_name, quantity=request.quantity, unit=request.unit,
        origin_code=request.origin_code, origin_detail=request.origin_detail,
        producer_id=request.purchaser_id, promisor_name=request.purchaser_name,
        promisor_phone=request.purchaser_phone,
        promise=PROMISE_TEXT[CertificateStyle.PURCHASER], basis=request.basis, tests=[],
        issued_at=now, time_synced=True, station_id="cloud", place_code=None,
        verify_url=verify_url(public_base_url, token), sources=sorted(tokens))
    data = certificate.model_dump(mode="json")
    data["market"] = who.market
    record = CertificateRecord(
        token=token, serial=serial, device_id=None, seq=None, origin=CertificateOrigin.CLOUD,
        issued_by=who.name, status=CertificateStatus.ISSUED, style=certificate.style.value,
        product_code=request.product_code, product_name=request.product_name,
        quantity=request.quantity, unit=request.unit, origin_code=request.origin_code,
        producer_id=request.purchaser_id, station_id="cloud", place_code=None, issued_at=now,
        time_synced=True, recorded_at=now, data=data)
    session.add(record)
    session.flush()
    for use in request.sources:
        session.add(CertificateSource(token=token, source_token=use.token,
                                      quantity=use.quantity))
        log_change(session, entity="certificate", entity_id=use.token, action="used_as_source",
                   actor=who.name, at=now, data={"into": token, "quantity": use.quantity})
    log_change(session, entity="certificate", entity_id=token, action="reissued",
               actor=who.name, at=now,
               data={"sources": [s.model_dump() for s in request.sources]})
    session.flush()
    return record


def _check_source(session: Session, source: CertificateRecord | None, use: SourceUse,
                  request: ReissueRequest, used: float) -> None:
    if source is None:
        raise Refused("unknown_source", f"no certificate has the token {use.token}")
    label = f"source {source.serial}"
    if source.status == CertificateStatus.VOIDED:
        raise Conflict("source_voided", f"{label} was voided by its kiosk")
    if source.status == CertificateStatus.REVOKED:
        raise Conflict("source_revoked", f"{label} was revoked by a supervisor")
    if source.product_code != request.product_code:
        raise Refused("product_differs", f"{label} is for {source.product_name}, not "
                      f"{request.product_name}")
    if source.unit.strip().lower() != request.unit.strip().lower():
        raise Refused("units_differ", f"{label} is counted in {source.unit}, the new "
                      f"certificate in {request.unit}: convert before re-issuing")
    if is_positive(session, source):
        raise Conflict("source_positive", f"{label} is linked to a positive result")
    if source.style == CertificateStyle.PURCHASER.value:
        withdrawn = withdrawn_sources(session, source.token)
        if withdrawn:
            names = ", ".join(f"{w.serial} ({w.status})" for w in withdrawn)
            raise Conflict("source_chain_withdrawn", f"{label} was re-issued from {names}: "
                           "a certificate resting on a withdrawn one cannot be re-issued from")
    remaining = source.quantity - used
    if remaining <= QUANTITY_TOLERANCE * source.quantity:
        raise Conflict("source_used_up", f"{label} is already fully used")
    if use.quantity > remaining * (1 + QUANTITY_TOLERANCE):
        raise Refused("exceeds_remaining", f"{label} has {remaining:g} {source.unit} left, not "
                      f"{use.quantity:g}")

