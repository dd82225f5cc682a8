"""Operator and supervisor routes (JSON): fleet, alerts, statistics, producers, devices,
dead letters, certificate history and the exports (CSV, EPCIS 2.0 JSON-LD)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from cloud_bridge.domain import alerts as alert_rules
from cloud_bridge.domain import queries
from cloud_bridge.domain.fleet import KioskHealth, fleet
from cloud_bridge.domain.stats import stats as compute_stats
from cloud_bridge.export import certificates_csv, epcis_document, readings_csv
from cloud_bridge.store.devices import (
    ConfirmationMismatch,
    DeviceNotFound,
    EnrolmentError,
    enroll_device,
    list_devices,
    reenable_device,
    retire_device,
)
from cloud_bridge.store.types import utcnow

from .deps import (
    AnyKey,
    DevicePath,
    OperatorKey,
    ProducerPath,
    SupervisorKey,
    TokenPath,
    readers,
    settings_of,
    writers,
)
from .errors import ApiError
from .operator_responses import (
    AlertView,
    CertificateRow,
    CountView,
    CreditEventView,
    CreditView,
    DayView,
    DeadLetterView,
    DeviceChangedView,
    DeviceChangeRequest,
    DeviceView,
    EnrolledView,
    EnrolRequest,
    HistoryView,
    KioskView,
    KitView,
    ProducerDetail,
    ProducerSummary,
    ReadingRow,
    StatsView,
    WhoAmI,
)
from .responses import ErrorView

router = APIRouter(tags=["operator"])
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorView} for s in (401, 403, 404,
                                                                             409, 422)}
MAX_EXPORT_DAYS = 366


def kiosk_view(k: KioskHealth, now: datetime) -> KioskView:
    return KioskView(
        device_id=k.device_id, station_id=k.station_id, place_code=k.place_code, state=k.state,
        state_since=k.state_since, last_seen=k.last_seen, acked_seq=k.acked_seq,
        max_seq=k.max_seq, seq_gap=list(k.gap) if k.gap else None,
        outbox_pending=k.outbox_pending, outbox_oldest_age_s=k.outbox_oldest_age_s,
        clock_offset_s=k.clock_offset_s, time_synced=k.time_synced,
        disk_free_bytes=k.disk_free_bytes, disk_total_bytes=k.disk_total_bytes,
        software_version=k.software_version, firmware_version=k.firmware_version,
        calibration_state=k.calibration_state, calibration_age_days=k.calibration_age_days(now),
        unsynced_records=k.unsynced_records,
        kits=[KitView(kit_id=x.kit_id, lot=x.lot, expires_on=x.expires_on,
                      strips_left=x.strips_left, days_left=x.days_left) for x in k.kits])


@router.get("/api/v1/whoami", response_model=WhoAmI, responses=ERRORS)
def whoami(who: AnyKey) -> WhoAmI:
    """Which key this is: its name, role and market."""
    return WhoAmI(name=who.name, role=who.role, market=who.market)


@router.get("/api/v1/fleet", response_model=list[KioskView], responses=ERRORS)
def get_fleet(request: Request, who: OperatorKey) -> list[KioskView]:
    """Every enrolled kiosk's health."""
    now = utcnow()
    with readers(request)() as session:
        return [kiosk_view(k, now) for k in fleet(session, now=now)]


@router.get("/api/v1/alerts", response_model=list[AlertView], responses=ERRORS)
def get_alerts(request: Request, who: OperatorKey) -> list[AlertView]:
    """Current alerts, most severe first."""
    with readers(request)() as session:
        found = alert_rules.alerts(session, settings_of(request).dashboard)
    return [AlertView(kind=a.kind, severity=a.severity, device_id=a.device_id,
                      message=a.message, since=a.since, data=a.data) for a in found]


@router.get("/api/v1/stats", response_model=StatsView, responses=ERRORS)
def get_stats(request: Request, who: OperatorKey,
              days: Annotated[int, Query(ge=1, le=366)] = 30) -> StatsView:
    """Tests, positives and certificates by day; positives by product, analyte and place."""
    with readers(request)() as session:
        s = compute_stats(session, days=days)
    return StatsView(
        since=s.since, total_tests=s.total_tests, total_positives=s.total_positives,
        total_certificates=s.total_certificates,
        days=[DayView(day=d, tests=s.tests_by_day.get(d, 0),
                      positives=s.positives_by_day.get(d, 0),
                      invalid=s.invalid_by_day.get(d, 0),
                      certificates=s.certificates_by_day.get(d, 0)) for d in s.days],
        positives_by_product=[CountView(key=k, count=n) for k, n in s.positives_by_product],
        positives_by_analyte=[CountView(key=k, count=n) for k, n in s.positives_by_analyte],
        positives_by_place=[CountView(key=k, count=n) for k, n in s.positives_by_place])


@router.get("/api/v1/producers", response_model=list[ProducerSummary], responses=ERRORS)
def get_producers(request: Request, who: OperatorKey,
                  q: Annotated[str, Query(max_length=100)] = "",
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ProducerSummary]:
    """Producers in the registry (search by id, name, phone or card)."""
    with readers(request)() as session:
        return [_producer_summary(p) for p in queries.list_producers(session, q, limit)]


def _producer_summary(p: Any) -> ProducerSummary:
    return ProducerSummary(producer_id=p.producer_id, kind=p.kind, name=p.name, phone=p.phone,
                           origin_code=p.origin_code, station_id=p.station_id, active=p.active,
                           registered_at=p.registered_at)


@router.get("/api/v1/producers/{producer_id}", response_model=ProducerDetail, responses=ERRORS)
def get_producer(producer_id: ProducerPath, request: Request, who: OperatorKey) -> ProducerDetail:
    """A producer with credit level and events, certificates and test history."""
    with readers(request)() as session:
        record = queries.producer_record(session, producer_id)
        if record is None:
            raise ApiError(404, "not_found", f"no producer {producer_id!r}")
        p = record.producer
        return ProducerDetail(
            **_producer_summary(p).model_dump(), origin_detail=p.origin_detail,
            card_code=p.card_code, registered_by=p.registered_by,
            credit=CreditView(level=record.level.level, points=record.level.points,
                              events_in_window=record.level.events_in_window),
            credit_events=[CreditEventView(kind=e.kind, subject=e.subject, points=e.points,
                                           at=e.at, detail=e.detail) for e in record.events],
            certificates=[CertificateRow(token=c.token, serial=c.serial, status=c.status,
                                         product_name=c.product_name, quantity=c.quantity,
                                         unit=c.unit, recorded_at=c.recorded_at)
                          for c in record.certificates],
            readings=[ReadingRow(reading_id=r.reading_id, device_id=r.device_id,
                                 product_code=r.product_code, analyte_code=r.analyte_code,
                                 call=r.call, recorded_at=r.recorded_at)
                      for r in record.readings])


@router.get("/api/v1/certificates/{token}/history", response_model=list[HistoryView],
            responses=ERRORS)
def get_history(token: TokenPath, request: Request, who: OperatorKey) -> list[HistoryView]:
    """Every change of a certificate: ledger records and cloud-side history, oldest first."""
    with readers(request)() as session:
        items = queries.certificate_history(session, token)
    if not items:
        raise ApiError(404, "not_found", "no certificate has this token")
    return [HistoryView(at=i.at, entity=i.entity, entity_id=i.entity_id,
                        action=i.action, actor=i.actor, reason=i.reason) for i in items]


@router.get("/api/v1/devices", response_model=list[DeviceView], responses=ERRORS)
def get_devices(request: Request, who: OperatorKey) -> list[DeviceView]:
    """Every kiosk ever enrolled."""
    with readers(request)() as session:
        return [_device_view(d) for d in list_devices(session)]


def _device_view(d: Any) -> DeviceView:
    return DeviceView(device_id=d.id, station_id=d.station_id, place_code=d.place_code,
                      state=d.state, enrolled_at=d.enrolled_at, retired_at=d.retired_at,
                      acked_seq=d.acked_seq)


@router.post("/api/v1/devices", response_model=EnrolledView, status_code=201, responses=ERRORS)
def enrol(body: EnrolRequest, request: Request, who: OperatorKey) -> EnrolledView:
    """Enrol a kiosk; the answer holds its broker password, shown this once, and the cloud's
    signing keys it pins."""
    settings = settings_of(request)
    keys = cloud_signing_keys(settings)
    try:
        with writers(request).begin() as session:
            info = enroll_device(session, device_id=body.device_id, public_key=body.public_key,
                                 station_id=body.station_id, place_code=body.place_code,
                                 actor=who.name, reserved=settings.cloud_accounts())
    except EnrolmentError as exc:
        raise ApiError(409, "enrolment_refused", str(exc)) from None
    assert info.broker_password is not None
    return EnrolledView(**_device_view(info).model_dump(), broker_username=info.id,
                        broker_password=info.broker_password, cloud_signing_keys=keys,
                        broker=update_broker(request))


@router.post("/api/v1/devices/{device_id}/retire", response_model=DeviceChangedView,
             responses=ERRORS)
def retire(device_id: DevicePath, body: DeviceChangeRequest, request: Request,
           who: SupervisorKey) -> DeviceChangedView:
    """Retire a kiosk (supervisors only; its id typed again, and a reason): its messages are
    refused and it loses its broker login. ``reenable`` undoes it."""
    try:
        with writers(request).begin() as session:
            info = retire_device(session, device_id, confirm=body.confirm, reason=body.reason,
                                 actor=who.name)
    except EnrolmentError as exc:
        raise _device_change_error("retire_refused", exc) from None
    return DeviceChangedView(**_device_view(info).model_dump(), broker=update_broker(request))


@router.post("/api/v1/devices/{device_id}/reenable", response_model=EnrolledView,
             responses=ERRORS)
def reenable(device_id: DevicePath, body: DeviceChangeRequest, request: Request,
             who: SupervisorKey) -> EnrolledView:
    """Undo a retirement (supervisors only): the kiosk is accepted again with a new broker
    password, shown this once."""
    keys = cloud_signing_keys(settings_of(request))
    try:
        with writers(request).begin() as session:
            info = reenable_device(session, device_id, confirm=body.confirm,
                                   reason=body.reason, actor=who.name)
    except EnrolmentError as exc:
        raise _device_change_error("reenable_refused", exc) from None
    assert info.broker_password is not None
    return EnrolledView(**_device_view(info).model_dump(), broker_username=info.id,
                        broker_password=info.broker_password, cloud_signing_keys=keys,
                        broker=update_broker(request))


def _device_change_error(code: str, exc: EnrolmentError) -> ApiError:
    if isinstance(exc, DeviceNotFound):
        return ApiError(404, code, str(exc))
    if isinstance(exc, ConfirmationMismatch):
        return ApiError(422, "confirmation_mismatch", str(exc))
    return ApiError(409, code, str(exc))


def cloud_signing_keys(settings: Any) -> list[str]:
    """The keys a kiosk pins; 503 when this server has no usable signing key configured."""
    from cloud_bridge.signing import CloudSigner, SigningKeyError

    try:
        return CloudSigner.from_settings(settings.signing).enrolment_keys()
    except SigningKeyError as exc:
        raise ApiError(503, "no_signing_key", str(exc)) from None


def update_broker(request: Request) -> str:
    """Bring the broker in line after a device change; what happened, in words."""
    from cloud_bridge.broker.control import ControlError
    from cloud_bridge.broker.files import BrokerFilesError
    from cloud_bridge.broker.provision import NotConfigured, provision
    from cloud_bridge.pki import PkiError

    try:
        with readers(request)() as session:
            return "updated: " + provision(settings_of(request), session).summary()
    except NotConfigured:
        return "not configured: run `nongan bridge broker-sync` (or broker-files)"
    except (ControlError, BrokerFilesError, PkiError, OSError) as exc:
        return f"not updated ({exc}): run `nongan bridge broker-sync`"


@router.get("/api/v1/dead-letters", response_model=list[DeadLetterView], responses=ERRORS)
def get_dead_letters(request: Request, who: OperatorKey,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeadLetterView]:
    """Messages the cloud refused, newest first (the payloads stay in the database)."""
    with readers(request)() as session:
        return [DeadLetterView(id=d.id, topic=d.topic[:1000], device_id=d.device_id,
                               code=d.code, reason=d.reason, count=d.count,
                               first_seen=d.first_seen, last_seen=d.last_seen, state=d.state,
                               seq=d.seq)
                for d in queries.dead_letters(session, limit)]


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    for given in (since, until):
        if given is not None and not 2000 <= given.year <= 2200:
            raise ApiError(422, "time_out_of_range", "give times between 2000 and 2200")
    until = until or utcnow()
    since = since or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None:
        raise ApiError(422, "naive_time", "give times with a zone, e.g. 2026-11-01T00:00:00Z")
    if since >= until:
        raise ApiError(422, "empty_period", "since must be before until")
    if until - since > timedelta(days=MAX_EXPORT_DAYS):
        raise ApiError(422, "period_too_long", f"export at most {MAX_EXPORT_DAYS} days at once")
    return since.astimezone(UTC), until.astimezone(UTC)


Since = Annotated[datetime | None, Query(description="from (default: 30 days before until)")]
Until = Annotated[datetime | None, Query(description="to, exclusive (default: now)")]


@router.get("/api/v1/export/certificates.csv", responses={200: {"content": {"text/csv": {}}},
                                                          **ERRORS})
def export_certificates(request: Request, who: OperatorKey, since: Since = None,
                        until: Until = None) -> StreamingResponse:
    """Certificates recorded in a period, as CSV (UTF-8 with BOM)."""
    return _csv(request, certificates_csv, "certificates", *_period(since, until))


@router.get("/api/v1/export/readings.csv", responses={200: {"content": {"text/csv": {}}},
                                                      **ERRORS})
def export_readings(request: Request, who: OperatorKey, since: Since = None,
                    until: Until = None) -> StreamingResponse:
    """Strip readings recorded in a period, as CSV (UTF-8 with BOM)."""
    return _csv(request, readings_csv, "readings", *_period(since, until))


def _csv(request: Request, make: Any, name: str, since: datetime, until: datetime
         ) -> StreamingResponse:
    def body() -> Any:
        with readers(request)() as session:
            if session.get_bind().dialect.name == "postgresql":
                # The export streams through a server-side cursor, which PostgreSQL opens only
                # inside a transaction, and the API's readers are AUTOCOMMIT: give this one a
                # real, read-only transaction (one snapshot for the whole file, too). Without
                # it the first fetch failed after the headers had gone: a truncated file.
                session.connection(execution_options={"isolation_level": "REPEATABLE READ",
                                                      "postgresql_readonly": True})
            yield from make(session, since, until)

    filename = f"nongan-{name}-{since:%Y%m%d}-{until:%Y%m%d}.csv"
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/api/v1/export/epcis", responses={200: {"content": {"application/ld+json": {}}},
                                              **ERRORS})
def export_epcis(request: Request, who: OperatorKey, since: Since = None,
                 until: Until = None) -> JSONResponse:
    """Events of a period as a GS1 EPCIS 2.0 JSON-LD document."""
    start, end = _period(since, until)
    with readers(request)() as session:
        try:
            document = epcis_document(session, start, end)
        except ValueError as exc:
            raise ApiError(422, "too_many_events", str(exc)) from None
    return JSONResponse(document, media_type="application/ld+json")
