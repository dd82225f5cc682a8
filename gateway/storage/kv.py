"""The kiosk database's ``kv`` table: small named values (counters, versions, the clock floor).

Every function takes an open connection (``KioskDatabase.read()`` or ``.transaction()``), so a
value is read or written in the same transaction as the records it describes. Values are
stored as text.

Keys in use: ``last_seq``, ``acked_seq``, ``acked_at`` and ``clock_floor`` (the outbox's),
``link_connected_at`` and ``link_disconnected_at`` (the link's, through the outbox), and
``roster_version`` (the producer registry's).
"""

from __future__ import annotations

import sqlite3
from typing import overload

LAST_SEQ = "last_seq"
"""The latest ledger seq this kiosk has given a record (written by the outbox)."""
ACKED_SEQ = "acked_seq"
"""The highest ledger seq the cloud has acknowledged (written by the outbox)."""
ROSTER_VERSION = "roster_version"
"""The version of the producer roster held (written by the producer registry)."""
CLOCK_FLOOR = "clock_floor"
"""The latest synchronised time stamped on a record (written by the outbox)."""
ACKED_AT = "acked_at"
"""When the cloud's ack last moved forward (ISO time, kiosk clock; written by the outbox)."""
LINK_CONNECTED_AT = "link_connected_at"
"""When the link last connected to the broker (written through ``Outbox.note_link``)."""
LINK_DISCONNECTED_AT = "link_disconnected_at"
"""When the link last lost or left the broker, or the gateway started (idem)."""


def get(conn: sqlite3.Connection, key: str) -> str | None:
    """The value stored under ``key``, or None when there is none."""
    row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


@overload
def get_int(conn: sqlite3.Connection, key: str) -> int | None: ...
@overload
def get_int(conn: sqlite3.Connection, key: str, default: int) -> int: ...
def get_int(conn: sqlite3.Connection, key: str, default: int | None = None) -> int | None:
    """The integer stored under ``key``, or ``default`` when there is none."""
    value = get(conn, key)
    return int(value) if value is not None else default


def set(conn: sqlite3.Connection, key: str, value: object) -> None:
    """Store ``str(value)`` under ``key``, replacing what was there."""
    conn.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, str(value)),
    )


__all__ = ["ACKED_AT", "ACKED_SEQ", "CLOCK_FLOOR", "LAST_SEQ", "LINK_CONNECTED_AT",
           "LINK_DISCONNECTED_AT", "ROSTER_VERSION", "get", "get_int", "set"]
