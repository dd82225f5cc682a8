"""Ids a kiosk makes that the cloud can tie back to that kiosk: certificate tokens and
producer ids.

Each id carries random bytes (the nonce) and a tag: the first bytes of SHA-256 over a domain
string, the maker's device id and the nonce. Anyone can check which device an id belongs to,
and nobody can make an id that belongs to another device *and* equals a given one (that would
take a SHA-256 preimage). So a kiosk that learns another kiosk's id (a token read off a printed
QR code, a producer id off a card) cannot claim it first: the cloud records an id only for the
kiosk it is bound to (docs/protocol.md, "Ids bound to their kiosk").

- A certificate token is ``base64url(nonce ‖ tag)``, 16 + 16 bytes (43 characters): the nonce
  keeps it unguessable (128 random bits); the human serial stays separate.
- A producer id is ``P-{station}-{nonce ‖ tag in hex}``, 5 + 5 bytes (20 hex digits): short
  enough to read off a card. The tag need not resist search: a dishonest kiosk has one device
  id, so it gets one try in 2^40 at matching another kiosk's id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

TOKEN_DOMAIN = b"nongan/v1/certificate-token\x00"
TOKEN_NONCE_BYTES = 16
TOKEN_TAG_BYTES = 16
PRODUCER_DOMAIN = b"nongan/v1/producer-id\x00"
PRODUCER_NONCE_BYTES = 5
PRODUCER_TAG_BYTES = 5
BOUND_PRODUCER_ID = re.compile(r"^P-([A-Za-z0-9]{1,16})-([0-9A-F]{20})$")
"""The shape of a producer id made by ``make_producer_id``: only ids of this shape are checked
(ids made before binding, or by other systems, have another shape)."""


def _tag(domain: bytes, device_id: str, nonce: bytes, size: int) -> bytes:
    # A device id never holds a NUL (DEVICE_ID_PATTERN), so the input is unambiguous.
    return hashlib.sha256(domain + device_id.encode("utf-8") + b"\x00" + nonce).digest()[:size]


def make_token(device_id: str, *, nonce: bytes | None = None) -> str:
    """A new public certificate token bound to ``device_id`` (128 random bits and a tag).

    Args:
        nonce: the 16 random bytes (tests only; normally drawn here).
    """
    nonce = secrets.token_bytes(TOKEN_NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != TOKEN_NONCE_BYTES:
        raise ValueError(f"a token nonce is {TOKEN_NONCE_BYTES} bytes")
    raw = nonce + _tag(TOKEN_DOMAIN, device_id, nonce, TOKEN_TAG_BYTES)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def token_belongs_to(token: str, device_id: str) -> bool:
    """Whether ``token`` was made by ``make_token(device_id)`` (False for any other shape)."""
    if len(token) != 43:
        return False
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return False
    # Only the canonical spelling: base64 ignores the last character's two spare bits.
    if (len(raw) != TOKEN_NONCE_BYTES + TOKEN_TAG_BYTES
            or base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token):
        return False
    nonce, tag = raw[:TOKEN_NONCE_BYTES], raw[TOKEN_NONCE_BYTES:]
    return hmac.compare_digest(tag, _tag(TOKEN_DOMAIN, device_id, nonce, TOKEN_TAG_BYTES))


def make_producer_id(device_id: str, station_id: str) -> str:
    """A new producer id, registered at ``device_id`` of ``station_id``, bound to the device."""
    nonce = secrets.token_bytes(PRODUCER_NONCE_BYTES)
    tag = _tag(PRODUCER_DOMAIN, device_id, nonce, PRODUCER_TAG_BYTES)
    return f"P-{station_id}-{(nonce + tag).hex().upper()}"


def producer_id_belongs_to(producer_id: str, device_id: str) -> bool | None:
    """Whether a producer id of the bound shape was made at ``device_id``; None for an id of
    another shape (not bound: nothing to check)."""
    match = BOUND_PRODUCER_ID.fullmatch(producer_id)
    if match is None:
        return None
    raw = bytes.fromhex(match.group(2))
    nonce, tag = raw[:PRODUCER_NONCE_BYTES], raw[PRODUCER_NONCE_BYTES:]
    return hmac.compare_digest(tag, _tag(PRODUCER_DOMAIN, device_id, nonce, PRODUCER_TAG_BYTES))
