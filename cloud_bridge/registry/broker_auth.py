"""Kiosk broker credentials for Mosquitto: per-kiosk passwords, the password file and the ACL.

Every kiosk logs in to the broker as its device id, with a password made at enrolment (shown
once) or with a client certificate whose common name is its device id (``nongan pki``). The
cloud keeps only the Mosquitto password-file hash (``$7$`` = PBKDF2-SHA512, the format
``mosquitto_passwd`` writes), and ``nongan bridge broker-files`` writes the password file and
the ACL of every enrolled kiosk for the broker to load (SIGHUP reloads them). A retired kiosk
disappears from both files, so it can no longer even connect.

The ACL (``hardware/deploy/mosquitto/acl``) uses Mosquitto's ``%u`` patterns: a kiosk may
publish only under ``nongan/v1/{its id}/`` on its own channels, and read only its own ack,
roster and commands.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable

ITERATIONS = 101  # mosquitto_passwd's default for $7$ in Mosquitto 2.0
SALT_BYTES = 12

KIOSK_ACL = """\
# Kiosks: each one only under its own prefix (the username is the device id; with client
# certificates, the certificate's common name). Mosquitto checks reads at delivery too.
pattern write nongan/v1/%u/status
pattern write nongan/v1/%u/telemetry
pattern write nongan/v1/%u/event/+
pattern write nongan/v1/%u/cmd-result/+
pattern read nongan/v1/%u/ack
pattern read nongan/v1/%u/roster
pattern read nongan/v1/%u/cmd/+
"""


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


def acl_file(cloud_users: Iterable[str]) -> str:
    """The ACL: full rights on the tree for the cloud's accounts, the kiosk patterns after."""
    lines = ["# Written by `nongan bridge broker-files`; edits are overwritten.", ""]
    for user in sorted(cloud_users):
        lines += [f"user {user}", "topic readwrite nongan/v1/#", ""]
    return "\n".join(lines) + "\n" + KIOSK_ACL
