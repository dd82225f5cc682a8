"""The kiosk's single SQLite database: outbox and the records it carries, in one file so a
record and its outbox row commit in one transaction.
"""

from .database import KioskDatabase, StorageError, database_path

__all__ = ["KioskDatabase", "StorageError", "database_path"]
