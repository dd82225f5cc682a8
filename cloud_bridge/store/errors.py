"""Database errors as the bridge reads them: an outage to wait out, or something to report.

``is_outage`` decides what the ingest worker retries: the database (or the way to it) being
unavailable. Anything else a statement raises (a value the driver cannot bind, a constraint
the code did not expect) is a bug or a bad message, and retrying it would only stall the stream.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

OUTAGE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeoutError)
"""The errors that mean "the database is unavailable": connection refused or lost, pool empty."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unavailable (worth retrying), not a bug or bad data."""
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    # Any driver error SQLAlchemy recognised as a lost connection (it invalidated the pool).
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def first_line(exc: BaseException) -> str:
    """The first line of a (database) error, for a log line or a message: the driver's own
    message when there is one, else the exception's, else its type."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
