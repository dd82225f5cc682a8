"""Database errors as the bridge reads them: an outage to wait out, or something to report.

``is_outage`` decides what the ingest worker retries: the database (or the way to it) being
unavailable, or busy for a moment. Everything else a statement raises is the store refusing
*this* data (a value too long, an index row too big, a constraint, a NUL character, a number
out of range...) or a bug; retrying it would stall the stream for ever, so the ingest writer
isolates the message that causes it and files it as a dead letter instead.

The class of the driver's exception is not enough: psycopg raises "index row size exceeds the
btree maximum" (SQLSTATE 54000, one oversized message) as an ``OperationalError``, the same
class as "connection refused". So PostgreSQL errors are read by SQLSTATE and SQLite errors by
their result code; only an error without either falls back to its class.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from cloud_bridge.errors import StoreError

OUTAGE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeoutError)
"""The error classes that may mean "the database is unavailable" (refined by ``is_outage``)."""

# SQLSTATE classes and codes that say nothing about the data sent: the server or the way to it.
_PG_OUTAGE_CLASSES = frozenset({
    "08",  # connection exception
    "40",  # transaction rollback: serialization failure, deadlock (try again)
    "53",  # insufficient resources: disk full, out of memory, too many connections
    "57",  # operator intervention: shutdown, cannot connect now, query cancelled / timed out
    "58",  # system error: I/O
})
_PG_OUTAGE_CODES = frozenset({
    "25006",  # read-only transaction: connected to a standby (a failover under way)
    "25P03",  # idle-in-transaction timeout: the server closed the session
    "55P03",  # lock not available (lock_timeout)
    "55006",  # object in use
    "42P01",  # undefined table   } the schema is not the one this code needs: wait for
    "42703",  # undefined column  } `nongan bridge migrate`, never file every message away
    "42501",  # insufficient privilege: the database role's grants, not the message
    "XX001",  # data corrupted    } the store itself is damaged
    "XX002",  # index corrupted   }
})

# SQLite primary result codes of a database that cannot be used right now.
_SQLITE_OUTAGE_CODES = frozenset({
    5,   # SQLITE_BUSY
    6,   # SQLITE_LOCKED
    7,   # SQLITE_NOMEM
    8,   # SQLITE_READONLY
    9,   # SQLITE_INTERRUPT
    10,  # SQLITE_IOERR
    11,  # SQLITE_CORRUPT
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
    15,  # SQLITE_PROTOCOL
    26,  # SQLITE_NOTADB
})
_SQLITE_SCHEMA_WORDS = ("no such table", "no such column")


class StoreUnwritable(StoreError):
    """The store refused even a fixed, minimal dead-letter row: the fault is the store's, not
    any message's. Retried like an outage."""

    code = "store_unwritable"
    translation_key = "error.store_unwritable"


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unavailable (worth retrying), not bad data or a bug.

    Args:
        exc: an exception raised by a statement (SQLAlchemy wraps the driver's in ``orig``).
    """
    if isinstance(exc, StoreUnwritable | PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False  # a Python error while binding a value (OverflowError...) or a bug
    if exc.connection_invalidated:
        return True  # SQLAlchemy recognised a lost connection and invalidated the pool
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate[:2] in _PG_OUTAGE_CLASSES or sqlstate in _PG_OUTAGE_CODES
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF in _SQLITE_OUTAGE_CODES:
            return True
        return any(words in str(orig) for words in _SQLITE_SCHEMA_WORDS)
    # No SQLSTATE and no result code: a connection that failed before the server answered
    # (psycopg raises those as OperationalError without a SQLSTATE), or an unknown driver.
    return isinstance(exc, OperationalError | InterfaceError)


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE (PostgreSQL) or SQLite result code name of a database error, if any."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return str(sqlstate)
    name = getattr(orig, "sqlite_errorname", None)
    return str(name) if name else None


def first_line(exc: BaseException) -> str:
    """The first line of a (database) error, for a log line or a message: the driver's own
    message when there is one, else the exception's, else its type."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
