"""One batch of received messages -> one database transaction.

``BatchWriter.write`` checks every message (contract, device, signature), writes the good ones
idempotently and the bad ones to the dead-letter table, advances the kiosks' ack watermarks and
commits once. It returns what became of each message and the watermarks to publish; it knows
nothing of MQTT, so it is tested directly on both databases.

Errors: a bad message never raises. One the checks refuse becomes a dead letter with the
reason; one the *store* refuses (a value too long, an index row too big, a constraint, any
error that is not an outage, see ``store.errors.is_outage``) is found by ``isolation`` (the
batch is split until the message is alone), becomes a dead letter with the store's words, and
the rest of the batch is stored. Only an outage (the database unreachable, a pool timeout, the
connection lost, the store refusing even a minimal dead letter) raises, with nothing of the
failed transaction committed; the caller keeps the batch unacknowledged and retries it later,
which is safe because the whole batch is idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cloud_bridge.store.errors import is_outage
from cloud_bridge.store.models import Device, DeviceStateValue
from protocol import ProtocolError
from protocol.batch import is_batch_topic, split_batch

from . import follow_ups, isolation, watermarks
from .classify import KnownDevice, check_device, check_signature, decode_inbound
from .dead_letters import settle_recorded, store_dead_letters
from .handlers import check_claims
from .inbound import Accepted, BatchResult, Inbound, Outcome, Rejection, Verdict
from .ledger import BulkInsertRefused, store_ledger
from .side_tables import store_side_messages

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A batch decoded and its signatures checked: everything that needs no transaction."""

    batch: Sequence[Inbound]
    decoded: list[Accepted | Rejection]
    verified: dict[int, tuple[str, Rejection | None]] = field(default_factory=dict)
    """Signature verdicts by ``id`` of the accepted message, with the key each one used."""


class BatchWriter:
    """Writes batches of inbound messages to the store.

    ``write`` = ``commit(prepare(batch))``. ``prepare`` is pure CPU (decoding, Ed25519) and
    reads only the enrolled keys (cached: a device id's key never changes, a retired id is never
    re-enrolled), so the ingest worker prepares the next batch while this one's transaction
    waits on the database. Whether a device is enrolled and not retired is checked again inside
    the transaction.

    Args:
        engine: the store's engine (from ``make_engine``, writer mode on SQLite).
        payload_cap: bytes of a dead-lettered payload to keep.
        public_base_urls: the cloud's public base URLs a certificate's ``verify_url`` may
            point below (``ingest.claims``).
    """

    def __init__(self, engine: Engine, *, payload_cap: int = 256 * 1024,
                 public_base_urls: Sequence[str] = ()) -> None:
        self.engine = engine
        self.payload_cap = payload_cap
        self.public_base_urls = tuple(public_base_urls)
        self._keys: dict[str, str] = {}

    def write(self, batch: Sequence[Inbound]) -> BatchResult:
        """Check and store a batch in one transaction; see the module docstring for errors."""
        return self.commit(self.prepare(batch))

    def prepare(self, batch: Sequence[Inbound]) -> Prepared:
        """Decode a batch and check the signatures of messages from known devices.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the enrolled keys could not be read (retry).
        """
        items, decoded = expand_batches(batch)
        prepared = Prepared(items, decoded)
        accepted = [d for d in prepared.decoded if isinstance(d, Accepted)]
        missing = {a.device_id for a in accepted} - self._keys.keys()
        if missing:
            with self.engine.connect() as connection:
                found = connection.execute(
                    select(Device.id, Device.public_key).where(Device.id.in_(sorted(missing)))
                ).all()
            self._keys.update((device_id, key) for device_id, key in found)
        for item in accepted:
            key = self._keys.get(item.device_id)
            if key is not None:
                prepared.verified[id(item)] = (key, check_signature(item, key))
        return prepared

    def commit(self, prepared: Prepared) -> BatchResult:
        """Store a prepared batch; see the module docstring for errors.

        Raises:
            sqlalchemy.exc.SQLAlchemyError | StoreUnwritable: an outage (retry the batch).
        """
        try:
            return self.commit_whole(prepared)
        except Exception as exc:
            if is_outage(exc):
                raise
            return isolation.commit_isolated(self, prepared, exc)

    def commit_whole(self, prepared: Prepared) -> BatchResult:
        """Store a prepared batch in one transaction, or raise what the store said."""
        try:
            return self._transaction(prepared, careful=False)
        except BulkInsertRefused as exc:
            # Another writer stored some of the same keys between our check and our insert.
            log.info("bulk insert refused (%s); redoing the batch one record at a time", exc)
            return self._transaction(prepared, careful=True)

    def _transaction(self, prepared: Prepared, *, careful: bool) -> BatchResult:
        batch, decoded = prepared.batch, prepared.decoded
        result = BatchResult()
        verdicts: dict[int, Verdict] = {}
        dead: list[tuple[Inbound, Rejection]] = []

        def reject(inbound: Inbound, rejection: Rejection, device_id: str | None = None,
                   seq: int | None = None) -> None:
            verdicts[id(inbound)] = Verdict(inbound, Outcome.DEAD_LETTER, rejection, device_id,
                                            seq)
            dead.append((inbound, rejection))

        with Session(self.engine) as session, session.begin():
            devices = _load_devices(session, {d.device_id for d in decoded
                                              if isinstance(d, Accepted)})
            good: list[Accepted] = []
            for inbound, item in zip(batch, decoded, strict=True):
                if isinstance(item, Rejection):
                    reject(inbound, item)
                    continue
                problem = (check_device(item, devices, prepared.verified)
                           or check_claims(item, self.public_base_urls))
                if problem is not None:
                    reject(inbound, problem, item.device_id, getattr(item.message, "seq", None))
                else:
                    good.append(item)

            ledger_items = [i for i in good if i.is_ledger]
            # The kiosk of a ledger record refused here hears its watermark too (it changes
            # nothing, but after a person settles a gap it tells the kiosk it may move on).
            refused_ledger = {item.device_id for item in decoded
                              if isinstance(item, Accepted) and item.is_ledger
                              and id(item.inbound) in verdicts
                              and item.device_id in devices
                              and not devices[item.device_id].retired}
            locked = watermarks.lock(session, {i.device_id for i in ledger_items}
                                     | refused_ledger)
            voided: list[str] = []
            recorded: list[Accepted] = []
            for lv in store_ledger(session, ledger_items, careful=careful, watermarks=locked,
                                   voided_tokens=voided):
                if lv.outcome is Outcome.RECORDED:
                    recorded.append(lv.item)
                seq = lv.item.message.seq  # type: ignore[attr-defined]
                if lv.rejection is not None:
                    reject(lv.item.inbound, lv.rejection, lv.item.device_id, seq)
                else:
                    verdicts[id(lv.item.inbound)] = Verdict(lv.item.inbound, lv.outcome,
                                                            device_id=lv.item.device_id, seq=seq)
            session.flush()
            changed_stations = follow_ups.after_ledger(session, recorded, voided, devices)
            result.roster_stations = changed_stations
            advanced = watermarks.advance(session, locked)
            watermarks.touch(session, recorded)
            settle_recorded(session, [i.inbound.sha256 for i in recorded
                                      if i.device_id in locked.open_dead_letters])
            # Acks go to every kiosk touched by a ledger record: stored, already there, or
            # refused (see refused_ledger above).
            result.watermarks = {d: advanced[d] for d in sorted(advanced)}

            side = [i for i in good if not i.is_ledger]
            store_side_messages(session, side)
            result.births = sorted({i.device_id for i in side if follow_ups.is_birth(i)})
            for item in side:
                verdicts[id(item.inbound)] = Verdict(item.inbound, Outcome.UPDATED,
                                                     device_id=item.device_id)
            store_dead_letters(session, dead, payload_cap=self.payload_cap)
        result.verdicts = [verdicts[id(m)] for m in batch]
        return result


def expand_batches(batch: Sequence[Inbound]) -> tuple[list[Inbound], list[Accepted | Rejection]]:
    """Decode a batch of inbound messages, splitting kiosk batch envelopes (``event/batch``,
    see ``protocol.batch``) into their records.

    Each record becomes an ``Inbound`` of its own (the topic it would have had alone, its exact
    signed bytes) sharing the envelope's MQTT message id: the worker acknowledges the envelope
    once, after the commit that holds all its records. A malformed envelope is one rejection.
    """
    items: list[Inbound] = []
    decoded: list[Accepted | Rejection] = []
    for inbound in batch:
        if not is_batch_topic(inbound.topic):
            items.append(inbound)
            decoded.append(decode_inbound(inbound))
            continue
        try:
            parts = split_batch(inbound.topic, inbound.payload)
        except ProtocolError as exc:
            items.append(inbound)
            decoded.append(Rejection(exc.code, f"batch envelope: {exc.reason}"))
            continue
        for topic, payload in parts:
            part = replace(inbound, topic=topic, payload=payload)
            items.append(part)
            decoded.append(decode_inbound(part))
    return items, decoded


def _load_devices(session: Session, ids: set[str]) -> dict[str, KnownDevice]:
    if not ids:
        return {}
    found = session.execute(
        select(Device.id, Device.public_key, Device.state, Device.station_id)
        .where(Device.id.in_(sorted(ids)))
    ).all()
    return {
        device_id: KnownDevice(device_id, key, state == DeviceStateValue.RETIRED, station)
        for device_id, key, state, station in found
    }
