"""Rate-limit counters: one row per identity and minute, shared by all app instances.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED: counters are worth nothing after a crash, and skipping the WAL keeps the
    # per-request write cheap.
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_counters (
            key text NOT NULL,
            window_start timestamptz NOT NULL,
            hits integer NOT NULL,
            PRIMARY KEY (key, window_start)
        )
        """
    )


def downgrade() -> None:
    op.drop_table("rate_counters")
