"""What every ``nongan bridge`` verb shares: its settings, its one-line errors, its database
session and who is acting.

The verbs live in ``cloud_bridge.cli`` (and ``cli_admin``, ``cli_broker``, ``cli_dead_letters``,
``cli_notify``, which ``cli`` registers); they all import these helpers from here, so no verb
module imports another's private parts and ``cli`` is imported by nothing but the ``nongan``
dispatcher.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cloud_bridge.errors import BridgeError
from cloud_bridge.settings import BridgeSettings, ConfigError, DatabaseSection, load_settings
from protocol.config import describe_error


class CommandError(BridgeError):
    """A problem the user can fix; printed as one line."""

    code = "command_line"
    translation_key = "error.command_line"

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def settings_from(args: argparse.Namespace) -> BridgeSettings:
    """The settings a verb runs with: ``--config`` (else ``$NONGAN_BRIDGE_CONFIG``), the
    ``NONGAN_BRIDGE_*`` variables, then ``--database-url``."""
    path = args.config
    if path is None and os.environ.get("NONGAN_BRIDGE_CONFIG"):
        path = Path(os.environ["NONGAN_BRIDGE_CONFIG"])
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        raise CommandError(str(exc), status=2) from None
    if args.database_url:  # the command line beats the environment and the file
        try:
            database = DatabaseSection(**{**settings.database.model_dump(),
                                          "url": args.database_url})
        except ValidationError as exc:
            raise CommandError(f"--database-url: {describe_error(exc)}", status=2) from None
        settings = settings.model_copy(update={"database": database})
    return settings


def guarded(func: Any) -> Any:
    """A verb whose ``CommandError`` becomes one line on stderr and its exit status."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return int(func(args) or 0)
        except CommandError as exc:
            print(f"nongan bridge: {exc}", file=sys.stderr)
            return exc.status
    wrapper.__doc__ = func.__doc__
    return wrapper


def writer_engine(settings: BridgeSettings) -> Any:
    """An engine on the settings' database, as the writers open it."""
    from cloud_bridge.store import make_engine

    db = settings.database
    return make_engine(db.url, busy_timeout_ms=db.busy_timeout_ms, pool_size=db.pool_size)


class store_session:
    """A session on a fresh engine, both closed on exit; schema errors become one line."""

    def __init__(self, settings: BridgeSettings) -> None:
        self.settings = settings

    def __enter__(self) -> Any:
        from sqlalchemy.orm import Session

        from cloud_bridge.store import SchemaError, require_current_schema

        self.engine = writer_engine(self.settings)
        try:
            require_current_schema(self.engine)
        except SchemaError as exc:
            self.engine.dispose()
            raise CommandError(str(exc)) from None
        self.session = Session(self.engine, expire_on_commit=False)
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.close()
        self.engine.dispose()


def actor() -> str:
    """Who runs the command, as history and audit rows name it (``cli:USER``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
