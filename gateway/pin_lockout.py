"""Wrong PINs counted per producer in the kiosk database, with lockout and back-off.

A 4-digit PIN has 10,000 values; a lock kept in the session's memory and reset by picking the
name again (or by a restart) let a patient person try them all. So the count lives here, in
the kiosk's SQLite database, per producer, and survives going back, another session and a
restart. The rule, with ``attempts`` (``session.pin_attempts``, default 3) and
``max_failures`` (``session.pin_max_failures``, default 9):

- every ``attempts`` wrong PINs in a row lock the name for a while, doubling each time:
  5 minutes, then 10, 20, ... (the farmer is told how long, and that the card still works);
- ``max_failures`` wrong PINs in a row lock the name until station staff unlock it
  (``nongan pins unlock``): at most 9 guesses in 10,000 without a person noticing;
- a right PIN (when not locked) starts the count again; while locked, no PIN is checked at
  all, so a lock is never an oracle for the right one.

Times are the kiosk's wall clock (the lock must survive a restart, and the monotonic clock
does not). A clock set back only makes a lock last longer; one set forward can shorten the
timed locks but never the staff lock, which counts wrong PINs, not time. The producer's card
is not affected: it identifies them without a PIN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .storage import KioskDatabase

LOCK_BASE_S = 300.0
"""The first timed lock; each further one doubles."""
LOCK_MAX_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class PinLock:
    """Why a name may not take a PIN now."""

    failures: int
    until: datetime | None
    """When a timed lock ends; None for a lock only staff can lift."""

    @property
    def needs_staff(self) -> bool:
        return self.until is None

    def minutes_left(self, now: datetime) -> int:
        if self.until is None:
            return 0
        return max(1, math.ceil((self.until - now).total_seconds() / 60))


@dataclass(frozen=True, slots=True)
class PinCheck:
    """What came of one PIN typed for a producer."""

    ok: bool
    lock: PinLock | None = None
    """Set when the name is locked (now, or by this wrong PIN); no PIN was accepted."""
    left: int = 0
    """Wrong PINs left before the next lock (when not locked)."""


class PinLockout:
    """The per-producer count of wrong PINs (see the module docstring).

    Args:
        now: the wall clock (a seam for tests).
    """

    def __init__(self, db: KioskDatabase, *, attempts: int = 3, max_failures: int = 9,
                 now: Callable[[], datetime] | None = None) -> None:
        if not 1 <= attempts <= max_failures:
            raise ValueError("pin attempts must be between 1 and max_failures")
        self.db = db
        self.attempts = attempts
        self.max_failures = max_failures
        self.now = now or (lambda: datetime.now(UTC))

    def lock(self, producer_id: str) -> PinLock | None:
        """The lock on this name now, if any."""
        with self.db.read() as conn:
            row = conn.execute("SELECT failures, locked_until FROM pin_attempts"
                               " WHERE producer_id = ?", (producer_id,)).fetchone()
        return None if row is None else self._lock_of(row[0], row[1])

    def _lock_of(self, failures: int, locked_until: str | None) -> PinLock | None:
        if failures >= self.max_failures:
            return PinLock(failures, None)
        if locked_until is not None:
            until = datetime.fromisoformat(locked_until)
            if until > self.now():
                return PinLock(failures, until)
        return None

    def check(self, producer_id: str, matches: Callable[[], bool]) -> PinCheck:
        """Check a PIN with ``matches`` unless the name is locked, and count a wrong one.

        The slow hash runs outside any write transaction (the outbox must not wait for it); the
        count is then raised in the database itself, so two checks at once both count.
        """
        lock = self.lock(producer_id)
        if lock is not None:
            return PinCheck(False, lock)
        if matches():
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM pin_attempts WHERE producer_id = ?", (producer_id,))
            return PinCheck(True)
        now = self.now()
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO pin_attempts (producer_id, failures, locked_until, last_failure_at)"
                " VALUES (?, 1, NULL, ?) ON CONFLICT (producer_id) DO UPDATE SET"
                " failures = failures + 1, last_failure_at = excluded.last_failure_at",
                (producer_id, now.isoformat()))
            failures = int(conn.execute("SELECT failures FROM pin_attempts WHERE producer_id = ?",
                                        (producer_id,)).fetchone()[0])
            until: datetime | None = None
            if failures < self.max_failures and failures % self.attempts == 0:
                rounds = failures // self.attempts
                until = now + timedelta(seconds=min(LOCK_MAX_S,
                                                    LOCK_BASE_S * 2 ** (rounds - 1)))
                conn.execute("UPDATE pin_attempts SET locked_until = ? WHERE producer_id = ?",
                             (until.isoformat(), producer_id))
        lock = self._lock_of(failures, until.isoformat() if until else None)
        if lock is not None:
            return PinCheck(False, lock)
        left = min(self.attempts - failures % self.attempts, self.max_failures - failures)
        return PinCheck(False, None, left)

    def unlock(self, producer_id: str) -> bool:
        """Lift any lock and forget the wrong PINs (station staff, after checking who it is).

        Returns:
            True if there was anything to forget.
        """
        with self.db.transaction() as conn:
            done = conn.execute("DELETE FROM pin_attempts WHERE producer_id = ?",
                                (producer_id,)).rowcount
        return bool(done)

    def counted(self) -> list[tuple[str, int, PinLock | None]]:
        """Every name with wrong PINs counted: ``(producer_id, failures, lock or None)``."""
        with self.db.read() as conn:
            rows = conn.execute("SELECT producer_id, failures, locked_until FROM pin_attempts"
                                " ORDER BY last_failure_at DESC").fetchall()
        return [(pid, failures, self._lock_of(failures, until)) for pid, failures, until in rows]
