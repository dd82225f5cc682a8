"""INSERT ... ON CONFLICT for SQLite and PostgreSQL through one call.

Both databases speak the same upsert (SQLite since 3.24), but SQLAlchemy builds it from each
dialect's own ``insert``; this picks the right one for the session's connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

SetClause = Callable[[Table, Any], Mapping[str, Any]]
"""Given the table and the ``excluded`` pseudo-table, the columns to update on conflict."""


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    set_: SetClause | None = None,
    where: Callable[[Table, Any], ColumnElement[bool]] | None = None,
) -> None:
    """Insert ``rows``; on a conflict on ``key``, update with ``set_`` (or do nothing).

    PostgreSQL refuses to update one row twice in one statement: callers pass rows whose keys
    are distinct.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_fn(table)
    if set_ is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    else:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_=dict(set_(table, stmt.excluded)),
            where=where(table, stmt.excluded) if where is not None else None,
        )
    session.execute(stmt, list(rows))
