"""Several ledger records in one publish, for slow links.

Over a link with a 600 ms round trip, a window of 20 QoS 1 publishes moves about 33 records a
second; putting up to ``MAX_RECORDS`` records in each publish moves far more (docs/protocol.md).
A batch is an envelope, not a record of its own::

    nongan/v1/{device_id}/event/batch
    {"v": 1, "kind": "batch", "device_id": "...", "records": [<ledger message>, ...]}

Each record inside is a complete, signed ledger message, exactly as it would be published on
its own topic; the envelope is not signed (its records are). The receiver splits the envelope
and handles every record as if it had arrived on its own topic (``split_batch``), so a bad
record is refused on its own and never takes its neighbours down with it.
"""

from __future__ import annotations

from .canonical import canonical_json
from .codec import MAX_PAYLOAD_BYTES, parse_json_object
from .errors import ProtocolError
from .messages import MAX_BATCH_RECORDS, SCHEMA_VERSION
from .registry import EVENT_KINDS
from .topics import Channel, EventName, event_topic, parse_topic

MAX_RECORDS = MAX_BATCH_RECORDS

EVENT_FOR_KIND: dict[str, EventName] = {kind: event for event, kind in EVENT_KINDS.items()}


def is_batch_topic(topic: str) -> bool:
    return topic.endswith(f"/{Channel.EVENT.value}/{EventName.BATCH.value}")


def make_batch(device_id: str, records: list[bytes]) -> bytes:
    """The envelope for already sealed records (their exact bytes go in, re-read as JSON).

    Raises:
        ProtocolError: no records, too many, or an envelope over the payload limit.
    """
    if not 1 <= len(records) <= MAX_RECORDS:
        raise ProtocolError(f"a batch holds 1 to {MAX_RECORDS} records, not {len(records)}")
    envelope = {"v": SCHEMA_VERSION, "kind": "batch", "device_id": device_id,
                "records": [parse_json_object(r) for r in records]}
    payload = canonical_json(envelope)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"a batch of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return payload


def split_batch(topic: str, payload: bytes) -> list[tuple[str, bytes]]:
    """The records of a batch, each with the topic it would have had on its own.

    Each record's bytes are its canonical JSON, which is what the kiosk signed and stored.
    Records are not validated here: each goes through ``protocol.decode`` on its own.

    Raises:
        ProtocolError: the envelope itself is malformed (then the whole publish is refused).
    """
    parsed = parse_topic(topic)
    envelope = parse_json_object(payload)
    if envelope.get("v") != SCHEMA_VERSION:
        raise ProtocolError(f"batch schema version {envelope.get('v')!r} is not supported",
                            code="bad_version")
    if envelope.get("kind") != "batch":
        raise ProtocolError("a message on event/batch must have kind 'batch'", code="schema")
    if envelope.get("device_id") != parsed.device_id:
        raise ProtocolError(
            f"batch says device {envelope.get('device_id')!r} but was published on "
            f"{parsed.device_id!r}'s topic", code="device_mismatch")
    records = envelope.get("records")
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
        raise ProtocolError(f"a batch's records must be a list of 1 to {MAX_RECORDS}",
                            code="schema")
    extra = set(envelope) - {"v", "kind", "device_id", "records"}
    if extra:
        raise ProtocolError(f"unexpected batch members: {sorted(extra)}", code="schema")
    parts: list[tuple[str, bytes]] = []
    for record in records:
        kind = record.get("kind") if isinstance(record, dict) else None
        event = EVENT_FOR_KIND.get(kind) if isinstance(kind, str) else None
        # An unknown kind still gets a topic, so that decoding files it with a reason.
        name = event.value if event is not None else "unknown"
        parts.append((event_topic(parsed.device_id, name), canonical_json(record)))
    return parts
