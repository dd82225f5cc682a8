"""What the cloud does with each kind of kiosk message: one handler per type, in a table.

``LEDGER_HANDLERS`` holds, per ledger message type (``protocol.registry``): the action and
subject of its ``ledger`` row, the rows it adds to its own tables, what its kiosk may not claim
in it (``claims``), the producer it names (whose station must be the kiosk's) and the
certificate it voids. ``SIDE_HANDLERS`` holds the snapshots and answers (status, telemetry,
command results): their table, row and key. The writer and the ledger look a message's
handler up by its type; there is no chain of ``isinstance`` to extend.

Importing this module checks the tables against the registry: a kiosk message type without a
handler (or a handler for none) fails at once, not on the first such message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud_bridge.store.models import (
    Base,
    CertificateRecord,
    CommandResultRecord,
    DeviceStatus,
    LatestTelemetry,
    StripReadingRecord,
)
from cloud_bridge.store.registry_models import Lot
from protocol import (
    AlarmEvent,
    CertificateEvent,
    CertificateIssued,
    CertificateVoided,
    CommandResult,
    LotEvent,
    ProducerEvent,
    StatusMessage,
    Telemetry,
    TestReadingEvent,
)
from protocol.registry import LEDGER_MODELS, MESSAGE_TYPES, Party

from . import claims, rows
from .inbound import Accepted, Rejection

Row = dict[str, Any]
Claims = Callable[[Accepted, Sequence[str]], Rejection | None]


@dataclass(frozen=True, slots=True)
class TableRows:
    """One table a message type adds a row to, and how (None: no row for this message)."""

    table: type[Base]
    row: Callable[[Accepted], Row | None]


def _no_claims(item: Accepted, public_base_urls: Sequence[str]) -> Rejection | None:
    return None


@dataclass(frozen=True, slots=True)
class LedgerHandler:
    model: type[Any]
    subject: Callable[[Any], tuple[str | None, str]]
    """The ledger row's (action, subject): what happened, to what (a token, a producer id)."""
    tables: tuple[TableRows, ...] = ()
    claims: Claims = _no_claims
    producer_named: Callable[[Any], str | None] = lambda msg: None
    """The producer a record names (checked against its kiosk's station)."""
    voids: Callable[[Accepted], CertificateVoided | None] = lambda item: None

    def ledger_row(self, item: Accepted) -> Row:
        return rows.ledger_row(item, *self.subject(item.message))


@dataclass(frozen=True, slots=True)
class SideHandler:
    model: type[Any]
    table: type[Base]
    row: Callable[[Accepted], Row]
    key: str
    """The table's key: one row per device (the latest wins) or per message."""


def _certificate_subject(msg: CertificateEvent) -> tuple[str | None, str]:
    body = msg.body
    token = body.certificate.token if isinstance(body, CertificateIssued) else body.token
    return body.action, token


def _certificate_producer(msg: CertificateEvent) -> str | None:
    return msg.body.certificate.producer_id if isinstance(msg.body, CertificateIssued) else None


LEDGER_HANDLERS: dict[type[Any], LedgerHandler] = {h.model: h for h in (
    # In this order their own rows are inserted (certificates before readings before lots).
    LedgerHandler(CertificateEvent, _certificate_subject,
                  tables=(TableRows(CertificateRecord, rows.certificate_row),),
                  claims=claims.certificate_claims, producer_named=_certificate_producer,
                  voids=rows.void_of),
    LedgerHandler(TestReadingEvent, lambda msg: (None, msg.reading.reading_id),
                  tables=(TableRows(StripReadingRecord, rows.reading_row),)),
    LedgerHandler(ProducerEvent, lambda msg: (msg.action, msg.producer.producer_id)),
    # The outcome lives in the lots table; the ledger row names the session.
    LedgerHandler(LotEvent, lambda msg: (None, msg.session_id),
                  tables=(TableRows(Lot, rows.lot_row),), claims=claims.lot_claims,
                  producer_named=lambda msg: msg.producer_id),
    LedgerHandler(AlarmEvent, lambda msg: (msg.state, msg.code)),
)}
"""One handler per ledger message type."""

SIDE_HANDLERS: dict[type[Any], SideHandler] = {h.model: h for h in (
    SideHandler(StatusMessage, DeviceStatus, rows.status_row, key="device_id"),
    SideHandler(Telemetry, LatestTelemetry, rows.telemetry_row, key="device_id"),
    SideHandler(CommandResult, CommandResultRecord, rows.command_result_row, key="msg_id"),
)}
"""One handler per kiosk message that is not a ledger record (kept, not acknowledged)."""

ROW_TABLES: tuple[type[Base], ...] = tuple(dict.fromkeys(
    t.table for h in LEDGER_HANDLERS.values() for t in h.tables))
"""The ledger records' own tables, in the order their rows are inserted."""


def ledger_handler(item: Accepted) -> LedgerHandler:
    return LEDGER_HANDLERS[type(item.message)]


def own_rows(items: Sequence[Accepted]) -> dict[type[Base], list[Row]]:
    """The rows ``items`` (ledger records) add to their own tables, by table, in the order of
    ``ROW_TABLES``."""
    found: dict[type[Base], list[Row]] = {table: [] for table in ROW_TABLES}
    for item in items:
        for made in ledger_handler(item).tables:
            row = made.row(item)
            if row is not None:
                found[made.table].append(row)
    return found


def check_claims(item: Accepted, public_base_urls: Sequence[str] = ()) -> Rejection | None:
    """What the record's kiosk may not claim in it (``ingest.claims``); None for messages
    that are not ledger records."""
    handler = LEDGER_HANDLERS.get(type(item.message))
    return handler.claims(item, public_base_urls) if handler is not None else None


def producer_named(item: Accepted) -> str | None:
    return ledger_handler(item).producer_named(item.message)


def void_of(item: Accepted) -> CertificateVoided | None:
    return ledger_handler(item).voids(item)


def check_handlers(ledger: Mapping[type[Any], LedgerHandler],
                   side: Mapping[type[Any], SideHandler]) -> None:
    """Raise ``RuntimeError`` unless every kiosk message type of the registry has exactly one
    handler (a batch envelope has none: its records are handled one by one)."""
    wanted = set(LEDGER_MODELS)
    if set(ledger) != wanted:
        raise RuntimeError("cloud_bridge.ingest.handlers: ledger handlers for "
                           f"{sorted(m.__name__ for m in ledger)}, but the registry's "
                           f"ledger types are {sorted(m.__name__ for m in wanted)}")
    others = {t.model for t in MESSAGE_TYPES
              if t.sender is Party.KIOSK and t.signed and not t.ledger}
    if set(side) != others:
        raise RuntimeError("cloud_bridge.ingest.handlers: side handlers for "
                           f"{sorted(m.__name__ for m in side)}, but the registry's "
                           f"other kiosk messages are {sorted(m.__name__ for m in others)}")


check_handlers(LEDGER_HANDLERS, SIDE_HANDLERS)
