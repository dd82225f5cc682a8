"""Read-only lookups the operator API and the dashboard share."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import (
    CertificateRecord,
    DeadLetter,
    LedgerRecord,
    StripReadingRecord,
)
from cloud_bridge.store.registry_models import CreditEvent, HistoryEntry, Producer

from . import credit

LIKE_ESCAPE = "\\"
"""The escape character of the LIKE patterns made with ``like_escape``."""


def like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (use with ``escape=LIKE_ESCAPE``): its
    ``%``, ``_`` and escape characters match themselves, not any text."""
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
            .replace("_", LIKE_ESCAPE + "_"))


@dataclass
class ProducerRecord:
    producer: Producer
    level: credit.CreditLevel
    events: list[CreditEvent] = field(default_factory=list)
    certificates: list[CertificateRecord] = field(default_factory=list)
    readings: list[StripReadingRecord] = field(default_factory=list)


def list_producers(session: Session, query: str = "", limit: int = 100) -> list[Producer]:
    """Producers matching ``query`` (id, name, phone or card), newest first."""
    stmt = select(Producer).order_by(Producer.updated_at.desc()).limit(limit)
    if query:
        like = f"%{like_escape(query)}%"
        stmt = stmt.where(or_(*(column.like(like, escape=LIKE_ESCAPE) for column in (
            Producer.producer_id, Producer.name, Producer.phone, Producer.card_code))))
    return list(session.scalars(stmt))


def producer_record(session: Session, producer_id: str, limit: int = 50
                    ) -> ProducerRecord | None:
    """A producer with credit, recent certificates and test history; None if unknown."""
    producer = session.get(Producer, producer_id)
    if producer is None:
        return None
    events = credit.events_of(session, producer_id)
    n_certs = session.scalar(select(func.count()).select_from(CertificateRecord)
                             .where(CertificateRecord.producer_id == producer_id)) or 0
    level = credit.level_from([(e.points, e.at) for e in events], has_certificates=n_certs > 0)
    certs = list(session.scalars(
        select(CertificateRecord).where(CertificateRecord.producer_id == producer_id)
        .order_by(CertificateRecord.recorded_at.desc()).limit(limit)))
    readings = list(session.scalars(
        select(StripReadingRecord).where(StripReadingRecord.producer_id == producer_id)
        .order_by(StripReadingRecord.recorded_at.desc()).limit(limit)))
    return ProducerRecord(producer, level, events, certs, readings)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    at: object
    entity: str
    entity_id: str
    action: str
    actor: str
    reason: str | None


def certificate_history(session: Session, token: str) -> list[HistoryItem]:
    """Everything that happened to a certificate: its ledger records (issued, voided; by the
    cloud's receive time) and the cloud's history rows, oldest first."""
    items = [HistoryItem(row.received_at, "certificate", token, row.action or row.kind,
                         f"kiosk:{row.device_id}", None)
             for row in session.scalars(select(LedgerRecord).where(
                 LedgerRecord.subject == token, LedgerRecord.kind == "certificate"))]
    items += [HistoryItem(h.at, h.entity, h.entity_id, h.action, h.actor, h.reason)
              for h in session.scalars(select(HistoryEntry).where(
                  HistoryEntry.entity == "certificate", HistoryEntry.entity_id == token))]
    return sorted(items, key=lambda i: i.at)  # type: ignore[arg-type, return-value]


def search_certificates(session: Session, query: str = "", limit: int = 100
                        ) -> list[CertificateRecord]:
    """Certificates by token, serial or producer id (exact or prefix), newest first."""
    stmt = select(CertificateRecord).order_by(CertificateRecord.recorded_at.desc()).limit(limit)
    if query:
        prefix = like_escape(query) + "%"
        stmt = stmt.where(or_(CertificateRecord.token == query,
                              CertificateRecord.serial.like(prefix, escape=LIKE_ESCAPE),
                              CertificateRecord.producer_id == query))
    return list(session.scalars(stmt))


def dead_letters(session: Session, limit: int = 100) -> list[DeadLetter]:
    return list(session.scalars(select(DeadLetter).order_by(DeadLetter.last_seen.desc())
                                .limit(limit)))
