"""registry authority: which kiosk's update a producer last took, and dashboard sessions

Revision ID: 0005
Revises: 0002

- ``producers.last_device_id`` / ``last_seq``: the event last applied, so a later update from
  the same kiosk is recognised by its seq (not by a clock that may step back).
- ``dashboard_sessions``: the dashboard's login cookie holds a random session id whose SHA-256
  is kept here (never the API key); logging out deletes the row, a revoked key ends its
  sessions, and each session expires.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud_bridge.store.types import UTCDateTime

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("producers") as batch:
        batch.add_column(sa.Column(
            "last_device_id", sa.String(length=63), nullable=True,
            comment="the kiosk of the event last applied: its later seq is newer"))
        batch.add_column(sa.Column("last_seq", sa.BigInteger(), nullable=True))
    op.create_table(
        "dashboard_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False,
                  comment="SHA-256 hex of the cookie's session id; the id is not kept"),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("producers") as batch:
        batch.drop_column("last_seq")
        batch.drop_column("last_device_id")
