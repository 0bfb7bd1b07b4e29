"""The durable job scheduler: procrastinate's schema (jobs, events, workers, periodic defers,
its functions and triggers) in the ledger, so a job is deferred in the transaction of the write
that asks for it (`UnitOfWork.defer`).

The SQL is the schema shipped by the pinned `procrastinate` release; a later release that
changes it comes with its own migration here (procrastinate's `sql/migrations/` deltas).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The driver's own connection, without parameters: the schema's text holds `%` and `:`
    # that SQLAlchemy or psycopg would otherwise read as placeholders.
    driver = op.get_bind().connection.driver_connection
    if driver is None:
        raise RuntimeError("migration 0010 needs a live psycopg connection")
    driver.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.execute(
        """
        DO $$
        DECLARE item record;
        BEGIN
            FOR item IN SELECT tablename FROM pg_tables
                        WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%'
            LOOP EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename); END LOOP;
            FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                        JOIN pg_namespace n ON n.oid = p.pronamespace
                        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature); END LOOP;
            FOR item IN SELECT t.typname FROM pg_type t
                        JOIN pg_namespace n ON n.oid = t.typnamespace
                        WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                          AND t.typtype IN ('e', 'c')
            LOOP EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname); END LOOP;
        END $$;
        """
    )
