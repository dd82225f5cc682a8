"""What became of each lot brought to the kiosk, in the ledger (``LotEvent``), exactly once.

When a session is about to use its first strip, an *open* row is written for it
(``open_sessions``). Every end of the session closes that row in the same transaction as the
``LotEvent`` it publishes:

- ``certified`` — inside the certificate's own transaction (``CertificateIssuer.issue``'s
  ``same_transaction``), so a certificate and its lot outcome exist together or not at all;
- ``blocked_positive`` — the supervisor's alarm, as soon as a reading is positive;
- ``blocked_unresolved`` — suspect or invalid after the re-tests allowed;
- ``abandoned`` — the person left, the screen timed out, the kiosk refused mid-panel, or the
  power failed (``recover`` at the next start). Published **only if a strip was used** for the
  session (``strip_uses``): a lot nobody tested is not a lot the supervisor needs to hear of,
  while a spent strip (perhaps a suspect reading, then a walk-away) is.

The database decides: closing a row that is already closed publishes nothing, so a timeout
racing a test's end can never report one lot twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from protocol import EventName, LotOutcome

from .outbox import Outbox
from .storage import KioskDatabase

POWER_LOST_NOTE = "the kiosk restarted during this session (power loss or crash)"


class LotBook:
    def __init__(self, db: KioskDatabase, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    def open(self, session_id: str, *, product_code: str, producer_id: str | None,
             quantity: float | None, unit: str | None) -> None:
        """Note that this session may use strips (idempotent; updates the lot's details)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO open_sessions (session_id, product_code, producer_id, quantity, unit,"
                " reading_ids, opened_at) VALUES (?, ?, ?, ?, ?, '[]', ?)"
                " ON CONFLICT (session_id) DO UPDATE SET product_code = excluded.product_code,"
                " producer_id = excluded.producer_id, quantity = excluded.quantity,"
                " unit = excluded.unit",
                (session_id, product_code, producer_id, quantity, unit,
                 datetime.now(UTC).isoformat()),
            )

    def add_readings(self, session_id: str, reading_ids: Sequence[str]) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT reading_ids FROM open_sessions WHERE session_id = ?",
                               (session_id,)).fetchone()
            if row is None:
                return
            ids = [*json.loads(row[0]), *reading_ids]
            conn.execute("UPDATE open_sessions SET reading_ids = ? WHERE session_id = ?",
                         (json.dumps(ids), session_id))

    def is_open(self, session_id: str) -> bool:
        with self.db.read() as conn:
            return conn.execute("SELECT 1 FROM open_sessions WHERE session_id = ?",
                                (session_id,)).fetchone() is not None

    def close(self, session_id: str, outcome: LotOutcome, *, note: str = "",
              certificate_token: str | None = None, conn: sqlite3.Connection | None = None,
              lot: dict[str, object] | None = None) -> bool:
        """Publish the lot's outcome and forget the open row, in one transaction.

        Args:
            conn: an open transaction to join (the certificate's), else a new one.
            lot: the lot's details when no open row holds them (a re-issue after a void).

        Returns:
            True if a ``LotEvent`` was queued; False if the session was already closed (and
            ``lot`` was not given).
        """
        if conn is not None:
            return self._close(conn, session_id, outcome, note, certificate_token, lot)
        with self.db.transaction() as own:
            return self._close(own, session_id, outcome, note, certificate_token, lot)

    def abandon(self, session_id: str, note: str) -> bool:
        """The session ended without an outcome: publish ``abandoned`` if a strip was used.

        Returns:
            True if a ``LotEvent`` was queued.
        """
        with self.db.transaction() as conn:
            return self._abandon(conn, session_id, note)

    def recover(self) -> int:
        """At start-up: sessions the last run left open end as abandoned (if a strip was
        used). Returns how many ``LotEvent`` records were queued."""
        with self.db.transaction() as conn:
            ids = [r[0] for r in conn.execute("SELECT session_id FROM open_sessions")]
            return sum(self._abandon(conn, sid, POWER_LOST_NOTE) for sid in ids)

    # ------------------------------------------------------------------ inside a transaction

    def _abandon(self, conn: sqlite3.Connection, session_id: str, note: str) -> bool:
        used = conn.execute("SELECT count(*) FROM strip_uses WHERE session_id = ?",
                            (session_id,)).fetchone()[0]
        if not used:
            conn.execute("DELETE FROM open_sessions WHERE session_id = ?", (session_id,))
            return False
        return self._close(conn, session_id, LotOutcome.ABANDONED,
                           f"{note} ({used} strip(s) used)", None, None)

    def _close(self, conn: sqlite3.Connection, session_id: str, outcome: LotOutcome,
               note: str, token: str | None, lot: dict[str, object] | None) -> bool:
        row = conn.execute(
            "SELECT product_code, producer_id, quantity, unit, reading_ids FROM open_sessions"
            " WHERE session_id = ?", (session_id,)).fetchone()
        if row is None and lot is None:
            return False
        details: dict[str, object] = dict(lot or {})
        if row is not None:
            details = {"product_code": row[0], "producer_id": row[1], "quantity": row[2],
                       "unit": row[3], "reading_ids": json.loads(row[4]), **details}
        fields = {
            "session_id": session_id,
            "outcome": outcome.value,
            "producer_id": details.get("producer_id"),
            "product_code": details["product_code"],
            "quantity": details.get("quantity"),
            "unit": details.get("unit"),
            "reading_ids": list(details.get("reading_ids") or [])[-64:],  # type: ignore[call-overload]
            "certificate_token": token,
            "note": note[:500],
        }
        self.outbox.append(conn, EventName.LOT, fields)
        conn.execute("DELETE FROM open_sessions WHERE session_id = ?", (session_id,))
        return True
