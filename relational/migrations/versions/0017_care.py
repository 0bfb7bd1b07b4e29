"""Campaign responses with a note, customer-care reminders (idempotent tasks, per-owner
follow-up periods, contract terms, contacts' important dates), and the indexes set-based tag
rule evaluation reads.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE campaign_members ADD COLUMN response_note text;
        CREATE INDEX ix_campaign_members_response ON campaign_members (campaign_id, response);

        -- A reminder made by a job carries a key: running the job again adds nothing.
        ALTER TABLE user_tasks ADD COLUMN dedupe_key text;
        CREATE UNIQUE INDEX ux_user_tasks_dedupe ON user_tasks (user_id, dedupe_key)
            WHERE dedupe_key IS NOT NULL;
        CREATE TABLE care_preferences (
            user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            follow_up_days integer NOT NULL CHECK (follow_up_days BETWEEN 1 AND 365),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        -- The last day of a contract's term (NULL: open-ended): its renewal reminder.
        ALTER TABLE contracts ADD COLUMN ends_on date;
        CREATE INDEX ix_contracts_ends_on ON contracts (ends_on) WHERE ends_on IS NOT NULL;
        -- A contact's important dates (birthday …): personal data, read under
        -- `contact.importantDates:read` like the other protected contact fields.
        CREATE TABLE contact_dates (
            contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            kind text NOT NULL,
            month smallint NOT NULL CHECK (month BETWEEN 1 AND 12),
            day smallint NOT NULL CHECK (day BETWEEN 1 AND 31),
            year smallint,
            label text NOT NULL DEFAULT '',
            PRIMARY KEY (contact_id, kind)
        );
        CREATE INDEX ix_contact_dates_day ON contact_dates (month, day);

        -- Set-based tag rule evaluation: a rule's recorded tags, and ticket counts per period.
        DROP INDEX ix_account_tags_rule;
        CREATE INDEX ix_account_tags_rule ON account_tags (rule_id, account_id);
        CREATE INDEX ix_tickets_account_created ON tickets (account_id, created_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_tickets_account_created;
        DROP INDEX ix_account_tags_rule;
        CREATE INDEX ix_account_tags_rule ON account_tags (rule_id);
        DROP TABLE contact_dates;
        DROP INDEX ix_contracts_ends_on;
        ALTER TABLE contracts DROP COLUMN ends_on;
        DROP TABLE care_preferences;
        DROP INDEX ux_user_tasks_dedupe;
        ALTER TABLE user_tasks DROP COLUMN dedupe_key;
        DROP INDEX ix_campaign_members_response;
        ALTER TABLE campaign_members DROP COLUMN response_note;
        """
    )
