"""The durable outbox: nothing leaves the kiosk except through here.

A ledger record (a strip reading, a certificate event) is sealed and written to the ``outbox``
table inside the *caller's* transaction, together with the record it carries, so the two exist
together or not at all. Each gets the next ``seq``: 1, 2, 3, ... across reboots, never reused.

States: ``pending`` (to publish) -> ``sent`` (the broker has it) -> ``acked`` (the cloud's
database has it). Only ``acked`` rows are ever pruned, after a retention period. ``sent`` is
reset to ``pending`` on every reconnect and when the cloud has not acknowledged a record
within ``resend_after_s``: re-sending is cheap and safe because the cloud is idempotent and the
stored bytes are the signed bytes.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from protocol import EventName, event_topic
from protocol.registry import LEDGER_TYPES

from .errors import LinkError
from .sealing import MessageSealer, Sealed
from .storage import KioskDatabase, kv

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LedgerKind:
    event: EventName
    kind: str
    model: type[Any]
    priority: int  # lower is published first


LEDGER_KINDS: dict[EventName, LedgerKind] = {
    t.event: LedgerKind(t.event, t.kind, t.model, t.priority)
    for t in LEDGER_TYPES if t.event is not None and t.priority is not None
}
"""Every ledger event the outbox carries, with its publishing priority (``protocol.registry``)."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    seq: int
    msg_id: str
    kind: str
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    sent: int
    unacked: int
    unacked_bytes: int
    oldest_unacked_created_at: datetime | None
    last_seq: int
    acked_seq: int
    acked_at: datetime | None = None
    """When the cloud's ack last moved forward."""
    link_connected_since: datetime | None = None
    """When the link connected, if it is connected now (as the running gateway last noted)."""


class AckBeyondLedger(LinkError, ValueError):
    """The cloud acknowledged a seq this kiosk never made: another device uses this identity,
    or this kiosk's database was replaced. Nothing is marked acked."""

    code = "ack_beyond_ledger"
    translation_key = "error.ack_beyond_ledger"


class Outbox:
    def __init__(self, db: KioskDatabase, sealer: MessageSealer) -> None:
        self.db = db
        self.sealer = sealer
        self._listeners: list[Callable[[], None]] = []

    # ---------------------------------------------------------------- writing records

    def append(
        self, conn: sqlite3.Connection, event: EventName, fields: dict[str, Any]
    ) -> tuple[OutboxRecord, Sealed]:
        """Seal a ledger record and add it to the outbox, inside the caller's transaction.

        Args:
            conn: the connection of an open ``KioskDatabase.transaction()``.
            event: which ledger event this is.
            fields: the message members beyond the header (e.g. ``{"reading": {...}}``).
        """
        spec = LEDGER_KINDS[event]
        seq = kv.get_int(conn, kv.LAST_SEQ, 0) + 1
        sealed = self.sealer.seal(spec.model, spec.kind, fields, seq=seq)
        topic = event_topic(self.sealer.device_id, spec.event)
        cursor = conn.execute(
            "INSERT INTO outbox (seq, msg_id, kind, topic, payload, priority, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, sealed.msg_id, spec.kind, topic, sealed.payload, spec.priority,
             sealed.stamp.time.isoformat()),
        )
        kv.set(conn, kv.LAST_SEQ, seq)
        if sealed.stamp.time_synced:
            # Persist the clock floor with the record: after a reboot without a clock, no
            # stamp will be earlier than the last synchronised one (see gateway.clock).
            _raise_clock_floor(conn, sealed.stamp.time)
        self.db.call_after_commit(self._notify)
        record = OutboxRecord(int(cursor.lastrowid or 0), seq, sealed.msg_id, spec.kind, topic,
                              sealed.payload)
        return record, sealed

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after each commit that added records."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        self._listeners.remove(callback)

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()

    # ---------------------------------------------------------------- draining

    def next_batch(self, limit: int, exclude: Sequence[int] = ()) -> list[OutboxRecord]:
        """Pending records in publishing order (priority, then creation), skipping ``exclude``
        (the ids already in flight)."""
        placeholders = ",".join("?" * len(exclude))
        skip = f"AND id NOT IN ({placeholders})" if exclude else ""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT id, seq, msg_id, kind, topic, payload FROM outbox"
                f" WHERE state = 'pending' {skip} ORDER BY priority, id LIMIT ?",
                (*exclude, limit),
            ).fetchall()
        return [OutboxRecord(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]

    def mark_sent(self, ids: Sequence[int]) -> None:
        """The broker acknowledged these (PUBACK); they wait for the cloud's ack now."""
        if not ids:
            return
        now = time.monotonic()
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'sent', sent_mono = ?, attempts = attempts + 1"
                " WHERE id = ? AND state = 'pending'",
                [(now, i) for i in ids],
            )

    def requeue_sent(self, older_than_s: float | None = None) -> int:
        """Make sent-but-unacknowledged records pending again: all of them (after a reconnect
        or a restart) or those sent more than ``older_than_s`` ago."""
        with self.db.transaction() as conn:
            if older_than_s is None:
                cursor = conn.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sent'")
            else:
                cursor = conn.execute(
                    "UPDATE outbox SET state = 'pending' WHERE state = 'sent' AND sent_mono < ?",
                    (time.monotonic() - older_than_s,),
                )
            count = cursor.rowcount
        if count:
            self._notify()
        return count

    def mark_acked(self, acked_seq: int) -> int:
        """Apply the cloud's "committed up to seq N"; returns how many records it newly covers.

        Acks are monotonic: one lower than a previous ack changes nothing.

        Raises:
            AckBeyondLedger: N is beyond the last seq this kiosk made.
        """
        with self.db.transaction() as conn:
            last_seq = kv.get_int(conn, kv.LAST_SEQ, 0)
            if acked_seq > last_seq:
                raise AckBeyondLedger(
                    f"the cloud acknowledges seq {acked_seq} but this kiosk has made only "
                    f"{last_seq} records: is another kiosk using this device id?"
                )
            if acked_seq <= kv.get_int(conn, kv.ACKED_SEQ, 0):
                return 0
            now = datetime.now(UTC).isoformat()
            cursor = conn.execute(
                "UPDATE outbox SET state = 'acked', acked_at = ?"
                " WHERE seq <= ? AND state != 'acked'",
                (now, acked_seq),
            )
            kv.set(conn, kv.ACKED_SEQ, acked_seq)
            kv.set(conn, kv.ACKED_AT, now)
            return cursor.rowcount

    def note_link(self, connected: bool) -> None:
        """Note that the link connected or disconnected now, so ``nongan doctor`` (another
        process) can tell an ack that does not move while connected from a link that is down."""
        key = kv.LINK_CONNECTED_AT if connected else kv.LINK_DISCONNECTED_AT
        with self.db.transaction() as conn:
            kv.set(conn, key, datetime.now(UTC).isoformat())

    def prune(self, retention: timedelta) -> int:
        """Delete acknowledged records older than ``retention`` (by ack time).

        The readings and certificates tables keep the kiosk's own copy of each record (with
        its ``msg_id``); the outbox row is only the envelope that carried it.
        """
        cutoff = (datetime.now(UTC) - retention).isoformat()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM outbox WHERE state = 'acked' AND acked_at < ?",
                (cutoff,),
            )
            return cursor.rowcount

    # ---------------------------------------------------------------- health

    def stats(self) -> OutboxStats:
        return read_stats(self.db)


def read_stats(db: KioskDatabase) -> OutboxStats:
    """The outbox's depth and ack state (also usable without a signing key, by tools)."""
    with db.read() as conn:
        counts = dict(
            conn.execute(
                "SELECT state, count(*) FROM outbox WHERE state != 'acked' GROUP BY state"
            ).fetchall()
        )
        size, oldest = conn.execute(
            "SELECT coalesce(sum(length(payload)), 0), min(created_at) FROM outbox"
            " WHERE state != 'acked'"
        ).fetchone()
        last_seq = kv.get_int(conn, kv.LAST_SEQ, 0)
        acked_seq = kv.get_int(conn, kv.ACKED_SEQ, 0)
        acked_at, connected, disconnected = (
            _time(kv.get(conn, key))
            for key in (kv.ACKED_AT, kv.LINK_CONNECTED_AT, kv.LINK_DISCONNECTED_AT))
    pending, sent = int(counts.get("pending", 0)), int(counts.get("sent", 0))
    return OutboxStats(
        pending=pending,
        sent=sent,
        unacked=pending + sent,
        unacked_bytes=int(size),
        oldest_unacked_created_at=datetime.fromisoformat(oldest) if oldest else None,
        last_seq=last_seq,
        acked_seq=acked_seq,
        acked_at=acked_at,
        link_connected_since=(connected if connected is not None
                              and (disconnected is None or disconnected < connected) else None),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _raise_clock_floor(conn: sqlite3.Connection, value: datetime) -> None:
    current = kv.get(conn, kv.CLOCK_FLOOR)
    if current is None or datetime.fromisoformat(current) < value:
        kv.set(conn, kv.CLOCK_FLOOR, value.isoformat())


def read_clock_floor(db: KioskDatabase) -> datetime | None:
    """The latest synchronised time this kiosk has stamped on a record, if any."""
    with db.read() as conn:
        value = kv.get(conn, kv.CLOCK_FLOOR)
    return datetime.fromisoformat(value) if value else None
