"""Checking received messages: the contract (``protocol.decode``), the device, the signature.

Pure functions over bytes and a table of enrolled devices; no database, no MQTT, so every bad
input has a fast unit test. Each rejection carries a code (for counting and filtering) and a
reason an operator can act on without opening the payload.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel

from protocol import ProtocolError, decode, parse_topic
from protocol.registry import KIOSK_CHANNELS

from . import fast_verify
from .inbound import Accepted, Inbound, Rejection

log = logging.getLogger(__name__)

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

# KIOSK_CHANNELS: every channel a kiosk publishes on (protocol.registry): the ingest's
# subscriptions. The cloud's own (ack, roster, keys, cmd) are never ingested.
__all__ = ["KIOSK_CHANNELS", "KnownDevice", "check_device", "check_signature",
           "decode_inbound"]


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """What the checks need to know about an enrolled (or retired) device."""

    id: str
    public_key: str
    retired: bool
    station_id: str = ""


def decode_inbound(inbound: Inbound) -> Accepted | Rejection:
    """Check a message against the wire contract (everything but device and signature)."""
    try:
        channel = parse_topic(inbound.topic).channel
    except ProtocolError as exc:
        return Rejection(exc.code, exc.reason)
    if channel not in KIOSK_CHANNELS:
        return Rejection("bad_topic", f"{channel.value} messages come from the cloud, not a kiosk")
    try:
        decoded = decode(inbound.topic, inbound.payload)
    except ProtocolError as exc:
        return Rejection(exc.code, exc.reason)
    except Exception as exc:  # a bug in decoding must not stop the stream: file it, log it
        log.exception("unexpected error decoding a message on %s", inbound.topic)
        return Rejection("internal", f"decoding failed unexpectedly: {type(exc).__name__}")
    # JSON may carry U+0000 as \u0000; PostgreSQL text and JSONB cannot store it. Refuse it
    # here, with a reason, rather than fail the whole batch's transaction over and over.
    if b"\\u0000" in inbound.payload and _holds_nul(decoded.raw):
        return Rejection("unstorable", "payload holds a NUL character (\\u0000), which the "
                         "store cannot keep")
    # Likewise a lone UTF-16 surrogate (\ud800-\udfff without its pair): valid JSON escapes,
    # but not text, and no UTF-8 store can keep it.
    if _may_hold_surrogate(inbound.payload) and _holds_surrogate(decoded.raw):
        return Rejection("unstorable", "payload holds a lone UTF-16 surrogate (\\ud800-"
                         "\\udfff), which is not text and which the store cannot keep")
    # A valid ISO time whose UTC equivalent falls outside year 1..9999 (such as
    # 0001-01-01T00:30+01:00) cannot be stored in UTC. Refuse it here: failing in the store
    # would look like an outage and the batch would be retried for ever. Only years 0001 and
    # 9999 can overflow, and their text must appear in the payload as such or behind a \u
    # escape: the byte test keeps the walk (~18 µs) off the hot path for every other message.
    field = _unconvertible_time(decoded.message) if _may_hold_edge_year(inbound.payload) else None
    if field is not None:
        return Rejection("unstorable", f"field {field!r} holds a time with no UTC equivalent "
                         "(out of range), which the store cannot keep")
    return Accepted(inbound, decoded.topic, decoded.message, decoded.raw)


def check_device(accepted: Accepted, devices: Mapping[str, KnownDevice],
                 verified: Mapping[int, tuple[str, Rejection | None]] | None = None
                 ) -> Rejection | None:
    """Check that the sender is an enrolled device and that the message carries its signature.

    ``protocol.decode`` has already checked that the device id inside equals the topic's, so the
    topic's device is the signer whose key must verify.

    Args:
        verified: signature verdicts computed earlier (``check_signature``), by ``id`` of the
            accepted message, with the key they used; reused when that key is still the
            device's.
    """
    device = devices.get(accepted.device_id)
    if device is None:
        return Rejection("unknown_device", f"device {accepted.device_id!r} is not enrolled")
    if device.retired:
        return Rejection("retired_device", f"device {accepted.device_id!r} is retired")
    earlier = verified.get(id(accepted)) if verified is not None else None
    if earlier is not None and earlier[0] == device.public_key:
        return earlier[1]
    return check_signature(accepted, device.public_key)


def check_signature(accepted: Accepted, public_key: str) -> Rejection | None:
    """The signature check alone, against an enrolled key (no database needed)."""
    try:
        fast_verify.verify(accepted.raw, public_key)
    except ProtocolError as exc:
        return Rejection(exc.code, f"{exc.reason} (device {accepted.device_id!r})")
    return None


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _may_hold_surrogate(payload: bytes) -> bool:
    return _SURROGATE_ESCAPE.search(payload) is not None


def _holds_surrogate(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_holds_surrogate(k) or _holds_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_surrogate(v) for v in value)
    return False


def _may_hold_edge_year(payload: bytes) -> bool:
    return b'"0001-' in payload or b'"9999-' in payload or b"\\u" in payload


def _unconvertible_time(value: object, path: str = "") -> str | None:
    """The dotted path of the first datetime in ``value`` that has no UTC equivalent, if any."""
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except (OverflowError, ValueError):
            return path or "(message)"
        return None
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found = _unconvertible_time(getattr(value, name), f"{path}.{name}" if path else name)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _unconvertible_time(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _unconvertible_time(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    return None
