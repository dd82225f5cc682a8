"""Decoding and encoding of wire messages: topic + bytes <-> validated model.

``decode`` is the single gate every received message passes, at the cloud (kiosk messages) and
at the kiosk (acks and commands). It checks, in order, and raises ``ProtocolError`` with a
reason a person can read at the first failure:

1. the topic has a known shape and a valid device id;
2. the payload is at most ``MAX_PAYLOAD_BYTES`` and is a UTF-8 JSON object;
3. its schema version is one this code speaks;
4. it validates against the model for that topic;
5. the device id inside equals the device id of the topic.

Signatures are checked separately (``protocol.signing.verify_object``) because that needs the
device's registered key, which only the receiver knows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from .canonical import canonical_json
from .errors import ProtocolError
from .messages import SCHEMA_VERSION
from .registry import CHANNEL_MODELS, EVENT_KINDS, EVENT_MODELS, message_type
from .signing import sign_object
from .topics import Channel, EventName, Topic, parse_topic

MAX_PAYLOAD_BYTES = 256 * 1024

__all__ = [  # the maps are protocol.registry's, re-exported where they have always been read
    "CHANNEL_MODELS", "EVENT_KINDS", "EVENT_MODELS", "MAX_PAYLOAD_BYTES", "Decoded", "decode",
    "describe_validation_error", "encode", "model_for", "parse_json_object", "seal",
    "validation_problems",
]


@dataclass(frozen=True, slots=True)
class Decoded:
    """A message that passed every check but the signature."""

    topic: Topic
    message: BaseModel
    raw: dict[str, Any]
    """The JSON object exactly as received: verify signatures over this, never the model."""


def model_for(topic: Topic) -> type[BaseModel]:
    if topic.channel is Channel.EVENT:
        try:
            return EVENT_MODELS[EventName(topic.name or "")]
        except (KeyError, ValueError):
            raise ProtocolError(f"unknown event type {topic.name!r}", code="bad_topic") from None
    return CHANNEL_MODELS[topic.channel]


def parse_json_object(payload: bytes) -> dict[str, Any]:
    """Parse a payload as one JSON object, with a readable reason on failure."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(
            f"payload of {len(payload)} bytes exceeds the limit of {MAX_PAYLOAD_BYTES}",
            code="too_large",
        )
    try:
        obj = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant,
                         parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"payload is not UTF-8: {exc.reason} at byte {exc.start}",
                            code="malformed") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"payload is not valid JSON: {exc}", code="malformed") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(f"payload is a JSON {type(obj).__name__}, not an object",
                            code="malformed")
    return obj


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"payload holds {name}, which JSON does not allow", code="malformed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e400 parses as infinity, which JSON cannot say and no JSON column can keep.
        raise ProtocolError(f"payload holds the number {text[:40]}, too large for a float",
                            code="malformed")
    return value


def validation_problems(exc: ValidationError, limit: int, *,
                        whole: str = "(message)") -> tuple[list[str], int]:
    """'field: problem' for each of the first ``limit`` errors of ``exc`` (``whole`` names an
    error of the whole object), and how many errors are left out."""
    parts = [f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}"
             for err in exc.errors()[:limit]]
    return parts, max(0, exc.error_count() - limit)


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """Summarise a pydantic error as 'field: problem; ...' for people, without the payload."""
    parts, more = validation_problems(exc, limit)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def decode(topic: str, payload: bytes) -> Decoded:
    """Validate a received message against the contract (everything but its signature)."""
    parsed_topic = parse_topic(topic)
    obj = parse_json_object(payload)
    version = obj.get("v")
    if version != SCHEMA_VERSION:
        raise ProtocolError(
            f"schema version {version!r} is not supported (this code speaks {SCHEMA_VERSION})",
            code="bad_version",
        )
    model_cls = model_for(parsed_topic)
    try:
        message = model_cls.model_validate(obj)
    except ValidationError as exc:
        raise ProtocolError(
            f"{model_cls.__name__} does not match the schema: {describe_validation_error(exc)}",
            code="schema",
        ) from exc
    inner_device = getattr(message, "device_id", None)
    if inner_device is not None and inner_device != parsed_topic.device_id:
        raise ProtocolError(
            f"message says device {inner_device!r} but was published on "
            f"{parsed_topic.device_id!r}'s topic",
            code="device_mismatch",
        )
    named_by = message_type(message).topic_name_field
    if named_by is not None:
        # Cloud -> kiosk: the topic's page or command name is the message's own, or the kiosk
        # would file a page under the wrong number or answer on another command's topic.
        inner = str(getattr(message, named_by))
        if inner != parsed_topic.name:
            raise ProtocolError(f"message is {getattr(message, 'kind', '?')} {inner!r} but "
                                f"was published on {parsed_topic.name!r}", code="bad_topic")
    return Decoded(parsed_topic, message, obj)


def encode(obj: dict[str, Any] | BaseModel) -> bytes:
    """Serialise a message for the wire: the canonical JSON bytes (RFC 8785)."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    return canonical_json(obj)


def seal(
    model_cls: type[BaseModel], fields: dict[str, Any], key: Ed25519PrivateKey
) -> tuple[BaseModel, bytes]:
    """Sign a kiosk message and check it against its own model before it is stored or sent.

    ``fields`` is every member but ``sig`` (datetimes and dates become JSON text). Returns the
    validated model and the exact bytes to publish, so what is stored in the outbox is what the
    cloud will verify.

    Raises:
        ProtocolError: the fields do not make a valid message (a bug at the sender).
    """
    signed = sign_object(to_jsonable_python(fields), key)
    try:
        model = model_cls.model_validate(signed)
    except ValidationError as exc:
        raise ProtocolError(
            f"refusing to send an invalid {model_cls.__name__}: {describe_validation_error(exc)}",
            code="schema",
        ) from exc
    return model, canonical_json(signed)
