"""Record-level authorization: owner, department and classification of accounts and contacts;
per-role client address allowlists.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INTERNAL = 1  # 公开 0 < 内部 1 < 秘密 2 < 机密 3


def upgrade() -> None:
    op.add_column("accounts", sa.Column("owner_id", pg.UUID(as_uuid=True), nullable=True))
    op.add_column("accounts", sa.Column("department_id", pg.UUID(as_uuid=True), nullable=True))
    for table in ("accounts", "contacts"):
        op.add_column(table, sa.Column("classification", sa.SmallInteger, nullable=False,
                                       server_default=sa.text(str(INTERNAL))))
        op.create_check_constraint(f"ck_{table}_classification", table,
                                   "classification BETWEEN 0 AND 3")
    op.add_column("roles", sa.Column("ip_allowlist", pg.ARRAY(sa.Text), nullable=False,
                                     server_default=sa.text("'{}'::text[]")))
    op.create_index("ix_accounts_owner", "accounts", ["owner_id"])
    # Counting a region for a reader below the top clearance reads only this index.
    op.create_index("ix_accounts_region_class", "accounts", ["region", "classification"])
    op.create_index("ix_accounts_department", "accounts", ["department_id"])


def downgrade() -> None:
    op.drop_column("roles", "ip_allowlist")
    op.drop_index("ix_accounts_region_class", "accounts")
    op.drop_index("ix_accounts_department", "accounts")
    op.drop_index("ix_accounts_owner", "accounts")
    for table in ("accounts", "contacts"):
        op.drop_constraint(f"ck_{table}_classification", table)
        op.drop_column(table, "classification")
    op.drop_column("accounts", "department_id")
    op.drop_column("accounts", "owner_id")
