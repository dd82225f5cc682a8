"""Fixed texts of the commitment compliance certificate (承诺达标合格证), 2025 styles, and
the rule that binds a certificate's public token to the kiosk that made it.

From MARA Order 2025 No. 4 (Certificate Management Measures, in force 2026-02-01). The promise
wording is fixed by style; both the kiosk (which issues) and the cloud (which checks and
re-issues for purchasers) use these, so they live with the wire contract.

A kiosk's token is ``base64url(nonce ‖ tag)``: 16 random bytes and the first 16 bytes of
SHA-256 over a domain string, the kiosk's device id and the nonce (43 characters). Anyone can
check which device a token belongs to, and nobody can make a token that belongs to another
device *and* equals a given one (that would take a SHA-256 preimage). So a kiosk that learns
another kiosk's token (from a printed QR code) cannot claim it first: the cloud records a
certificate only under a token bound to its sender (docs/protocol.md, "Certificate tokens").
The nonce keeps the token unguessable (128 random bits); the human serial stays separate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from .messages import CertificateStyle

TITLE = "承诺达标合格证"
TEMPLATE_VERSION = "MARA-2025-4"
TEMPLATE_VERSIONS = frozenset({TEMPLATE_VERSION})
"""The template versions the cloud accepts on a kiosk's certificate (add one when a new
style is introduced; keep an old one while its certificates may still arrive)."""

PROMISE_TEXT: dict[CertificateStyle, str] = {
    CertificateStyle.PRODUCER: (
        "我承诺生产销售的食用农产品：未使用禁用农药、兽药及其他化合物；"
        "使用的常规农药、兽药残留不超标。"
    ),
    CertificateStyle.PURCHASER: (
        "已按规定收取并保存该批次农产品承诺达标合格证或者其他质量安全合格证明；"
        "未违规使用保鲜剂、防腐剂、添加剂等。"
    ),
}

STYLE_NAME: dict[CertificateStyle, str] = {
    CertificateStyle.PRODUCER: "样式一",
    CertificateStyle.PURCHASER: "样式二",
}


def verify_url(public_base_url: str, token: str) -> str:
    """The URL a certificate's QR code carries: the cloud's public page for the token."""
    return f"{public_base_url.rstrip('/')}/c/{token}"


TOKEN_DOMAIN = b"nongan/v1/certificate-token\x00"
TOKEN_NONCE_BYTES = 16
TOKEN_TAG_BYTES = 16


def _token_tag(device_id: str, nonce: bytes) -> bytes:
    # A device id never holds a NUL (DEVICE_ID_PATTERN), so the input is unambiguous.
    digest = hashlib.sha256(TOKEN_DOMAIN + device_id.encode("utf-8") + b"\x00" + nonce).digest()
    return digest[:TOKEN_TAG_BYTES]


def make_token(device_id: str, *, nonce: bytes | None = None) -> str:
    """A new public certificate token bound to ``device_id`` (128 random bits and a tag).

    Args:
        nonce: the 16 random bytes (tests only; normally drawn here).
    """
    nonce = secrets.token_bytes(TOKEN_NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != TOKEN_NONCE_BYTES:
        raise ValueError(f"a token nonce is {TOKEN_NONCE_BYTES} bytes")
    raw = nonce + _token_tag(device_id, nonce)
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
    return hmac.compare_digest(tag, _token_tag(device_id, nonce))
