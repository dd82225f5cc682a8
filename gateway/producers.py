"""Producers at the kiosk: a local registry that works offline.

Two sources fill it:

- **Registration at this kiosk** (``register``): the producer row and its ``ProducerEvent``
  (a ledger record for the cloud) commit in one transaction. The producer gets an id made here
  and a card code (what the card's QR says), and a PIN kept only as a scrypt hash.
- **The cloud's roster** (``apply_roster``): a retained, versioned list of the station's
  producers. A roster with a higher version than the one held replaces every roster-sourced
  row; a producer registered here that the roster does not list yet is kept while the cloud
  cannot have known it (its event is not acknowledged yet, or it was registered after the
  roster was made), so a farmer who registered offline this morning can still be found.

Identification then needs no network: by card code, or by picking a recent producer and
typing the PIN. ``recent`` lists the producers seen at this kiosk lately, newest first.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from protocol import EventName, Producer, Roster, RosterEntry
from protocol.bound_ids import make_producer_id

from .clock import KioskClock
from .errors import ProducerError
from .outbox import Outbox
from .pin_lockout import PinCheck, PinLockout
from .pins import BadPin, hash_pin, pin_matches
from .storage import KioskDatabase, kv

CARD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed safely


class RegistrationError(ProducerError):
    """A registration the kiosk cannot accept; ``field`` names what to correct."""

    code = "registration"
    translation_key = "notice.register_invalid"
    placeholder_names = ("field",)

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field


@dataclass(frozen=True, slots=True)
class KnownProducer:
    """A producer as the kiosk knows them (from this kiosk or from the roster)."""

    entry: RosterEntry
    source: str  # "local" or "roster"

    @property
    def producer_id(self) -> str:
        return self.entry.producer_id

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def phone(self) -> str:
        return self.entry.phone

    @property
    def has_pin(self) -> bool:
        return self.entry.pin_hash is not None

    @property
    def masked_name(self) -> str:
        """The surname and the last character: enough to recognise oneself in a list."""
        name = self.entry.name
        if len(name) <= 1:
            return name
        if len(name) == 2:
            return name[0] + "*"
        return name[0] + "*" * (len(name) - 2) + name[-1]

    @property
    def masked_phone(self) -> str:
        digits = "".join(ch for ch in self.entry.phone if ch.isdigit())
        return "*" * max(0, min(4, len(digits) - 4)) + digits[-4:]


class ProducerBook:
    def __init__(self, db: KioskDatabase, outbox: Outbox, clock: KioskClock, *,
                 device_id: str, station_id: str, pin_attempts: int = 3,
                 pin_max_failures: int = 9) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self.device_id = device_id
        self.station_id = station_id
        self.pins = PinLockout(db, attempts=pin_attempts, max_failures=pin_max_failures,
                               now=lambda: clock.now().time)

    # ------------------------------------------------------------------ registering

    def register(self, *, name: str, phone: str, origin_code: str, origin_detail: str = "",
                 pin: str | None = None, kind: str = "farmer") -> KnownProducer:
        """Register a producer here and queue the ``ProducerEvent`` for the cloud.

        Raises:
            RegistrationError: a field that does not validate (``field`` says which).
        """
        name, phone = " ".join(name.split()), phone.strip()
        try:
            pin_hash = hash_pin(pin) if pin is not None else None
        except BadPin as exc:
            raise RegistrationError("pin", str(exc)) from None
        stamp = self.clock.now()
        fields = {
            # Bound to this kiosk (protocol.bound_ids): no other kiosk can register it first.
            "producer_id": make_producer_id(self.device_id, self.station_id),
            "kind": kind,
            "name": name,
            "phone": phone,
            "origin_code": origin_code,
            "origin_detail": origin_detail.strip(),
            "card_code": "NGC-" + "".join(secrets.choice(CARD_ALPHABET) for _ in range(10)),
            "pin_hash": pin_hash,
            "registered_at": stamp.time,
            "registered_by": self.device_id,
        }
        try:
            producer = Producer.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RegistrationError(str(first["loc"][0]), first["msg"]) from None
        entry = RosterEntry.model_validate(
            producer.model_dump(exclude={"registered_at", "registered_by"}))
        with self.db.transaction() as conn:
            record, _ = self.outbox.append(
                conn, EventName.PRODUCER,
                {"action": "registered", "producer": producer.model_dump(mode="json")})
            conn.execute(
                "INSERT INTO producers (producer_id, card_code, source, active, registered_at,"
                " event_seq, body) VALUES (?, ?, 'local', 1, ?, ?, ?)",
                (entry.producer_id, entry.card_code, stamp.time.isoformat(), record.seq,
                 entry.model_dump_json()),
            )
            _note_visit(conn, entry.producer_id, stamp.time)
        return KnownProducer(entry, "local")

    # ------------------------------------------------------------------ looking up

    def get(self, producer_id: str) -> KnownProducer | None:
        """An active producer by id."""
        return self._one("producer_id = ?", producer_id)

    def by_card(self, card_code: str) -> KnownProducer | None:
        """The active producer whose card says ``card_code``."""
        return self._one("card_code = ?", card_code)

    def _one(self, where: str, value: str) -> KnownProducer | None:
        with self.db.read() as conn:
            row = conn.execute(
                f"SELECT body, source FROM producers WHERE {where} AND active = 1", (value,)
            ).fetchone()
        return KnownProducer(RosterEntry.model_validate_json(row[0]), row[1]) if row else None

    def verify_pin(self, producer_id: str, pin: str) -> bool:
        """Whether ``pin`` is this producer's PIN (False if unknown or without a PIN).

        Counts nothing: a person's PIN goes through ``check_pin``.
        """
        producer = self.get(producer_id)
        if producer is None or producer.entry.pin_hash is None:
            return False
        return pin_matches(pin, producer.entry.pin_hash)

    def check_pin(self, producer_id: str, pin: str) -> PinCheck:
        """A PIN typed on the keypad: refused unchecked while the name is locked, and a wrong
        one counted (``pin_lockout``), across sessions and restarts."""
        return self.pins.check(producer_id, lambda: self.verify_pin(producer_id, pin))

    def recent(self, limit: int = 6) -> list[KnownProducer]:
        """Producers seen at this kiosk lately, newest first (active ones only)."""
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT p.body, p.source FROM producer_visits v"
                " JOIN producers p ON p.producer_id = v.producer_id"
                " WHERE p.active = 1 ORDER BY v.last_seen_at DESC LIMIT ?", (limit,),
            ).fetchall()
        return [KnownProducer(RosterEntry.model_validate_json(r[0]), r[1]) for r in rows]

    def note_visit(self, producer_id: str) -> None:
        """Put the producer at the top of the recent list."""
        with self.db.transaction() as conn:
            _note_visit(conn, producer_id, self.clock.now().time)

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute("SELECT count(*) FROM producers WHERE active = 1")
                       .fetchone()[0])

    # ------------------------------------------------------------------ the roster

    @property
    def roster_version(self) -> int | None:
        """The version of the roster held, or None if none has arrived."""
        with self.db.read() as conn:
            return kv.get_int(conn, kv.ROSTER_VERSION)

    def apply_roster(self, roster: Roster) -> bool:
        """Replace the roster-sourced producers with ``roster`` if it is newer.

        Returns:
            True if applied; False if this kiosk already holds that version or a newer one.

        Raises:
            ValueError: the roster is addressed to another kiosk.
        """
        if roster.device_id != self.device_id:
            raise ValueError(f"a roster for {roster.device_id} is not for {self.device_id}")
        with self.db.transaction() as conn:
            held = kv.get_int(conn, kv.ROSTER_VERSION)
            if held is not None and held >= roster.version:
                return False
            acked_seq = kv.get_int(conn, kv.ACKED_SEQ, 0)
            listed = {entry.producer_id for entry in roster.producers}
            conn.execute("DELETE FROM producers WHERE source = 'roster'")
            for local_id, registered_at, event_seq in conn.execute(
                    "SELECT producer_id, registered_at, event_seq FROM producers"
                    " WHERE source = 'local'").fetchall():
                if local_id in listed:
                    continue
                unknown_to_cloud = (event_seq is None or event_seq > acked_seq
                                    or datetime.fromisoformat(registered_at)
                                    > roster.generated_at)
                if not unknown_to_cloud:
                    # The cloud knew this producer and left them out: removed there.
                    conn.execute("DELETE FROM producers WHERE producer_id = ?", (local_id,))
            for entry in roster.producers:
                # REPLACE also drops a local row holding the same card code: the cloud wins.
                conn.execute(
                    "INSERT OR REPLACE INTO producers (producer_id, card_code, source, active,"
                    " registered_at, event_seq, body) VALUES (?, ?, 'roster', ?, NULL, NULL, ?)",
                    (entry.producer_id, entry.card_code, int(entry.active),
                     entry.model_dump_json()),
                )
            kv.set(conn, kv.ROSTER_VERSION, roster.version)
        return True


def _note_visit(conn: sqlite3.Connection, producer_id: str, when: datetime) -> None:
    conn.execute(
        "INSERT INTO producer_visits (producer_id, last_seen_at) VALUES (?, ?)"
        " ON CONFLICT (producer_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        (producer_id, when.astimezone(UTC).isoformat()),
    )

