"""Pipeline reports from indexes alone. Each stage-history row is one stay in a stage; it now
carries its deal's pipeline (a deal never changes pipeline) and its length in days (computed by
the database from `ended_at`, so every move keeps it up), and one covering index holds the
stays by pipeline, stage and start: the conversion report reads a period's stays without the
history's wide rows or a join with the deals. Open and won deals get covering indexes by
expected / actual close day for the forecast.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE opportunity_stage_history
            ADD COLUMN IF NOT EXISTS pipeline_id uuid NULL,
            -- The same expression the report used to compute per row (days as float8).
            ADD COLUMN IF NOT EXISTS days double precision GENERATED ALWAYS AS (
                CAST(extract(epoch FROM ended_at - moved_at) / CAST(86400 AS numeric)
                     AS double precision)) STORED;
        UPDATE opportunity_stage_history h SET pipeline_id = o.pipeline_id
            FROM opportunities o WHERE o.id = h.opportunity_id AND h.pipeline_id IS NULL;
        ALTER TABLE opportunity_stage_history ALTER COLUMN pipeline_id SET NOT NULL;
        DROP INDEX IF EXISTS ix_stage_history_moved;
        """
    )
    # Built after the backfill has committed: inside its transaction every row's old version
    # would still be indexed (twice the index, which the planner then shuns); the vacuum
    # clears those versions and marks the pages all-visible for index-only scans. Each
    # statement may run again if one fails.
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX IF NOT EXISTS ix_stage_history_stays ON "
                   "opportunity_stage_history (pipeline_id, to_stage, moved_at) "
                   "INCLUDE (days, advanced, opportunity_id)")
        op.execute("CREATE INDEX IF NOT EXISTS ix_opportunities_open_close ON opportunities "
                   "(pipeline_id, currency, expected_close_on) INCLUDE (owner_id, "
                   "department_id, account_id, stage, amount, closed_at) "
                   "WHERE status = 'OPEN'")
        op.execute("CREATE INDEX IF NOT EXISTS ix_opportunities_won_close ON opportunities "
                   "(pipeline_id, currency, closed_at) INCLUDE (owner_id, department_id, "
                   "account_id, stage, amount, expected_close_on) WHERE status = 'WON'")
        op.execute("VACUUM (ANALYZE) opportunity_stage_history")
        op.execute("VACUUM (ANALYZE) opportunities")


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_opportunities_won_close;
        DROP INDEX ix_opportunities_open_close;
        DROP INDEX ix_stage_history_stays;
        CREATE INDEX ix_stage_history_moved ON opportunity_stage_history (moved_at)
            INCLUDE (to_stage, opportunity_id, advanced, ended_at);
        ALTER TABLE opportunity_stage_history DROP COLUMN days, DROP COLUMN pipeline_id;
        """
    )
