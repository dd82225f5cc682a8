"""The text patterns the cloud checks, taken from the wire contract where it has them.

``protocol.messages`` declares its string types (``Token``, ``Code``, ``PlaceCode``...) as
annotated strings; the cloud reuses those types for its request bodies, and their patterns
(``pattern_of``) where it needs a plain regular expression: a path parameter, a hand check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from pydantic import StringConstraints

from protocol.messages import Code, PlaceCode, Token
from protocol.topics import DEVICE_ID_PATTERN


def pattern_of(annotated: Any) -> str:
    """The regular expression of an annotated string type (``Annotated[str, StringConstraints
    (pattern=...)]``)."""
    for meta in get_args(annotated)[1:]:
        if isinstance(meta, StringConstraints) and isinstance(meta.pattern, str):
            return meta.pattern
    raise ValueError(f"{annotated!r} declares no pattern")


TOKEN_PATTERN = pattern_of(Token)
TOKEN_RULE = "a certificate token is 22-64 characters of A-Z, a-z, 0-9, '_' and '-'"
"""What ``TOKEN_PATTERN`` asks, in words (the ``malformed_token`` answer)."""
CODE_PATTERN = pattern_of(Code)
PLACE_CODE_PATTERN = pattern_of(PlaceCode)
STATION_PATTERN = r"^[A-Za-z0-9]{2,16}$"
"""A station id as enrolment accepts it (letters and digits; the contract's is a ``Code``)."""


RESERVED_NAMES = frozenset({"nongan", "admin", "administrator", "root", "mosquitto", "broker",
                            "localhost", "cloud", "bridge", "dynsec"})
"""Names no kiosk may have: a kiosk's id is its broker username, and these are (or could be
mistaken for) the accounts of the broker, the cloud and their administrators."""
RESERVED_PREFIXES = ("nongan-", "admin-", "$")
"""Prefixes no kiosk id may start with: ``nongan-*`` is the cloud's own accounts and client ids
(``nongan-bridge``, ``nongan-admin``, ``nongan-bridge-1``...); ``$`` is the broker's."""


def reserved_reason(name: str, cloud_users: Iterable[str] = ()) -> str | None:
    """Why ``name`` can never be a kiosk's id (None if it can).

    Args:
        cloud_users: the cloud's own broker accounts and client ids from the settings.
    """
    lowered = name.lower()
    for user in (u.lower() for u in cloud_users):
        if lowered == user:
            return f"{name!r} is one of the cloud's own broker accounts"
        if lowered.startswith(user + "-"):  # a worker's client id: {client_id}-1, -2 ...
            return f"{name!r} is named like the cloud's own account {user!r} and its workers"
    if lowered in RESERVED_NAMES:
        return f"{name!r} is a reserved name (the broker's or the cloud's)"
    for prefix in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            return f"{name!r} starts with {prefix!r}, which is reserved for the cloud's accounts"
    return None


__all__ = ["CODE_PATTERN", "DEVICE_ID_PATTERN", "PLACE_CODE_PATTERN", "RESERVED_NAMES",
           "RESERVED_PREFIXES", "STATION_PATTERN", "TOKEN_PATTERN", "TOKEN_RULE", "pattern_of",
           "reserved_reason"]
