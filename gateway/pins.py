"""Producers' PINs: kept only as scrypt hashes, ``scrypt$N$r$p$salt$hash`` (base64url).

A PIN is 4 to 6 digits a producer types on the kiosk's keypad to confirm that the name they
picked from the recent list is theirs. It is hashed the moment it arrives and never stored,
logged or sent in clear. Hashes made elsewhere (the cloud's roster) are checked with the
parameters they carry, within limits, so a hostile roster cannot make the kiosk spend minutes
or gigabytes on one check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from .errors import ProducerError

N, R, P = 2**14, 8, 1
"""About 50 ms on a Raspberry Pi 4: slow for a guesser, unnoticed by a person."""
MAX_N = 2**17
SALT_BYTES = 16
HASH_BYTES = 32
PIN_PATTERN = re.compile(r"^[0-9]{4,6}$")


class BadPin(ProducerError):
    """A PIN that is not 4 to 6 digits."""

    code = "pin_format"
    translation_key = "notice.pin_format"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_pin_format(pin: str) -> str:
    """The PIN if it is 4 to 6 digits.

    Raises:
        BadPin: anything else.
    """
    if not PIN_PATTERN.fullmatch(pin):
        raise BadPin("a PIN is 4 to 6 digits")
    return pin


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The storable hash of a PIN.

    Raises:
        BadPin: not 4 to 6 digits.
    """
    check_pin_format(pin)
    salt = salt or secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=HASH_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def pin_matches(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches ``stored``; False for a malformed or over-expensive hash."""
    if not PIN_PATTERN.fullmatch(pin):
        return False
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    if not (2 <= n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= 16 and 1 <= p <= 4):
        return False
    try:
        digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                                maxmem=256 * 1024 * 1024)
    except ValueError:
        return False
    return hmac.compare_digest(digest, expected)
