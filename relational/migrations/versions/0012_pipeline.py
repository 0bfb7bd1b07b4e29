"""Sales pipeline and money: leads, pipelines, opportunities and their stage history, quotes and
approvals, SM2-signed contracts, orders, deliveries, payments, returns, tenders, weekly forecast
snapshots (immutable) and the versioned win models.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("win_models", "forecast_snapshots", "tender_milestones", "tenders", "returns",
          "payments", "deliveries", "orders", "contracts", "signing_keys", "quote_approvals",
          "quote_lines", "quotes", "opportunity_stage_history", "opportunities", "leads",
          "pipelines")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE pipelines (
            id uuid PRIMARY KEY,
            name text NOT NULL UNIQUE,
            stages jsonb NOT NULL,
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE leads (
            id uuid PRIMARY KEY,
            company_name text NOT NULL,
            uscc varchar(18),
            contact_name text,
            contact_title text,
            region varchar(16) NOT NULL,
            industry varchar(64) NOT NULL,
            source text NOT NULL,
            campaign_id uuid,
            score int NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
            owner_id uuid NOT NULL REFERENCES users(id),
            department_id uuid,
            status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CONVERTED')),
            account_id uuid REFERENCES accounts(id),
            contact_id uuid,
            opportunity_id uuid,
            converted_at timestamptz,
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_leads_owner ON leads (owner_id, created_at);
        CREATE TABLE opportunities (
            id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts(id),
            owner_id uuid NOT NULL REFERENCES users(id),
            department_id uuid,
            name text NOT NULL,
            amount numeric(18,2) NOT NULL CHECK (amount >= 0),
            currency char(3) NOT NULL,
            pipeline_id uuid NOT NULL,
            stage text NOT NULL,
            stage_entered_at timestamptz NOT NULL DEFAULT now(),
            status text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'WON', 'LOST')),
            expected_close_on date NOT NULL,
            closed_at timestamptz,
            lost_reason text,
            campaign_id uuid,
            lead_id uuid,
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_opportunities_account ON opportunities (account_id);
        CREATE INDEX ix_opportunities_owner ON opportunities (owner_id, created_at, id);
        CREATE INDEX ix_opportunities_department ON opportunities (department_id);
        CREATE INDEX ix_opportunities_created ON opportunities (created_at, id);
        CREATE INDEX ix_opportunities_close ON opportunities (currency, expected_close_on);
        CREATE TABLE opportunity_stage_history (
            id bigserial PRIMARY KEY,
            opportunity_id uuid NOT NULL REFERENCES opportunities(id) ON DELETE CASCADE,
            from_stage text,
            to_stage text NOT NULL,
            -- Kept up by every move, so that conversion reports read each stay once: the
            -- stage's position (WON after the last stage, LOST 0), when the stay ended, and
            -- whether a later move reached a further stage.
            rank int NOT NULL DEFAULT 0,
            ended_at timestamptz,
            advanced boolean NOT NULL DEFAULT false,
            actor_id uuid,
            actor text NOT NULL,
            note text,
            moved_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_stage_history_opportunity
            ON opportunity_stage_history (opportunity_id, moved_at, id);
        -- The conversion report reads the period's stays from this index alone.
        CREATE INDEX ix_stage_history_moved ON opportunity_stage_history (moved_at)
            INCLUDE (to_stage, opportunity_id, advanced, ended_at);
        CREATE TABLE quotes (
            id uuid PRIMARY KEY,
            opportunity_id uuid NOT NULL REFERENCES opportunities(id),
            number int NOT NULL,
            currency char(3) NOT NULL,
            discount_pct numeric(5,2) NOT NULL DEFAULT 0,
            tax_pct numeric(5,2) NOT NULL DEFAULT 0,
            subtotal numeric(18,2) NOT NULL,
            discount_amount numeric(18,2) NOT NULL,
            tax numeric(18,2) NOT NULL,
            total numeric(18,2) NOT NULL,
            status text NOT NULL,
            needs_manager boolean NOT NULL,
            author_id uuid NOT NULL,
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (opportunity_id, number)
        );
        CREATE TABLE quote_lines (
            quote_id uuid NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
            position int NOT NULL,
            product text NOT NULL,
            quantity numeric(18,4) NOT NULL CHECK (quantity > 0),
            unit_price numeric(18,2) NOT NULL CHECK (unit_price >= 0),
            line_total numeric(18,2) NOT NULL,
            PRIMARY KEY (quote_id, position)
        );
        CREATE TABLE quote_approvals (
            id uuid PRIMARY KEY,
            quote_id uuid NOT NULL REFERENCES quotes(id),
            approver_id uuid NOT NULL,
            decision text NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
            comment text,
            decided_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE signing_keys (
            user_id uuid PRIMARY KEY REFERENCES users(id),
            public_key text NOT NULL,
            private_envelope text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE contracts (
            id uuid PRIMARY KEY,
            quote_id uuid NOT NULL REFERENCES quotes(id),
            opportunity_id uuid NOT NULL REFERENCES opportunities(id),
            account_id uuid NOT NULL REFERENCES accounts(id),
            amends_id uuid REFERENCES contracts(id),
            number int NOT NULL DEFAULT 1,
            amount numeric(18,2) NOT NULL,
            currency char(3) NOT NULL,
            terms text NOT NULL DEFAULT '',
            status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'SIGNED')),
            digest varchar(64),
            signature varchar(128),
            signer_id uuid,
            signer_public_key text,
            signed_at timestamptz,
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_contracts_opportunity ON contracts (opportunity_id);
        CREATE TABLE orders (
            id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts(id),
            contract_id uuid NOT NULL REFERENCES contracts(id),
            amount numeric(18,2) NOT NULL,
            currency char(3) NOT NULL,
            ordered_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE deliveries (
            id uuid PRIMARY KEY,
            order_id uuid NOT NULL REFERENCES orders(id),
            note text NOT NULL DEFAULT '',
            delivered_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE payments (
            id uuid PRIMARY KEY,
            contract_id uuid NOT NULL REFERENCES contracts(id),
            kind text NOT NULL DEFAULT 'PAYMENT' CHECK (kind IN ('PAYMENT', 'REFUND')),
            amount numeric(18,2) NOT NULL CHECK (amount > 0),
            currency char(3) NOT NULL,
            paid_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_payments_contract ON payments (contract_id);
        CREATE TABLE returns (
            id uuid PRIMARY KEY,
            order_id uuid NOT NULL REFERENCES orders(id),
            reason text NOT NULL,
            amount numeric(18,2) NOT NULL CHECK (amount >= 0),
            currency char(3) NOT NULL,
            returned_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE tenders (
            id uuid PRIMARY KEY,
            opportunity_id uuid NOT NULL UNIQUE REFERENCES opportunities(id),
            competitors text[] NOT NULL DEFAULT '{}',
            documents jsonb NOT NULL DEFAULT '[]',
            outcome text,
            version int NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE tender_milestones (
            tender_id uuid NOT NULL REFERENCES tenders(id) ON DELETE CASCADE,
            kind text NOT NULL,
            planned_on date NOT NULL,
            actual_on date,
            PRIMARY KEY (tender_id, kind)
        );
        CREATE TABLE forecast_snapshots (
            id uuid PRIMARY KEY,
            week_start date NOT NULL,
            currency char(3) NOT NULL,
            taken_at timestamptz NOT NULL DEFAULT now(),
            rows jsonb NOT NULL,
            UNIQUE (week_start, currency)
        );
        CREATE FUNCTION forecast_snapshots_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'forecast snapshots never change once taken';
        END $$;
        CREATE TRIGGER forecast_snapshots_immutable BEFORE UPDATE OR DELETE
            ON forecast_snapshots FOR EACH ROW EXECUTE FUNCTION forecast_snapshots_immutable();
        CREATE TABLE win_models (
            version serial PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('LOGISTIC', 'RULES')),
            trained_at timestamptz NOT NULL DEFAULT now(),
            samples int NOT NULL,
            auc double precision,
            brier double precision,
            parameters jsonb NOT NULL
        );
        """
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
    op.execute("DROP FUNCTION forecast_snapshots_immutable()")
