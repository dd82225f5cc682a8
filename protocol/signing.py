"""Ed25519 signatures over canonical JSON, one key pair per device.

A signed message is a JSON object with a ``sig`` member: the base64url (unpadded) Ed25519
signature over the RFC 8785 canonical JSON of the same object *without* ``sig``. Signing the
whole object, not only its body, binds the device id, sequence number, message id and clock
reading to the content, so none of them can be altered or replayed under another number.

Public keys travel as base64url of their 32 raw bytes; private keys live on the kiosk as PKCS#8
PEM files (see ``gateway.identity``).

The cloud signs what it tells a kiosk (acks, rosters, commands, key sets) the same way, with one
more member inside the signed object: ``kid``, the id of the cloud key that signed it
(``key_id``: derived from the public key, so it cannot name another key). A kiosk pins a set of
cloud keys by id at enrolment and checks every cloud message against it
(``verify_cloud_object``); see docs/protocol.md, "The cloud's signature".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import canonical_json
from .errors import ProtocolError, SignatureError

SIGNATURE_FIELD = "sig"
KEY_ID_FIELD = "kid"
KEY_ID_LENGTH = 16
"""A key id is the first 16 base64url characters (96 bits) of the SHA-256 of the raw key."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The base64url text of a public key (43 characters), as enrolled in the cloud."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url_encode(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """Parse a base64url public key; raises SignatureError with a readable reason."""
    try:
        raw = b64url_decode(text)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"public key is not base64url: {exc}") from exc
    if len(raw) != 32:
        raise SignatureError(f"public key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def sign_object(obj: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Return a copy of ``obj`` with its ``sig`` member set (any old ``sig`` is replaced)."""
    unsigned = {k: v for k, v in obj.items() if k != SIGNATURE_FIELD}
    signature = key.sign(canonical_json(unsigned))
    return {**unsigned, SIGNATURE_FIELD: b64url_encode(signature)}


def verify_object(obj: dict[str, Any], public_key: Ed25519PublicKey | str, *,
                  whose: str = "the device's registered key") -> None:
    """Check the ``sig`` member of a received JSON object against a device's public key.

    Verify the object exactly as received (parsed JSON), never a re-serialised model: a model
    may add defaults or reformat values, which would change the signed bytes.

    Raises:
        SignatureError: no signature, a malformed one, or one that does not match.
    """
    if isinstance(public_key, str):
        public_key = load_public_key(public_key)
    sig_text = obj.get(SIGNATURE_FIELD)
    if not isinstance(sig_text, str) or not sig_text:
        raise SignatureError("message is not signed (no 'sig' member)")
    try:
        signature = b64url_decode(sig_text)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not base64url") from exc
    if len(signature) != 64:
        raise SignatureError(f"signature must be 64 bytes, got {len(signature)}")
    unsigned = {k: v for k, v in obj.items() if k != SIGNATURE_FIELD}
    try:
        signed_bytes = canonical_json(unsigned)
    except ProtocolError as exc:
        # The sender signs canonical bytes, so a value with no canonical form (an integer
        # beyond 2**53, say) was never signed by a well-behaved kiosk: it is a forgery or
        # corruption, and the operator should see it as a signature failure.
        raise SignatureError(f"message has no canonical form, so no signature can match: "
                             f"{exc.reason}") from exc
    try:
        public_key.verify(signature, signed_bytes)
    except InvalidSignature as exc:
        raise SignatureError(f"signature does not match {whose}") from exc


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | str) -> str:
    """The id of a public key (of a private key's public half): 16 base64url characters of the
    SHA-256 of its 32 raw bytes. An id names a key; it never replaces checking the key."""
    if isinstance(key, str):
        key = load_public_key(key)
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url_encode(hashlib.sha256(raw).digest())[:KEY_ID_LENGTH]


def sign_cloud_object(obj: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign a cloud -> kiosk message: set ``kid`` to the signing key's id, then ``sig`` over
    everything else (``kid`` included, so a signature cannot be moved under another id)."""
    return sign_object({**obj, KEY_ID_FIELD: key_id(key)}, key)


def verify_cloud_object(obj: dict[str, Any],
                        trusted: Mapping[str, Ed25519PublicKey | str]) -> str:
    """Check a cloud message's ``kid`` and ``sig`` against the keys a kiosk trusts (by id).

    Returns:
        The id of the key that signed it.

    Raises:
        SignatureError: no ``kid`` or ``sig``, a key id that is not trusted, or a signature that
            does not match that key.
    """
    kid = obj.get(KEY_ID_FIELD)
    if not isinstance(kid, str) or not kid:
        raise SignatureError("message is not signed by the cloud (no 'kid' member)")
    public = trusted.get(kid)
    if public is None:
        raise SignatureError(f"message is signed by cloud key {kid!r}, which this kiosk does "
                             "not trust")
    verify_object(obj, public, whose=f"cloud key {kid}")
    return kid
