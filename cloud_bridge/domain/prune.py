"""Retention: delete records older than the retention period (default 2 years), never a
certificate still within it, and never evidence a rule still reads.

The longest window a rule reads is the credit rule's 365 days (``credit.WINDOW``: a positive
result counts against a producer for a year). A retention shorter than that would delete credit
events inside the window and silently raise a producer's level (D to A), so it is refused, like
one shorter than the measures' 180 days (``minimum_retention_days``).

Age is judged by the cloud's receive time (``recorded_at`` / ``received_at``), never by a kiosk
clock that may read 1970. A certificate past retention is still kept while a certificate within
retention names it as a source (the purchaser's chain must stay verifiable), and a ledger row is
kept while a kept certificate refers to it. Producers (the registry) and API keys are not
pruned. Each run that deletes something adds one history row with the counts.

The ack watermark makes pruning safe for ingest: a pruned record that a kiosk sends again is
below its watermark and is acknowledged as a duplicate (``ingest.ledger``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from cloud_bridge.store.models import (
    CertificateRecord,
    CommandResultRecord,
    DeadLetter,
    LedgerRecord,
    StripReadingRecord,
)
from cloud_bridge.store.registry_models import (
    CertificateSource,
    CreditEvent,
    HistoryEntry,
    Lot,
    MarketCheck,
)
from cloud_bridge.store.types import utcnow

from . import credit
from .history import log_change

LEGAL_MINIMUM_DAYS = 180
"""MARA Order 2025 No. 4: records kept at least 6 months."""


def minimum_retention_days() -> int:
    """The shortest retention allowed: the legal minimum, or the longest window a rule reads."""
    return max(LEGAL_MINIMUM_DAYS, credit.WINDOW.days)


def check_retention(days: int) -> int:
    """``days`` if it is an allowed retention.

    Raises:
        ValueError: shorter than the legal minimum or than a rule's window (says which).
    """
    if days < LEGAL_MINIMUM_DAYS:
        raise ValueError(f"retention must be at least {LEGAL_MINIMUM_DAYS} days "
                         "(MARA Order 2025 No. 4)")
    if days < credit.WINDOW.days:
        raise ValueError(f"retention of {days} days is shorter than the credit rule's "
                         f"{credit.WINDOW.days}-day window: pruning would delete the evidence "
                         "a producer's credit level is computed from; keep at least "
                         f"{minimum_retention_days()} days")
    return days


@dataclass
class PruneReport:
    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def prune(session: Session, *, retention_days: int, now: datetime | None = None,
          dry_run: bool = False, actor: str = "prune") -> PruneReport:
    """Delete what is past retention, inside the caller's transaction.

    Args:
        retention_days: how long records are kept (at least ``minimum_retention_days()``).
        dry_run: count what would go, delete nothing.

    Raises:
        ValueError: a retention shorter than the measures' 180 days or a rule's window.
    """
    check_retention(retention_days)
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    report = PruneReport(cutoff)
    cert = CertificateRecord
    newer = aliased(CertificateRecord)
    # A certificate goes when it is old and no certificate within retention takes from it.
    # (Stable across the deletes below: a protected source's links are never deleted.)
    oc = aliased(CertificateRecord)
    old_certs = select(oc.token).where(
        oc.recorded_at < cutoff,
        ~exists().where(and_(CertificateSource.source_token == oc.token,
                             CertificateSource.token == newer.token,
                             newer.recorded_at >= cutoff)),
    ).scalar_subquery()
    kept_cert = aliased(CertificateRecord)
    # Runs after the certificates are deleted: a row a remaining certificate names stays.
    refers = and_(kept_cert.device_id == LedgerRecord.device_id,
                  or_(kept_cert.seq == LedgerRecord.seq, kept_cert.void_seq == LedgerRecord.seq))
    if dry_run:
        # Nothing was deleted: the old certificates are still there, and must not keep the
        # ledger rows they name, or the count would fall short of what a real run deletes.
        refers = and_(refers, kept_cert.token.not_in(old_certs))
    old_ledger = and_(LedgerRecord.received_at < cutoff, ~exists().where(refers))
    plan = [
        ("market_checks", delete(MarketCheck).where(MarketCheck.token.in_(old_certs))),
        ("certificate_sources", delete(CertificateSource).where(
            or_(CertificateSource.token.in_(old_certs),
                CertificateSource.source_token.in_(old_certs)))),
        ("certificates", delete(cert).where(cert.token.in_(old_certs))),
        ("strip_readings", delete(StripReadingRecord).where(
            StripReadingRecord.recorded_at < cutoff)),
        ("lots", delete(Lot).where(Lot.recorded_at < cutoff)),
        ("ledger", delete(LedgerRecord).where(old_ledger)),
        ("dead_letters", delete(DeadLetter).where(DeadLetter.last_seen < cutoff)),
        ("command_results", delete(CommandResultRecord).where(
            CommandResultRecord.received_at < cutoff)),
        ("credit_events", delete(CreditEvent).where(CreditEvent.at < cutoff)),
        ("history", delete(HistoryEntry).where(HistoryEntry.at < cutoff)),
    ]
    for name, statement in plan:
        if dry_run:
            where: Any = statement.whereclause
            counted = select(func.count()).select_from(statement.table).where(where)
            report.deleted[name] = int(session.execute(counted).scalar() or 0)
        else:
            result = session.execute(statement.execution_options(synchronize_session=False))
            report.deleted[name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if not dry_run and report.total:
        log_change(session, entity="store", entity_id="retention", action="pruned", actor=actor,
                   data={"cutoff": cutoff.isoformat(), "deleted": report.deleted})
    return report
