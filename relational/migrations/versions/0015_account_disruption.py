"""An account can be marked disrupted (a supplier that cannot deliver): why and since when.
Both columns are set together or both empty.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE accounts
            ADD COLUMN disrupted_reason text NULL,
            ADD COLUMN disrupted_since date NULL,
            ADD CONSTRAINT ck_accounts_disruption
                CHECK ((disrupted_reason IS NULL) = (disrupted_since IS NULL));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE accounts
            DROP CONSTRAINT ck_accounts_disruption,
            DROP COLUMN disrupted_since,
            DROP COLUMN disrupted_reason;
        """
    )
