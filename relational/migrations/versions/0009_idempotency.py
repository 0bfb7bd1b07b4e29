"""Idempotency keys of create mutations: a retry with the same key by the same actor answers
the first result instead of writing twice.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE idempotency_keys (
            actor text NOT NULL,
            key text NOT NULL,
            operation text NOT NULL,
            fingerprint text NOT NULL,
            result jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (actor, key)
        );
        CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);
        COMMENT ON TABLE idempotency_keys IS
            'Client idempotency keys of writes, written in the transaction of the write.';
        """
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
