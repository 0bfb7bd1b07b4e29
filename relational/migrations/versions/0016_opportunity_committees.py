"""Buying committees per opportunity: a membership names the opportunity it belongs to (NULL:
the account's own committee), and stored influence scores are keyed by committee (account and
opportunity), so one person can carry a different score on each committee.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE committee_members
            ADD CONSTRAINT fk_committee_members_opportunity FOREIGN KEY (opportunity_id)
                REFERENCES opportunities (id) ON DELETE CASCADE;
        CREATE INDEX ix_committee_members_opportunity ON committee_members (opportunity_id)
            WHERE opportunity_id IS NOT NULL;
        ALTER TABLE influence_scores
            ADD COLUMN opportunity_id uuid NULL
                REFERENCES opportunities (id) ON DELETE CASCADE,
            DROP CONSTRAINT influence_scores_pkey;
        CREATE UNIQUE INDEX uq_influence_scores_committee ON influence_scores
            (account_id, coalesce(opportunity_id, '00000000-0000-0000-0000-000000000000'::uuid),
             contact_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM influence_scores WHERE opportunity_id IS NOT NULL;
        DROP INDEX uq_influence_scores_committee;
        ALTER TABLE influence_scores DROP COLUMN opportunity_id,
            ADD PRIMARY KEY (account_id, contact_id);
        DROP INDEX ix_committee_members_opportunity;
        ALTER TABLE committee_members DROP CONSTRAINT fk_committee_members_opportunity;
        """
    )
