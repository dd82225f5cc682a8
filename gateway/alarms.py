"""Alarms: conditions a person must look at, reported once when they start and once when they
end, as ledger records (``event/alarm``) so the cloud hears about them even after days offline.

The set of active alarms is kept in the kiosk database, so a restart neither repeats a raise
nor forgets to clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from protocol import AlarmSeverity, EventName

from .outbox import Outbox
from .storage import KioskDatabase


@dataclass(frozen=True, slots=True)
class ActiveAlarm:
    code: str
    subject: str
    severity: AlarmSeverity
    message: str
    raised_at: datetime


class AlarmBook:
    def __init__(self, db: KioskDatabase, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    def raise_alarm(self, code: str, message: str, *, subject: str = "",
                    severity: AlarmSeverity = AlarmSeverity.WARNING) -> bool:
        """Raise ``code`` (for ``subject``) unless it is already active; True if newly raised."""
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM alarms_active WHERE code = ? AND subject = ?",
                            (code, subject)).fetchone():
                return False
            conn.execute(
                "INSERT INTO alarms_active (code, subject, severity, message, raised_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (code, subject, severity.value, message, datetime.now(UTC).isoformat()),
            )
            self.outbox.append(conn, EventName.ALARM, {
                "code": code, "state": "raised", "severity": severity.value,
                "subject": subject or None, "message": message,
            })
        return True

    def clear_alarm(self, code: str, message: str = "back to normal", *,
                    subject: str = "") -> bool:
        """Clear ``code`` (for ``subject``) if active; True if it was."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT severity FROM alarms_active WHERE code = ? AND subject = ?",
                (code, subject),
            ).fetchone()
            if row is None:
                return False
            conn.execute("DELETE FROM alarms_active WHERE code = ? AND subject = ?",
                         (code, subject))
            self.outbox.append(conn, EventName.ALARM, {
                "code": code, "state": "cleared", "severity": row[0],
                "subject": subject or None, "message": message,
            })
        return True

    def active(self) -> list[ActiveAlarm]:
        return read_active_alarms(self.db)


def read_active_alarms(db: KioskDatabase) -> list[ActiveAlarm]:
    """The alarms raised and not yet cleared (also for tools without a signing key)."""
    with db.read() as conn:
        rows = conn.execute(
            "SELECT code, subject, severity, message, raised_at FROM alarms_active"
            " ORDER BY raised_at"
        ).fetchall()
    return [ActiveAlarm(r[0], r[1], AlarmSeverity(r[2]), r[3],
                        datetime.fromisoformat(r[4])) for r in rows]
