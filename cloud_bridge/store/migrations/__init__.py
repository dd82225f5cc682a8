"""Alembic migrations of the cloud store (run with ``cloud_bridge.store.migrate``)."""
