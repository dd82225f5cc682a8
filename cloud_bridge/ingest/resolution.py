"""Dead letters a person can resolve: list, show, replay after a fix, discard with a reason.

Used by ``nongan bridge dead-letters`` and the dashboard's dead-letter pages; every action is
written to ``history`` (entity ``dead_letter``: who, when, why, what came of it).

- **replay**: the kept bytes go through the same checks and writes as on arrival
  (``BatchWriter``), with the cloud's first receive time. If the cause was fixed (a kiosk
  enrolled late, a key corrected, a conflicting record revoked) the record is stored, its
  kiosk's watermark moves, and the dead letter is ``replayed``; if not, it stays open with the
  new reason. A payload that was not kept whole cannot be replayed (its kiosk still holds the
  record and re-sends it; once the cause is fixed the re-send is stored and the dead letter
  settles by itself).
- **discard**: the message will never be stored; a reason is required. For a ledger record of
  an enrolled kiosk above its watermark, the seq is skipped (``ledger_skips``) and the
  watermark passes it: the kiosk hears, with its next ack, that the cloud has settled that
  record, and may forget it. The payload stays in the dead letter.

A dead letter is resolved once: replaying or discarding one that is no longer open is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cloud_bridge.domain.errors import Conflict, NotFound, Refused
from cloud_bridge.domain.history import log_change
from cloud_bridge.store.ingest_models import LedgerSkip
from cloud_bridge.store.models import (
    AckWatermark,
    DeadLetter,
    DeadLetterState,
    Device,
    DeviceStateValue,
    LedgerRecord,
)
from cloud_bridge.store.registry_models import HistoryEntry
from cloud_bridge.store.types import utcnow
from protocol import Channel, EventName, ProtocolError, parse_topic

from . import watermarks
from .dead_letters import topic_sha256
from .inbound import Inbound, Outcome
from .writer import BatchWriter

ENTITY = "dead_letter"
REASON_MAX = 500


@dataclass(frozen=True)
class Filter:
    """Which dead letters to list (None: any)."""

    state: str | None = DeadLetterState.OPEN
    device_id: str | None = None
    code: str | None = None
    limit: int = 100


@dataclass
class Details:
    """One dead letter with what a person needs to decide."""

    letter: DeadLetter
    watermark: int | None
    """Its kiosk's ack watermark, if the topic names an enrolled kiosk."""
    stored: bool
    """Whether a record with its claimed (device, seq) is in the ledger."""
    skipped: bool
    """Whether its claimed seq is already skipped."""
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def replayable(self) -> str | None:
        """None if it can be replayed, else why not."""
        return _not_replayable(self.letter)

    @property
    def blocks_watermark(self) -> bool:
        """A ledger record of an enrolled kiosk that its watermark cannot pass until resolved."""
        return (self.watermark is not None and self.letter.seq is not None
                and self.letter.seq > self.watermark and not self.stored and not self.skipped
                and _ledger_topic(self.letter.topic, self.letter.device_id))


@dataclass(frozen=True)
class ReplayOutcome:
    stored: bool
    outcome: str
    """``recorded``, ``duplicate``, ``updated`` or ``dead_letter`` (still refused)."""
    reason: str | None
    """Why it is still refused."""
    watermark: int | None


@dataclass(frozen=True)
class DiscardOutcome:
    skipped_seq: int | None
    watermark: int | None


def list_letters(session: Session, which: Filter = Filter()) -> list[DeadLetter]:
    """Dead letters matching ``which``, most recently seen first."""
    query = select(DeadLetter).order_by(DeadLetter.last_seen.desc(), DeadLetter.id.desc())
    if which.state is not None:
        query = query.where(DeadLetter.state == which.state)
    if which.device_id is not None:
        query = query.where(DeadLetter.device_id == which.device_id)
    if which.code is not None:
        query = query.where(DeadLetter.code == which.code)
    return list(session.scalars(query.limit(max(1, min(which.limit, 10_000)))))


def open_summary(session: Session) -> tuple[int, datetime | None]:
    """How many dead letters wait for a person, and since when (the oldest first sighting)."""
    count, oldest = session.execute(
        select(func.count(), func.min(DeadLetter.first_seen))
        .where(DeadLetter.state == DeadLetterState.OPEN)).one()
    return int(count or 0), oldest


def details(session: Session, letter_id: int) -> Details:
    """One dead letter with its kiosk's watermark and its history.

    Raises:
        NotFound: no dead letter has this id.
    """
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound("not_found", f"no dead letter #{letter_id}")
    watermark = stored = skipped = None
    if letter.device_id is not None:
        enrolled = session.scalar(select(Device.state).where(Device.id == letter.device_id))
        if enrolled == DeviceStateValue.ENROLLED:
            watermark = session.scalar(select(AckWatermark.acked_seq)
                                       .where(AckWatermark.device_id == letter.device_id)) or 0
    if letter.device_id is not None and letter.seq is not None:
        stored = session.get(LedgerRecord, (letter.device_id, letter.seq)) is not None
        skipped = session.get(LedgerSkip, (letter.device_id, letter.seq)) is not None
    history = list(session.scalars(
        select(HistoryEntry).where(HistoryEntry.entity == ENTITY,
                                   HistoryEntry.entity_id == str(letter_id))
        .order_by(HistoryEntry.at, HistoryEntry.id)))
    return Details(letter, watermark, bool(stored), bool(skipped), history)


def replay(engine: Engine, letter_id: int, *, actor: str, reason: str,
           payload_cap: int = 256 * 1024) -> ReplayOutcome:
    """Run a dead letter's bytes through ingest again (after its cause was fixed).

    Raises:
        NotFound: no such dead letter.
        Conflict: it is not open (already replayed, discarded or recorded).
        Refused: no reason given, or its payload or topic was not kept whole.
    """
    reason = _reason(reason)
    with Session(engine) as session:
        letter = _open_letter(session, letter_id)
        why_not = _not_replayable(letter)
        if why_not is not None:
            raise Refused("not_replayable", why_not)
        inbound = Inbound(letter.topic, bytes(letter.payload), 0, 0, letter.first_seen)
    verdict = BatchWriter(engine, payload_cap=payload_cap).write([inbound]).verdicts[0]
    stored = verdict.outcome is not Outcome.DEAD_LETTER
    with Session(engine) as session, session.begin():
        letter = _get(session, letter_id)
        watermark = _watermark(session, letter.device_id)
        data: dict[str, Any] = {"outcome": verdict.outcome.value, "code": letter.code,
                                "topic": letter.topic[:200], "seq": letter.seq,
                                "watermark": watermark}
        if stored:
            # The writer may have settled it already ("recorded"): this person did it.
            letter.state = DeadLetterState.REPLAYED
            letter.resolved_at = utcnow()
            letter.resolved_by = actor[:100]
            letter.resolution = reason
            log_change(session, entity=ENTITY, entity_id=str(letter_id), action="replayed",
                       actor=actor, reason=reason, data=data)
        else:
            assert verdict.rejection is not None
            data["still_refused"] = verdict.rejection.reason[:500]
            log_change(session, entity=ENTITY, entity_id=str(letter_id),
                       action="replay_refused", actor=actor, reason=reason, data=data)
    return ReplayOutcome(stored, verdict.outcome.value,
                         None if stored else verdict.rejection.reason,  # type: ignore[union-attr]
                         watermark)


def discard(engine: Engine, letter_id: int, *, actor: str, reason: str) -> DiscardOutcome:
    """Settle a dead letter that will never be stored, skipping its seq if it holds a kiosk's
    watermark back.

    Raises:
        NotFound: no such dead letter.
        Conflict: it is not open.
        Refused: no reason given.
    """
    reason = _reason(reason)
    with Session(engine) as session, session.begin():
        letter = _open_letter(session, letter_id)
        found = details(session, letter_id)
        skipped_seq = None
        device_id = letter.device_id
        if found.blocks_watermark and device_id is not None and letter.seq is not None:
            # Lock the watermark first, as the ingest does, then look again under the lock.
            locked = watermarks.lock(session, [device_id])
            stored = session.get(LedgerRecord, (device_id, letter.seq)) is not None
            if letter.seq > locked[device_id] and not stored:
                session.add(LedgerSkip(device_id=device_id, seq=letter.seq,
                                       dead_letter_id=letter.id, skipped_at=utcnow(),
                                       skipped_by=actor[:100], reason=reason))
                session.flush()
                skipped_seq = letter.seq
                locked.skips_ahead.add(device_id)
            watermarks.advance(session, locked)
        letter.state = DeadLetterState.DISCARDED
        letter.resolved_at = utcnow()
        letter.resolved_by = actor[:100]
        letter.resolution = reason
        watermark = _watermark(session, device_id)
        log_change(session, entity=ENTITY, entity_id=str(letter_id), action="discarded",
                   actor=actor, reason=reason,
                   data={"code": letter.code, "topic": letter.topic[:200], "seq": letter.seq,
                         "skipped_seq": skipped_seq, "watermark": watermark})
    return DiscardOutcome(skipped_seq, watermark)


# ------------------------------------------------------------------------------ helpers


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required", "say why (a reason is kept with the action)")
    if len(reason) > REASON_MAX or "\x00" in reason:
        raise Refused("bad_reason", f"a reason is at most {REASON_MAX} characters of text")
    return reason


def _get(session: Session, letter_id: int) -> DeadLetter:
    letter = session.get(DeadLetter, letter_id)
    if letter is None:
        raise NotFound("not_found", f"no dead letter #{letter_id}")
    return letter


def _open_letter(session: Session, letter_id: int) -> DeadLetter:
    letter = _get(session, letter_id)
    if letter.state != DeadLetterState.OPEN:
        raise Conflict("not_open", f"dead letter #{letter_id} is already {letter.state} "
                       f"({letter.resolved_by or '?'}: {letter.resolution or ''})")
    return letter


def _not_replayable(letter: DeadLetter) -> str | None:
    if letter.payload_truncated:
        return (f"only {len(letter.payload)} of its {letter.payload_size} bytes were kept; its "
                "kiosk still holds the record and re-sends it: fix the cause and the re-send "
                "is stored (or discard it)")
    if topic_sha256(letter.topic) != letter.topic_sha256:
        return "its topic could not be kept exactly (it held characters a store cannot keep)"
    return None


def _ledger_topic(topic: str, device_id: str | None) -> bool:
    try:
        parsed = parse_topic(topic)
    except ProtocolError:
        return False
    return (parsed.channel is Channel.EVENT and parsed.device_id == device_id
            and parsed.name not in (None, EventName.BATCH.value))


def _watermark(session: Session, device_id: str | None) -> int | None:
    if device_id is None:
        return None
    return session.scalar(select(AckWatermark.acked_seq)
                          .where(AckWatermark.device_id == device_id))
