"""Kiosk broker passwords for Mosquitto: made at enrolment, kept as hashes, the password file.

Every kiosk logs in to the broker as its device id, with a password made at enrolment (shown
once) or with a client certificate whose common name is its device id (``nongan pki``). The
cloud keeps only the Mosquitto password-file hash (``$7$`` = PBKDF2-SHA512, the format
``mosquitto_passwd`` writes), and ``nongan bridge broker-files`` writes the password file of
every enrolled kiosk for the broker to load (SIGHUP reloads it); a retired kiosk disappears
from it. What each login may do is the dynamic security plugin's (``cloud_bridge.broker``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable

ITERATIONS = 101  # mosquitto_passwd's default for $7$ in Mosquitto 2.0
SALT_BYTES = 12

def new_password() -> str:
    """A random broker password (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def mosquitto_hash(password: str, *, salt: bytes | None = None,
                   iterations: int = ITERATIONS) -> str:
    """Hash a password the way ``mosquitto_passwd`` does (``$7$iterations$salt$hash``)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (for tests and diagnostics)."""
    try:
        _, kind, iterations, salt, _digest = stored.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    again = mosquitto_hash(password, salt=base64.b64decode(salt), iterations=int(iterations))
    return secrets.compare_digest(again, stored)


def password_file(entries: Iterable[tuple[str, str]]) -> str:
    """A Mosquitto password file from ``(username, hash)`` pairs."""
    return "".join(f"{user}:{hashed}\n" for user, hashed in sorted(entries))
