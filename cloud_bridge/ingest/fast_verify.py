"""Signature checks for ingest: libsodium first, OpenSSL's verdict always.

``protocol.verify_object`` (cryptography, i.e. OpenSSL) is the definition. On these machines
libsodium (PyNaCl) verifies an Ed25519 signature in about half the time (~57 µs against
~110 µs), and verification is the largest cost of ingest. libsodium is the stricter of the
two (it also refuses small-order keys and points), so everything it accepts OpenSSL accepts:
a message libsodium accepts is accepted; anything else goes to ``protocol.verify_object``,
whose answer (and error) stands. The result is exactly OpenSSL's verdict, faster for the
messages that matter.
"""

from __future__ import annotations

import binascii
from functools import lru_cache
from typing import Any

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

from protocol import verify_object
from protocol.canonical import canonical_json
from protocol.errors import ProtocolError
from protocol.signing import SIGNATURE_FIELD, b64url_decode, load_public_key


@lru_cache(maxsize=8192)
def _sodium_key(text: str) -> VerifyKey | None:
    try:
        return VerifyKey(bytes(load_public_key(text).public_bytes_raw()))
    except (ProtocolError, CryptoError, ValueError, TypeError):
        return None


def verify(obj: dict[str, Any], public_key: str) -> None:
    """Check ``obj``'s signature against a device's enrolled key (base64url text).

    Raises:
        SignatureError: exactly when ``protocol.verify_object`` would.
    """
    key = _sodium_key(public_key)
    sig_text = obj.get(SIGNATURE_FIELD)
    if key is not None and isinstance(sig_text, str) and len(sig_text) == 86:
        try:
            signature = b64url_decode(sig_text)
            unsigned = {k: v for k, v in obj.items() if k != SIGNATURE_FIELD}
            key.verify(canonical_json(unsigned), signature)
            return
        except (BadSignatureError, CryptoError, ProtocolError, binascii.Error, ValueError):
            pass  # OpenSSL decides, with its own words
    verify_object(obj, load_public_key(public_key))
