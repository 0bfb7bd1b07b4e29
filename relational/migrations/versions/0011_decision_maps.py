"""Decision maps: relationships between people and companies (INFLUENCES, REPORTS_TO, KNOWS,
SUPPLIES) with validity periods, interactions with our staff, buying committees, stored
influence scores, and where a contact works (title, department, since/until).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE contacts
            ADD COLUMN department varchar(100),
            ADD COLUMN works_since date,
            ADD COLUMN works_until date,
            ADD CONSTRAINT ck_contacts_work_period
                CHECK (works_until IS NULL OR works_since IS NULL OR works_until >= works_since);

        CREATE TABLE relationships (
            id uuid PRIMARY KEY,
            kind text NOT NULL
                CHECK (kind IN ('INFLUENCES', 'REPORTS_TO', 'KNOWS', 'SUPPLIES')),
            from_id uuid NOT NULL,
            to_id uuid NOT NULL,
            weight numeric(6, 4) CHECK (weight IS NULL OR (weight >= 0 AND weight <= 1)),
            manual boolean NOT NULL DEFAULT false,
            evidence text,
            criticality text
                CHECK (criticality IS NULL
                       OR criticality IN ('LOW', 'MEDIUM', 'HIGH', 'SOLE_SOURCE')),
            share numeric(5, 2) CHECK (share IS NULL OR (share >= 0 AND share <= 100)),
            products text[] NOT NULL DEFAULT '{}'::text[],
            annual_volume numeric(20, 2),
            valid_from date NOT NULL,
            valid_to date,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            version integer NOT NULL DEFAULT 1,
            CONSTRAINT ck_relationships_not_self CHECK (from_id <> to_id),
            CONSTRAINT ck_relationships_period CHECK (valid_to IS NULL OR valid_to >= valid_from),
            CONSTRAINT ck_relationships_supplies
                CHECK (kind <> 'SUPPLIES' OR criticality IS NOT NULL)
        );
        CREATE INDEX ix_relationships_from ON relationships (from_id, kind);
        CREATE INDEX ix_relationships_to ON relationships (to_id, kind);
        -- One derived KNOWS edge per (staff user, contact): interactions keep it current.
        CREATE UNIQUE INDEX uq_relationships_knows ON relationships (from_id, to_id)
            WHERE kind = 'KNOWS';

        CREATE TABLE interactions (
            id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
            user_id uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
            channel text NOT NULL,
            direction text NOT NULL CHECK (direction IN ('INBOUND', 'OUTBOUND')),
            occurred_at timestamptz NOT NULL,
            subject text NOT NULL,
            notes text CHECK (notes IS NULL OR notes LIKE 'sm4gcm:v%'),
            classification smallint NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_interactions_account ON interactions (account_id, occurred_at DESC, id);
        CREATE INDEX ix_interactions_user ON interactions (user_id, occurred_at DESC, id);

        CREATE TABLE interaction_contacts (
            interaction_id uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
            contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            PRIMARY KEY (interaction_id, contact_id)
        );
        CREATE INDEX ix_interaction_contacts_contact ON interaction_contacts (contact_id);

        CREATE TABLE committee_members (
            id uuid PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
            contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            opportunity_id uuid,
            roles text[] NOT NULL,
            stance text NOT NULL DEFAULT 'UNKNOWN',
            valid_from date NOT NULL,
            valid_to date,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            version integer NOT NULL DEFAULT 1,
            CONSTRAINT ck_committee_members_roles CHECK (cardinality(roles) > 0),
            CONSTRAINT ck_committee_members_period
                CHECK (valid_to IS NULL OR valid_to >= valid_from)
        );
        CREATE INDEX ix_committee_members_account ON committee_members (account_id);
        CREATE INDEX ix_committee_members_contact ON committee_members (contact_id);
        -- A person sits once on a committee (while the membership is open).
        CREATE UNIQUE INDEX uq_committee_members_open ON committee_members
            (account_id, contact_id,
             coalesce(opportunity_id, '00000000-0000-0000-0000-000000000000'::uuid))
            WHERE valid_to IS NULL;

        CREATE TABLE influence_scores (
            account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
            contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
            influence double precision NOT NULL,
            betweenness double precision NOT NULL,
            explanation jsonb NOT NULL,
            computed_at timestamptz NOT NULL,
            PRIMARY KEY (account_id, contact_id)
        );
        COMMENT ON TABLE influence_scores IS
            'Influence of each committee member, recomputed from the graph after its '
            'committee subgraph changed (analytics/influence.py).';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE influence_scores;
        DROP TABLE committee_members;
        DROP TABLE interaction_contacts;
        DROP TABLE interactions;
        DROP TABLE relationships;
        ALTER TABLE contacts DROP CONSTRAINT ck_contacts_work_period,
            DROP COLUMN works_until, DROP COLUMN works_since, DROP COLUMN department;
        """
    )
