"""Recording strip readings: the reading row and its ledger record, in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from protocol import EventName, StripReading

from .outbox import Outbox
from .storage import KioskDatabase


@dataclass(frozen=True, slots=True)
class RecordedReading:
    reading: StripReading
    msg_id: str
    seq: int


class ReadingBook:
    def __init__(self, db: KioskDatabase, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    def record(self, reading: StripReading | dict[str, Any]) -> RecordedReading:
        """Commit a reading and queue it for the cloud; returns it with its ledger seq.

        Raises:
            protocol.ProtocolError: the reading does not match the wire contract.
            gateway.storage.StorageError: the database could not commit (nothing was kept).
        """
        if isinstance(reading, dict):
            reading = StripReading.model_validate(reading)
        body = reading.model_dump(mode="json")
        with self.db.transaction() as conn:
            record, sealed = self.outbox.append(conn, EventName.TEST, {"reading": body})
            conn.execute(
                "INSERT INTO readings (reading_id, session_id, product_code, analyte_code, call,"
                " t_c_ratio, scored_at, msg_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (reading.reading_id, reading.session_id, reading.product_code,
                 reading.analyte_code, reading.call.value, reading.t_c_ratio,
                 reading.scored_at.isoformat(), sealed.msg_id, json.dumps(body)),
            )
        return RecordedReading(reading, sealed.msg_id, record.seq)

    def get(self, reading_id: str) -> StripReading | None:
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT body FROM readings WHERE reading_id = ?", (reading_id,)
            ).fetchone()
        return StripReading.model_validate_json(row[0]) if row else None

