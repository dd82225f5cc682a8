"""Engines for SQLite (default) and PostgreSQL (psycopg 3), set up the way the store needs.

SQLite: WAL (readers never wait for the writer), ``synchronous=FULL`` (a commit that the bridge
acknowledges to the broker must survive a power cut), a busy timeout, foreign keys on. Python
3.11's pysqlite opens transactions behind SQLAlchemy's back and breaks SAVEPOINT; the event
hooks below are SQLAlchemy's documented workaround ("Serializable isolation / Savepoints /
Transactional DDL" in the SQLite dialect docs): pysqlite's own transaction handling is turned
off and SQLAlchemy emits BEGIN itself. Writers emit ``BEGIN IMMEDIATE`` so that two writers
never both read and then both try to upgrade to a write lock (which SQLite answers with an
immediate "database is locked", not a wait).

PostgreSQL: ``postgresql://`` URLs are given the psycopg (3) driver; pre-ping, so a pool
survives a database restart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


def normalise_url(url: str) -> str:
    """Give a bare ``postgresql://`` URL the psycopg 3 driver (SQLAlchemy defaults to psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str,
    *,
    writer: bool = True,
    busy_timeout_ms: int = 5000,
    pool_size: int = 5,
    **kwargs: Any,
) -> Engine:
    """Create an engine for the store.

    Args:
        url: a SQLAlchemy URL (``sqlite:///file.db`` or ``postgresql[+psycopg]://...``).
        writer: on SQLite, open transactions with ``BEGIN IMMEDIATE`` (for the ingest workers
            and commands that write); False gives plain deferred transactions for readers.
        busy_timeout_ms: SQLite's wait for another connection's lock.
        pool_size: PostgreSQL pool size.
        kwargs: passed to ``sqlalchemy.create_engine``.
    """
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, writer=writer, busy_timeout_ms=busy_timeout_ms, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", pool_size)
    return create_engine(url, **kwargs)


def _sqlite_engine(url: str, *, writer: bool, busy_timeout_ms: int, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if not database or database == ":memory:":
        # Every pooled connection would be its own empty database.
        raise ValueError("the store needs a SQLite file, not an in-memory database")
    connect_args = dict(kwargs.pop("connect_args", {}))
    # The pool hands a connection to one thread at a time; pysqlite's check is for code that
    # shares one connection between threads, which we never do.
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", busy_timeout_ms / 1000)
    # A connection per checkout is cheap on SQLite and leaves no open file behind a test.
    kwargs.setdefault("poolclass", NullPool)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    begin_sql = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from emitting BEGIN itself (the SAVEPOINT workaround).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_sql)

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the API returns them)."""
    return sessionmaker(engine, expire_on_commit=False)

