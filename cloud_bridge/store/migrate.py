"""Schema migrations, run from code: ``migrate(url)`` or ``nongan bridge migrate``.

The Alembic environment and revisions live inside this package
(``cloud_bridge/store/migrations``), so an installed bridge can migrate its database without
an ``alembic.ini`` or a checkout. ``require_current_schema`` lets a worker refuse to start on a
database that was never migrated, instead of dead-lettering every message on "no such table".
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from cloud_bridge.errors import StoreError

from .engine import make_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class SchemaError(StoreError, RuntimeError):
    """The database's schema is not the one this code needs (run ``nongan bridge migrate``)."""

    code = "schema"
    translation_key = "error.schema"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(database: str | Engine, revision: str = "head") -> str:
    """Bring a database's schema up to ``revision`` (default: the newest).

    Args:
        database: a SQLAlchemy URL or an engine from ``make_engine``.
        revision: an Alembic revision id, or ``head``.

    Returns:
        The revision the database is at afterwards.
    """
    engine = make_engine(database) if isinstance(database, str) else database
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return current_revision(engine) or ""
    finally:
        if isinstance(database, str):
            engine.dispose()


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaError unless the database is migrated to this code's newest revision."""
    try:
        current = current_revision(engine)
    except Exception as exc:  # a database we cannot even read: say so in one line
        raise SchemaError(f"cannot read the schema version: {exc}") from exc
    head = head_revision()
    if current != head:
        raise SchemaError(
            f"database schema is at {current or 'nothing (never migrated)'}, this code needs "
            f"{head}: run `nongan bridge migrate`"
        )
