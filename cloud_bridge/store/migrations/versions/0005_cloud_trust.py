"""cloud trust: how many roster pages each kiosk was last sent

Revision ID: 0005
Revises: 0004
A kiosk's roster is published as retained pages (``nongan/v1/{device}/roster/{n}``) that each
fit the broker's packet limit; when a roster needs fewer pages than the last one, the worker
clears the pages left over, so it keeps the count it last sent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "roster_pages", sa.Integer(), nullable=False, server_default="0",
            comment="how many roster pages this kiosk was last sent"))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("roster_pages")
