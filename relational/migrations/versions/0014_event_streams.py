"""Event streams: the outbox is read by time for the subscriptions' retention (a cursor older
than EVENT_RETENTION_DAYS is refused; projected events past it are pruned).

Revision ID: 0014
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_at", "outbox", ["at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_at", table_name="outbox")
