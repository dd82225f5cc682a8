"""The kiosk's SQLite database: connection, transactions and named migrations.

One file, ``{data_dir}/kiosk.db``, in WAL mode with ``synchronous=FULL``: a committed record
survives a power cut. Every write goes through ``transaction()``, which takes the write lock
up front (``BEGIN IMMEDIATE``) so two writers never deadlock on an upgrade. The connection is
shared by threads under a lock; callers on the event loop use ``asyncio.to_thread``.

Migrations are named SQL scripts applied once each, in order (``gateway/storage/migrations.py``);
modules that keep records here add their own scripts to that list.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StorageError
from .migrations import MIGRATIONS

FILENAME = "kiosk.db"


def database_path(data_dir: Path) -> Path:
    """Where a kiosk whose data folder is ``data_dir`` keeps its database (the one place that
    says so)."""
    return data_dir / FILENAME


class KioskDatabase:
    def __init__(self, path: Path) -> None:
        """Open (creating and migrating) the database file at ``path``; a kiosk's is
        ``in_folder(data_dir)``."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the kiosk database {path}: {exc}") from exc
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []
        self._migrate()

    @classmethod
    def in_folder(cls, data_dir: Path) -> KioskDatabase:
        """The kiosk database of the data folder ``data_dir``."""
        return cls(database_path(data_dir))

    def _migrate(self) -> None:
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
            )
            applied = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
            for name, script in MIGRATIONS:
                if name in applied:
                    continue
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations(name) VALUES (?)", (name,))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: commits on success, rolls back on any exception.

        Raises:
            StorageError: the commit failed (disk full, I/O error); nothing was written.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot start a write on {self.path}: {exc}") from exc
            try:
                yield self._conn
            except sqlite3.Error as exc:
                # SQLite may already have rolled back (SQLITE_FULL does): only roll back what
                # is still open, and report the disk's trouble, not the rollback's.
                self._abandon()
                raise StorageError(f"cannot write to {self.path}: {exc}") from exc
            except BaseException:
                self._abandon()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._abandon()
                raise StorageError(f"cannot commit to {self.path}: {exc}") from exc
            callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def _abandon(self) -> None:
        self._after_commit.clear()
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def call_after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current transaction has committed (never on rollback)."""
        self._after_commit.append(callback)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (under the lock, so no writer interleaves)."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
