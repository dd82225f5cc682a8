"""A fresh PostgreSQL schema per test run on the machine's server (127.0.0.1:5432, trust)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN_URL = os.environ.get(
    "NONGAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - dev extra missing
        return f"psycopg not installed: {exc}"
    dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {dsn} unavailable: {exc}".strip()


@contextmanager
def fresh_schema() -> Iterator[str]:
    """Create a new schema, yield a SQLAlchemy URL whose search_path is that schema, drop it."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    dsn = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    sep = "&" if "?" in POSTGRES_ADMIN_URL else "?"
    try:
        yield f"{POSTGRES_ADMIN_URL}{sep}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
