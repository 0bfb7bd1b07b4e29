"""Customer operations: lifecycle stages of the customer-archive standard (today's stages
mapped, each mapping recorded as a transition), value tiers, tag rules and the provenance of
account tags, the service desk (tickets, their history, SLA policies on a working-day
calendar, engineers), user tasks, in-app notifications, campaigns and their members.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_MAPPING = (("LEAD", "POTENTIAL"), ("PROSPECT", "INTENT"), ("PARTNER", "LOYAL"))


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE accounts ADD COLUMN value_tier char(1)
            CHECK (value_tier IN ('A', 'B', 'C', 'D'));
        ALTER TABLE accounts ADD COLUMN lifecycle_changed_at timestamptz;

        CREATE TABLE lifecycle_transitions (
            id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            from_stage text,
            to_stage text NOT NULL,
            reason text NOT NULL,
            rule text,
            actor text NOT NULL,
            at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_lifecycle_transitions_account ON lifecycle_transitions (account_id, at);
        """
    )
    # Today's stages become the standard's; the transition row keeps the former value.
    for former, current in _MAPPING:
        op.execute(
            f"""
            INSERT INTO lifecycle_transitions (id, account_id, from_stage, to_stage, reason,
                                               actor)
            SELECT gen_random_uuid(), id, '{former}', '{current}',
                   'migration 0013: {former} is now {current}', 'system:migration'
            FROM accounts WHERE lifecycle_stage = '{former}';
            UPDATE accounts SET lifecycle_stage = '{current}', lifecycle_changed_at = now()
            WHERE lifecycle_stage = '{former}';
            """  # noqa: S608 - constants of this migration
        )
    op.execute(
        """
        ALTER TABLE accounts ADD CONSTRAINT ck_accounts_lifecycle_stage CHECK (lifecycle_stage
            IN ('POTENTIAL', 'INTENT', 'CUSTOMER', 'LOYAL', 'CHURNED'));
        CREATE INDEX ix_accounts_value_tier ON accounts (value_tier);

        CREATE TABLE tag_rules (
            id uuid PRIMARY KEY,
            name text NOT NULL UNIQUE,
            layer text NOT NULL,
            expression text NOT NULL,
            enabled boolean NOT NULL,
            author_id uuid NOT NULL REFERENCES users (id),
            version int NOT NULL DEFAULT 1,
            evaluated_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        -- Which rule set a tag on an account and when (NULL rule: set by hand). The tag
        -- names are also in accounts.tags, whose GIN index serves the tag filter.
        CREATE TABLE account_tags (
            account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            name text NOT NULL,
            rule_id uuid REFERENCES tag_rules (id) ON DELETE CASCADE,
            set_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (account_id, name)
        );
        CREATE INDEX ix_account_tags_rule ON account_tags (rule_id);

        -- Where a consumer of the outbox (other than the projector) has read up to.
        CREATE TABLE outbox_positions (
            consumer text PRIMARY KEY,
            event_id bigint NOT NULL
        );
        CREATE TABLE service_engineers (
            user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
            skills text[] NOT NULL DEFAULT '{}',
            regions text[] NOT NULL DEFAULT '{}',
            capacity int NOT NULL DEFAULT 10 CHECK (capacity > 0),
            team_lead_id uuid REFERENCES users (id),
            department_head_id uuid REFERENCES users (id),
            active boolean NOT NULL DEFAULT true
        );
        CREATE TABLE sla_policies (
            priority text NOT NULL,
            tier char(1) NOT NULL,
            assign_minutes int NOT NULL CHECK (assign_minutes > 0),
            resolve_business_hours int NOT NULL CHECK (resolve_business_hours > 0),
            PRIMARY KEY (priority, tier)
        );
        INSERT INTO sla_policies (priority, tier, assign_minutes, resolve_business_hours)
        SELECT p.priority, t.tier, p.assign_minutes,
               greatest(1, p.resolve_hours - t.faster)
        FROM (VALUES ('URGENT', 30, 4), ('HIGH', 30, 8), ('NORMAL', 60, 16), ('LOW', 240, 40))
             AS p (priority, assign_minutes, resolve_hours),
             (VALUES ('A', 2), ('B', 1), ('C', 0), ('D', 0)) AS t (tier, faster);
        -- Public holidays (working = false) and make-up working days on weekends (true).
        CREATE TABLE calendar_days (
            day date PRIMARY KEY,
            working boolean NOT NULL,
            name text NOT NULL
        );

        CREATE TABLE tickets (
            id uuid PRIMARY KEY,
            number bigserial UNIQUE,
            account_id uuid NOT NULL REFERENCES accounts (id),
            contact_id uuid REFERENCES contacts (id),
            contract_id uuid,
            order_id uuid,
            category text NOT NULL,
            priority text NOT NULL,
            channel text NOT NULL,
            subject text NOT NULL,
            description text NOT NULL DEFAULT '',
            state text NOT NULL,
            version int NOT NULL DEFAULT 1,
            tier char(1) NOT NULL,
            assignee_id uuid REFERENCES users (id),
            assign_due_at timestamptz NOT NULL,
            resolve_due_at timestamptz NOT NULL,
            paused_at timestamptz,
            breached boolean NOT NULL DEFAULT false,
            escalation_level smallint NOT NULL DEFAULT 0,
            escalated_to uuid REFERENCES users (id),
            feedback_score smallint CHECK (feedback_score BETWEEN 1 AND 5),
            feedback_comment text,
            resolved_at timestamptz,
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_tickets_created ON tickets (created_at DESC, id DESC);
        CREATE INDEX ix_tickets_state ON tickets (state, created_at DESC);
        CREATE INDEX ix_tickets_assignee ON tickets (assignee_id, state);
        CREATE INDEX ix_tickets_account ON tickets (account_id);
        CREATE TABLE ticket_history (
            id bigserial PRIMARY KEY,
            ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
            at timestamptz NOT NULL,
            actor text NOT NULL,
            kind text NOT NULL,
            from_state text,
            to_state text,
            note text,
            data jsonb NOT NULL DEFAULT '{}'
        );
        CREATE INDEX ix_ticket_history_ticket ON ticket_history (ticket_id, id);

        CREATE TABLE user_tasks (
            id uuid PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            kind text NOT NULL,
            title text NOT NULL,
            due_at timestamptz NOT NULL,
            ref_type text,
            ref_id uuid,
            done_at timestamptz,
            warned_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_user_tasks_open ON user_tasks (user_id, due_at, id) WHERE done_at IS NULL;
        CREATE TABLE notifications (
            id uuid PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            kind text NOT NULL,
            title text NOT NULL,
            body text NOT NULL DEFAULT '',
            channels text[] NOT NULL,
            ref_type text,
            ref_id uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            read_at timestamptz
        );
        CREATE INDEX ix_notifications_user ON notifications (user_id, created_at DESC, id DESC);

        CREATE TABLE campaigns (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            budget numeric(18, 2) NOT NULL CHECK (budget >= 0),
            cost numeric(18, 2) NOT NULL DEFAULT 0 CHECK (cost >= 0),
            currency char(3) NOT NULL,
            segment text NOT NULL,
            owner_id uuid NOT NULL REFERENCES users (id),
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE campaign_members (
            campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
            account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            joined_at timestamptz NOT NULL DEFAULT now(),
            response text,
            responded_at timestamptz,
            PRIMARY KEY (campaign_id, account_id)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE campaign_members, campaigns, notifications, user_tasks, ticket_history,
            tickets, calendar_days, sla_policies, service_engineers, outbox_positions,
            account_tags, tag_rules;
        ALTER TABLE accounts DROP CONSTRAINT ck_accounts_lifecycle_stage;
        DROP INDEX ix_accounts_value_tier;
        """
    )
    for former, current in _MAPPING:
        op.execute(f"UPDATE accounts SET lifecycle_stage = '{former}' "  # noqa: S608
                   f"WHERE lifecycle_stage = '{current}'")
    op.execute("DROP TABLE lifecycle_transitions; ALTER TABLE accounts DROP COLUMN value_tier, "
               "DROP COLUMN lifecycle_changed_at")
