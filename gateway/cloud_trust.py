"""Trusting the cloud: the cloud keys a kiosk pins, and the check every cloud message passes.

Everything the cloud tells a kiosk (acks, roster pages, commands, key sets) is signed by a cloud
key (``protocol.signing.sign_cloud_object``). The kiosk trusts the keys pinned in its settings
at enrolment (``cloud.signing_keys``) plus those a trusted key later endorsed (a ``keys``
message: key rotation), minus those retired; both changes are kept in the kiosk database, and a
retired key is never trusted again.

A message that is unsigned, signed by a key not trusted, does not match its signature, is
addressed to another kiosk or does not parse is *refused*: it changes nothing (no record is
marked acknowledged, no roster replaced, no command run), it is logged, counted in telemetry,
and the first one raises the ``cloud_message_refused`` alarm, a ledger record the operator
sees. A genuine message older than what the kiosk holds (an ack below the last one, a roster
version already superseded, a command already run) is *stale*: ignored and counted.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocol import (
    CloudKeys,
    Command,
    Decoded,
    ProtocolError,
    SignatureError,
    decode,
    key_id,
    load_public_key,
    parse_json_object,
    verify_cloud_object,
)

from .alarms import AlarmBook
from .storage import KioskDatabase, kv

log = logging.getLogger(__name__)

ALARM_CODE = "cloud_message_refused"
QUIET_BEFORE_CLEAR_S = 3600.0
"""The alarm clears on a genuine message once no message was refused for this long."""
COMMAND_MEMORY = 500
"""How many executed command ids a kiosk remembers (a replayed one is refused as stale)."""
COMMAND_MAX_AGE = timedelta(days=7)
"""A command stamped longer ago than this (by a synchronised clock) is stale."""

ADDED_KEYS = "cloud_keys_added"
RETIRED_KEYS = "cloud_keys_retired"
SEEN_COMMANDS = "cloud_commands_seen"


@dataclass
class TrustCounters:
    """Since the gateway started: what telemetry and ``nongan doctor`` report."""

    refused: int = 0
    stale: int = 0
    last_refusal: str | None = None
    last_refused_mono: float | None = None
    recent: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class KeysChange:
    added: list[str]
    retired: list[str]


class CloudTrust:
    """The kiosk's trusted cloud keys and its verdicts on cloud messages.

    Thread-safe: the link calls it from the event loop (through ``asyncio.to_thread`` for the
    parts that write the database) and telemetry reads it from a worker thread.

    Args:
        db: the kiosk database (keys added or retired by rotation are kept there).
        device_id: this kiosk; a message for another is refused.
        pinned: the cloud public keys from the settings (base64url, 43 characters).
        alarms: where the ``cloud_message_refused`` alarm is raised (None: only counted).
    """

    def __init__(self, db: KioskDatabase, device_id: str, pinned: Iterable[str],
                 alarms: AlarmBook | None = None) -> None:
        self.db = db
        self.device_id = device_id
        self.alarms = alarms
        self.counters = TrustCounters()
        self._lock = threading.Lock()
        self._pinned: dict[str, str] = {key_id(k): k for k in pinned}
        self._trusted: dict[str, Ed25519PublicKey] | None = None  # cached; reset on a change
        # Whether the alarm may be active (so a genuine ack does not cost a database write
        # each time): true at start if a previous run left it raised.
        self._alarm_up = alarms is not None and any(a.code == ALARM_CODE
                                                    for a in alarms.active())

    # ------------------------------------------------------------------ the key set

    def trusted(self) -> dict[str, Ed25519PublicKey]:
        """The cloud keys trusted now, by id: pinned and endorsed ones, less retired ones."""
        cached = self._trusted
        if cached is not None:
            return cached
        with self.db.read() as conn:
            added, retired = _added(conn), set(_retired(conn))
        keys = {**added, **self._pinned}
        cached = {kid: load_public_key(text) for kid, text in sorted(keys.items())
                  if kid not in retired}
        self._trusted = cached
        return cached

    def trusted_ids(self) -> list[str]:
        return sorted(self.trusted())

    def apply_keys(self, message: CloudKeys) -> KeysChange:
        """Apply a verified key set: add what it lists, retire what it retires (never the last
        trusted key). Call only after ``check`` accepted the message."""
        added: list[str] = []
        retired_now: list[str] = []
        with self.db.transaction() as conn:
            stored, retired = _added(conn), _retired(conn)
            for entry in message.keys:
                if entry.kid in retired or key_id(entry.public_key) != entry.kid:
                    continue  # a retired key never comes back; an id must name its key
                if entry.kid not in stored and entry.kid not in self._pinned:
                    stored[entry.kid] = entry.public_key
                    added.append(entry.kid)
            for kid in message.retired:
                if kid in retired:
                    continue
                remaining = {k for k in {*stored, *self._pinned} if k not in retired and k != kid}
                if not remaining:
                    log.error("a key set would retire the last trusted cloud key %s; kept", kid)
                    continue
                retired.append(kid)
                retired_now.append(kid)
            kv.set(conn, ADDED_KEYS, json.dumps(stored, sort_keys=True))
            kv.set(conn, RETIRED_KEYS, json.dumps(sorted(retired)))
        self._trusted = None
        if added or retired_now:
            log.warning("cloud keys changed: added %s, retired %s", added, retired_now)
        return KeysChange(added, retired_now)

    # ------------------------------------------------------------------ verdicts

    def receive(self, topic: str, payload: bytes) -> Decoded:
        """Decode a cloud message and ``check`` it; raises ``ProtocolError`` (a
        ``SignatureError`` for trust) saying why it is refused."""
        obj = parse_json_object(payload)
        if not isinstance(obj.get("kid"), str) or not isinstance(obj.get("sig"), str):
            raise SignatureError("message is not signed by the cloud (no 'kid' and 'sig')")
        decoded = decode(topic, payload)
        self.check(decoded)
        return decoded

    def check(self, decoded: Decoded) -> None:
        """Accept a decoded cloud message or raise ``SignatureError`` saying why not.

        Checks the addressee and the signature against the keys trusted now; the caller then
        checks staleness, which only it can judge.
        """
        device = getattr(decoded.message, "device_id", None)
        if device != self.device_id:
            raise SignatureError(f"message is addressed to {device!r}, not to this kiosk")
        trusted = self.trusted()
        if not trusted:
            raise SignatureError("this kiosk trusts no cloud key: put the key printed at "
                                 "enrolment in cloud.signing_keys")
        verify_cloud_object(decoded.raw, trusted)

    def refuse(self, where: str, reason: str) -> None:
        """Count and log a refused message; raise the alarm if it is not raised yet."""
        text = f"refused a cloud message on {where}: {reason}"
        with self._lock:
            self.counters.refused += 1
            self.counters.last_refusal = text
            self.counters.last_refused_mono = time.monotonic()
            self.counters.recent = [*self.counters.recent[-9:], text]
        log.warning("%s", text)
        if self.alarms is not None and not self._alarm_up:  # a flood costs no disk writes
            self.alarms.raise_alarm(ALARM_CODE, text[:500])
            self._alarm_up = True

    def stale(self, where: str, reason: str) -> None:
        """Count and log a genuine message ignored as older than what the kiosk holds."""
        with self._lock:
            self.counters.stale += 1
        log.info("ignored a stale cloud message on %s: %s", where, reason)

    def accepted(self) -> None:
        """A genuine message was acted on: clear the alarm after a quiet hour."""
        last = self.counters.last_refused_mono
        if self.alarms is None or not self._alarm_up:
            return
        if last is None or time.monotonic() - last >= QUIET_BEFORE_CLEAR_S:
            self.alarms.clear_alarm(ALARM_CODE, "cloud messages verify again")
            self._alarm_up = False

    # ------------------------------------------------------------------ commands

    def command_is_new(self, command: Command, *, now: datetime | None = None,
                       clock_synced: bool = True) -> str | None:
        """Remember a command's id; the reason it is stale (a replay, too old), or None."""
        now = now or datetime.now(UTC)
        if clock_synced and command.time < now - COMMAND_MAX_AGE:
            return f"command {command.cmd_id} was made {command.time:%Y-%m-%d %H:%M} UTC"
        with self.db.transaction() as conn:
            seen = json.loads(kv.get(conn, SEEN_COMMANDS) or "[]")
            if command.cmd_id in seen:
                return f"command {command.cmd_id} was run already"
            seen = [*seen, command.cmd_id][-COMMAND_MEMORY:]
            kv.set(conn, SEEN_COMMANDS, json.dumps(seen))
        return None

    # ------------------------------------------------------------------ telemetry

    def telemetry(self) -> dict[str, object]:
        """The fields of the telemetry message about cloud trust."""
        return {"cloud_keys": self.trusted_ids(), "cloud_messages_refused": self.counters.refused,
                "cloud_messages_stale": self.counters.stale}


def _added(conn: sqlite3.Connection) -> dict[str, str]:
    value = kv.get(conn, ADDED_KEYS)
    return dict(json.loads(value)) if value else {}


def _retired(conn: sqlite3.Connection) -> list[str]:
    value = kv.get(conn, RETIRED_KEYS)
    return list(json.loads(value)) if value else []


def check_pinned_keys(keys: Iterable[str]) -> list[str]:
    """Validate cloud public keys from the settings; returns them (raises ValueError)."""
    out = []
    for text in keys:
        try:
            load_public_key(text)
        except ProtocolError as exc:
            raise ValueError(f"cloud signing key {text!r}: {exc.reason}") from None
        out.append(text)
    return out
