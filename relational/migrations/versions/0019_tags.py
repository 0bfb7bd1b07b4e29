"""Tags set by rules live in `account_tags` only: `accounts.tags` keeps the tags set by hand,
so a rule evaluation writes no account row (and none of the indexes on `accounts`). The tag
filter reads both, the rules' side through an index on (name, account_id).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- A rule's tags bear its name: one index serves the tag filter and a rule's recorded
        -- tags (no tag rule is ever deleted, so the cascade on rule_id needs none).
        DROP INDEX ix_account_tags_rule;
        CREATE INDEX ix_account_tags_name ON account_tags (name, account_id);
        -- The names rules copied into accounts.tags leave it (their rows stay in account_tags).
        UPDATE accounts a
        SET tags = ARRAY(SELECT t.name FROM unnest(a.tags) WITH ORDINALITY AS t(name, at)
                         WHERE NOT EXISTS (SELECT 1 FROM account_tags r
                                           WHERE r.account_id = a.id AND r.name = t.name
                                             AND r.rule_id IS NOT NULL)
                         ORDER BY t.at)
        WHERE EXISTS (SELECT 1 FROM account_tags r
                      WHERE r.account_id = a.id AND r.rule_id IS NOT NULL
                        AND r.name = ANY(a.tags));
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE accounts a
        SET tags = a.tags || ARRAY(SELECT r.name FROM account_tags r
                                   WHERE r.account_id = a.id AND r.rule_id IS NOT NULL
                                     AND r.name <> ALL(a.tags) ORDER BY r.name)
        WHERE EXISTS (SELECT 1 FROM account_tags r
                      WHERE r.account_id = a.id AND r.rule_id IS NOT NULL
                        AND r.name <> ALL(a.tags));
        DROP INDEX ix_account_tags_name;
        CREATE INDEX ix_account_tags_rule ON account_tags (rule_id, account_id);
        """
    )
