"""Ledger: accounts, contacts, company edges, audit log, outbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "accounts",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=False, unique=True),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("industry", sa.String(64), nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False,
                  server_default=sa.text("'{}'::text[]")),
        sa.Column("annual_revenue", sa.Numeric(20, 2), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        *_timestamps(),
    )
    op.create_index("ix_accounts_name_trgm", "accounts", ["name"], postgresql_using="gin",
                    postgresql_ops={"name": "gin_trgm_ops"})
    op.create_index("ix_accounts_region_name", "accounts", ["region", "name", "id"])
    op.create_index("ix_accounts_name_id", "accounts", ["name", "id"])
    op.create_index("ix_accounts_industry", "accounts", ["industry"])
    op.create_index("ix_accounts_stage", "accounts", ["lifecycle_stage"])
    op.create_index("ix_accounts_tags", "accounts", ["tags"], postgresql_using="gin")

    op.create_table(
        "contacts",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("account_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("title", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        *_timestamps(),
    )
    op.create_index("ix_contacts_account_name", "contacts", ["account_id", "name", "id"])

    op.create_table(
        "account_edges",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("target_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("share_pct", sa.Numeric(7, 4), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("kind", "source_id", "target_id", name="uq_account_edges"),
        sa.CheckConstraint("source_id <> target_id", name="ck_account_edges_not_self"),
        sa.CheckConstraint("kind <> 'OWNS' OR (share_pct > 0 AND share_pct <= 100)",
                           name="ck_account_edges_share"),
    )
    op.create_index("ix_account_edges_target", "account_edges", ["target_id", "kind"])
    op.create_index("ix_account_edges_source", "account_edges", ["source_id", "kind"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("target_ids", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("before", pg.JSONB, nullable=True),
        sa.Column("after", pg.JSONB, nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("projected_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_pending", "outbox", ["id"],
                    postgresql_where=sa.text("projected_at IS NULL"))
    # Wake every app instance's dispatcher when events commit (NOTIFY is delivered on commit).
    op.execute(
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$;
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
        FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    for table in ("outbox", "audit_log", "account_edges", "contacts", "accounts"):
        op.drop_table(table)
