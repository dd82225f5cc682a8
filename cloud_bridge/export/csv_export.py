"""CSV exports of certificates and strip readings, streamed row by row.

Only ids identify producers here (no names or phones): an export leaves the system, so it
carries no more personal data than the analysis needs. Times are UTC ISO 8601; the kiosk's
time comes with its ``time_synced`` flag and the cloud's receive time beside it. A UTF-8 BOM
starts the file so that spreadsheet programs read the Chinese product names right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.store.models import CertificateRecord, StripReadingRecord

CERTIFICATE_COLUMNS = (
    "token", "serial", "status", "style", "origin", "product_code", "product_name", "quantity",
    "unit", "origin_code", "producer_id", "station_id", "device_id", "issued_at", "time_synced",
    "recorded_at", "void_reason", "revoke_reason",
)
READING_COLUMNS = (
    "reading_id", "device_id", "seq", "session_id", "producer_id", "product_code",
    "analyte_code", "kit_id", "kit_lot", "kit_expires_on", "call", "t_c_ratio", "reader_id",
    "scored_at", "time_synced", "recorded_at",
)


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # never let a spreadsheet run a cell as a formula
    return "" if value is None else value


def _stream(session: Session, query: object, columns: tuple[str, ...]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    for row in session.scalars(query.execution_options(yield_per=1000)):  # type: ignore[attr-defined]
        writer.writerow([_cell(getattr(row, c)) for c in columns])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def certificates_csv(session: Session, since: datetime, until: datetime) -> Iterator[str]:
    """Certificates recorded by the cloud in ``[since, until)``, oldest first."""
    c = CertificateRecord
    return _stream(session, select(c).where(c.recorded_at >= since, c.recorded_at < until)
                   .order_by(c.recorded_at, c.token), CERTIFICATE_COLUMNS)


def readings_csv(session: Session, since: datetime, until: datetime) -> Iterator[str]:
    """Strip readings recorded by the cloud in ``[since, until)``, oldest first."""
    r = StripReadingRecord
    return _stream(session, select(r).where(r.recorded_at >= since, r.recorded_at < until)
                   .order_by(r.recorded_at, r.reading_id), READING_COLUMNS)
