"""What the public API returns: JSON shapes (pydantic models, so OpenAPI documents them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cloud_bridge.domain.certificates import CertificateDetails
from cloud_bridge.domain.times import ShownTime

from .masking import mask_free_text, mask_name, mask_phone


class ErrorView(BaseModel):
    error: str = Field(description="A stable code: not_found, malformed_token, ...")
    detail: str = Field(description="What was wrong, in words.")


class WorkerHealthView(BaseModel):
    client_id: str
    state: str = Field(description="running, retrying, stopped or crashed (as it last wrote)")
    heartbeat_age_s: float
    in_hand: int = Field(description="messages received and not yet acknowledged")
    oldest_in_hand_age_s: float | None
    last_error: str | None
    problem: str | None


class IngestHealthView(BaseModel):
    status: str = Field(description="ok, stalled (the stream is not moving) or attention "
                        "(a person must act: dead letters, a kiosk's backlog)")
    problems: list[str]
    workers: list[WorkerHealthView]
    dead_letters_open: int
    oldest_dead_letter_age_s: float | None


class HealthView(BaseModel):
    status: str = Field(description="ok, degraded (see ingest) or unavailable")
    database: str
    ingest: IngestHealthView | None = Field(
        default=None, description="present once an ingest worker has reported, or when "
        "dead letters or a kiosk's backlog wait")


class VoidView(BaseModel):
    reason: str | None
    voided_at: datetime | None = Field(description="The kiosk's clock when it was voided.")


class RevocationView(BaseModel):
    reason: str | None
    revoked_at: datetime | None = Field(description="The cloud's clock.")


class CheckView(BaseModel):
    market: str
    result: str = Field(description="accepted or rejected")
    reason: str | None
    checked_at: datetime


class SourceView(BaseModel):
    token: str
    serial: str
    product_name: str
    quantity: float = Field(description="Taken from the source, in its unit.")
    unit: str
    status: str


class WithdrawnSourceView(BaseModel):
    token: str
    serial: str
    status: str = Field(description="voided or revoked")


class ReadingSummaryView(BaseModel):
    analyte_code: str
    analyte_name: str
    kit_id: str
    kit_lot: str
    call: str
    t_c_ratio: float | None = None


class CertificateView(BaseModel):
    """A certificate as anyone holding its token may see it, personal data masked."""

    token: str
    serial: str
    status: str = Field(description="issued, voided (by its kiosk) or revoked")
    valid: bool = Field(description="Issued, and (for a re-issue) no source up its chain was "
                        "voided or revoked.")
    style: str
    template_version: str
    product_code: str
    product_name: str
    quantity: float
    unit: str
    origin_code: str
    origin_detail: str
    producer_id: str
    promisor_name: str = Field(description="Masked: the family name and stars.")
    promisor_phone: str = Field(description="Masked: e.g. 138****1234.")
    promise: str
    basis: list[str]
    tests: list[ReadingSummaryView]
    issued_at: datetime = Field(description="The kiosk's clock when it was issued.")
    time_synced: bool = Field(description="Whether that clock had been synchronised.")
    shown_issued_at: datetime = Field(
        description="The time to show: the kiosk's clock if synchronised, else corrected or "
        "the cloud's receive time (see time_source); never a 1970 date.")
    time_source: str = Field(description="kiosk, corrected or received")
    station_id: str
    place_code: str | None
    device_id: str | None = Field(description="The issuing kiosk; None for a cloud re-issue.")
    origin: str = Field(description="kiosk, or cloud (a purchaser's re-issue)")
    verify_url: str
    sources: list[SourceView]
    source_withdrawn: list[WithdrawnSourceView] = Field(
        default_factory=list,
        description="Re-issues: the voided or revoked certificates up its chain of sources.")
    recorded_at: datetime = Field(description="When the cloud received it.")
    voided: VoidView | None = None
    revoked: RevocationView | None = None
    checks: list[CheckView] = Field(default_factory=list)


def _masked(text: str | None) -> str | None:
    # Free text anyone holding the token sees: a reason may quote a phone or an ID number.
    return None if text is None else mask_free_text(text)


def certificate_view(details: CertificateDetails, shown: ShownTime) -> CertificateView:
    record = details.record
    data: dict[str, Any] = record.data
    voided = revoked = None
    if record.void_seq is not None:
        voided = VoidView(reason=_masked(record.void_reason), voided_at=record.voided_at)
    if record.status == "revoked":
        revoked = RevocationView(reason=_masked(record.revoke_reason),
                                 revoked_at=record.revoked_at)
    return CertificateView(
        token=record.token,
        serial=record.serial,
        status=record.status,
        valid=record.status == "issued" and not details.withdrawn,
        style=record.style,
        template_version=data.get("template_version", ""),
        product_code=record.product_code,
        product_name=mask_free_text(record.product_name),
        quantity=record.quantity,
        unit=record.unit,
        origin_code=record.origin_code,
        origin_detail=mask_free_text(data.get("origin_detail", "")),
        producer_id=record.producer_id,
        promisor_name=mask_name(data.get("promisor_name", "")),
        promisor_phone=mask_phone(data.get("promisor_phone", "")),
        promise=data.get("promise", ""),
        basis=list(data.get("basis", [])),
        tests=[ReadingSummaryView.model_validate(t) for t in data.get("tests", [])
               if isinstance(t, dict)],
        issued_at=record.issued_at,
        time_synced=record.time_synced,
        shown_issued_at=shown.at,
        time_source=shown.source,
        station_id=record.station_id,
        place_code=record.place_code,
        device_id=record.device_id,
        origin=record.origin,
        verify_url=data.get("verify_url", ""),
        sources=[SourceView(token=src.token, serial=src.serial, product_name=src.product_name,
                            quantity=link.quantity, unit=src.unit, status=src.status)
                 for link, src in details.sources],
        source_withdrawn=[WithdrawnSourceView(token=w.token, serial=w.serial, status=w.status)
                          for w in details.withdrawn],
        recorded_at=record.recorded_at,
        voided=voided,
        revoked=revoked,
        checks=[CheckView(market=c.market, result=c.result, reason=_masked(c.reason),
                          checked_at=c.checked_at) for c in details.checks],
    )
