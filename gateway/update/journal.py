"""The update journal: every step of every software and firmware update, in the kiosk database.

One row per transition, never updated (except ``reported_at``, for the report to the cloud
that a later change adds): ``update_id``, kind, version, the version it replaces, the state,
the reason in words, the time, and details as JSON. The last row of an update is its state.

Software::

    downloading ──> downloaded ──> staged ──> switched ──> healthy ──> rolled_back (by hand)
         │              │            │            └──────> rolled_back (by itself: the reason)
         └──> failed    └──> refused └──> failed (never idle; install failed: nothing switched)

    refused (bad signature, changed file, wrong version: nothing changed)

Firmware::

    verified ──> flashed | restored (the board came back on its old firmware) | failed
    refused

The journal lives in ``kiosk.db`` so that the running kiosk, the guard (which runs from the
previous release while the new one is checked) and ``nongan doctor`` read the same thing, and
so that a later report to the cloud can be committed with the outbox in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ..storage import KioskDatabase
from .errors import JournalError


class Kind(StrEnum):
    SOFTWARE = "software"
    FIRMWARE = "firmware"


class State(StrEnum):
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    STAGED = "staged"
    SWITCHED = "switched"
    HEALTHY = "healthy"
    ROLLED_BACK = "rolled_back"
    REFUSED = "refused"
    FAILED = "failed"
    VERIFIED = "verified"
    FLASHED = "flashed"
    RESTORED = "restored"


# From the last state of an update (None: a new update) to the states it may enter.
TRANSITIONS: dict[Kind, dict[State | None, frozenset[State]]] = {
    Kind.SOFTWARE: {
        None: frozenset({State.DOWNLOADING, State.REFUSED, State.FAILED, State.ROLLED_BACK}),
        State.DOWNLOADING: frozenset({State.DOWNLOADED, State.REFUSED, State.FAILED}),
        State.DOWNLOADED: frozenset({State.STAGED, State.REFUSED, State.FAILED}),
        State.STAGED: frozenset({State.SWITCHED, State.FAILED}),
        State.SWITCHED: frozenset({State.HEALTHY, State.ROLLED_BACK, State.FAILED}),
        State.HEALTHY: frozenset({State.ROLLED_BACK}),
    },
    Kind.FIRMWARE: {
        None: frozenset({State.VERIFIED, State.REFUSED, State.FAILED}),
        State.VERIFIED: frozenset({State.FLASHED, State.RESTORED, State.FAILED}),
    },
}
TERMINAL = frozenset({State.HEALTHY, State.ROLLED_BACK, State.REFUSED, State.FAILED,
                      State.FLASHED, State.RESTORED})


@dataclass(frozen=True)
class Entry:
    """One row of the journal."""

    id: int
    update_id: str
    kind: Kind
    version: str
    from_version: str | None
    state: State
    reason: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"update_id": self.update_id, "kind": self.kind.value, "version": self.version,
                "from_version": self.from_version, "state": self.state.value,
                "reason": self.reason, "at": self.at.isoformat(), "detail": self.detail}


class UpdateJournal:
    """Read and append update transitions.

    Args:
        db: the kiosk database (migration ``0009_update_journal``).
        now: the clock that stamps entries.
    """

    def __init__(self, db: KioskDatabase,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self._now = now

    def record(self, update_id: str, kind: Kind, state: State, *, version: str,
               from_version: str | None = None, reason: str = "",
               detail: dict[str, Any] | None = None) -> Entry:
        """Append a transition; refuses one the state machine does not allow.

        Raises:
            JournalError: the update's last state does not lead to ``state``.
        """
        at = self._now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state FROM update_journal WHERE update_id = ? "
                               "ORDER BY id DESC LIMIT 1", (update_id,)).fetchone()
            last = State(row[0]) if row is not None else None
            allowed = TRANSITIONS[kind].get(last, frozenset())
            if state not in allowed:
                raise JournalError(f"update {update_id}: {last} -> {state} is not allowed")
            cur = conn.execute(
                "INSERT INTO update_journal (update_id, kind, version, from_version, state, "
                "reason, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (update_id, kind.value, version, from_version, state.value, reason,
                 at.isoformat(), json.dumps(detail or {}, ensure_ascii=False, sort_keys=True)))
            row_id = cur.lastrowid
        assert row_id is not None
        return Entry(row_id, update_id, kind, version, from_version, state, reason, at,
                     dict(detail or {}))

    def history(self, update_id: str | None = None, *, kind: Kind | None = None,
                limit: int = 100) -> list[Entry]:
        """Entries, newest first (of one update, or of every update)."""
        where, args = [], []
        if update_id is not None:
            where.append("update_id = ?")
            args.append(update_id)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind.value)
        sql = ("SELECT id, update_id, kind, version, from_version, state, reason, at, detail "
               "FROM update_journal" + (" WHERE " + " AND ".join(where) if where else "") +
               " ORDER BY id DESC LIMIT ?")
        rows = self._query(sql, (*args, limit))
        return [_entry(row) for row in rows]

    def last(self, update_id: str) -> Entry | None:
        entries = self.history(update_id, limit=1)
        return entries[0] if entries else None

    def latest(self, kind: Kind) -> Entry | None:
        """The newest entry of the newest update of ``kind``."""
        entries = self.history(kind=kind, limit=1)
        return entries[0] if entries else None

    def last_outcome(self, kind: Kind) -> Entry | None:
        """The newest entry that ended an update of ``kind`` (healthy, rolled back, ...)."""
        marks = ",".join("?" * len(TERMINAL))
        rows = self._query(
            "SELECT id, update_id, kind, version, from_version, state, reason, at, detail "
            f"FROM update_journal WHERE kind = ? AND state IN ({marks}) "
            "ORDER BY id DESC LIMIT 1", (kind.value, *sorted(s.value for s in TERMINAL)))
        return _entry(rows[0]) if rows else None

    def open_updates(self, kind: Kind = Kind.SOFTWARE) -> list[Entry]:
        """The last entry of every update of ``kind`` that has not ended."""
        rows = self._query(
            "SELECT j.id, j.update_id, j.kind, j.version, j.from_version, j.state, j.reason, "
            "j.at, j.detail FROM update_journal j JOIN (SELECT update_id, MAX(id) AS id FROM "
            "update_journal WHERE kind = ? GROUP BY update_id) m ON j.id = m.id "
            "ORDER BY j.id DESC", (kind.value,))
        return [e for e in map(_entry, rows) if e.state not in TERMINAL]

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        with self.db.read() as conn:
            return conn.execute(sql, args).fetchall()


def _entry(row: Any) -> Entry:
    return Entry(int(row[0]), row[1], Kind(row[2]), row[3], row[4], State(row[5]), row[6],
                 datetime.fromisoformat(row[7]), json.loads(row[8]))
