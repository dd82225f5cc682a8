"""Alembic environment: migrates the connection handed over by ``cloud_bridge.store.migrate``.

There is no ``alembic.ini``: ``migrate()`` builds the configuration in code and passes an open
connection in ``config.attributes["connection"]``. SQLite gets batch mode, so later revisions
can alter tables (SQLite cannot ALTER most things in place).
"""

from __future__ import annotations

from alembic import context

from cloud_bridge.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations with `nongan bridge migrate` (cloud_bridge.store.migrate), "
        "not the alembic command"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
