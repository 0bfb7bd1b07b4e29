"""Event streams and webhooks: the outbox is read by time for the subscriptions' retention (a
cursor older than EVENT_RETENTION_DAYS is refused; projected events past it are pruned);
webhook endpoints (secret sealed), one delivery per endpoint and event, each attempt, and the
webhook fan-out's position in the outbox (one row, shared by every instance).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_at", "outbox", ["at"])
    op.execute(
        """
        CREATE TABLE webhook_endpoints (
            id uuid PRIMARY KEY,
            url text NOT NULL,
            event_types text[] NOT NULL,
            filter jsonb NOT NULL DEFAULT '{}'::jsonb,
            secret_sealed text NOT NULL,
            algorithm text NOT NULL CHECK (algorithm IN ('HMAC-SHA256', 'HMAC-SM3')),
            api_token_id uuid NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
            active boolean NOT NULL DEFAULT true,
            created_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE webhook_deliveries (
            id uuid PRIMARY KEY,
            endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
            event_id bigint NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            body text NOT NULL,
            status text NOT NULL CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz,
            last_status_code integer,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (endpoint_id, event_id)
        );
        CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries
            (endpoint_id, occurred_at);
        CREATE TABLE webhook_attempts (
            id bigserial PRIMARY KEY,
            delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            attempted_at timestamptz NOT NULL,
            status_code integer,
            error text,
            retry_in_seconds double precision
        );
        CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
        CREATE TABLE webhook_position (
            id smallint PRIMARY KEY CHECK (id = 1),
            event_id bigint NOT NULL
        );
        INSERT INTO webhook_position VALUES (1, (SELECT coalesce(max(id), 0) FROM outbox));
        """
    )


def downgrade() -> None:
    for table in ("webhook_position", "webhook_attempts", "webhook_deliveries",
                  "webhook_endpoints"):
        op.drop_table(table)
    op.drop_index("ix_outbox_at", table_name="outbox")
