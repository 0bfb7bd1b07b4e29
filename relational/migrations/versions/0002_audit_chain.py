"""Audit log as an SM3 hash chain: seq, prev_hash, hash; existing records chained in id order.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

# The chain format is one contract for the app and this migration: hashes written here must
# verify with `crm audit verify` (migrations are not a layered package; import-linter skips them).
from auth.audit_chain import GENESIS, link

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BATCH = 1000
_CONTENT = ("at", "actor", "operation", "target_ids", "before", "after", "ip", "request_id",
            "reason")
_PAGE = sa.text(
    f"SELECT id, {', '.join(_CONTENT)} FROM audit_log "  # noqa: S608 - fixed column names
    "WHERE id > :after ORDER BY id LIMIT :limit"
)
_CHAIN = sa.text("UPDATE audit_log SET seq = :seq, prev_hash = :prev_hash, hash = :hash "
                 "WHERE id = :id")


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.BigInteger, nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.CHAR(64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.CHAR(64), nullable=True))
    bind = op.get_bind()
    # Writers of the previous release would add unchained rows while we chain; make them wait
    # (they then fail on NOT NULL, which is right: their records could not be chained).
    bind.execute(sa.text("LOCK TABLE audit_log IN EXCLUSIVE MODE"))
    _chain_existing(bind)
    for column in ("seq", "prev_hash", "hash"):
        op.alter_column("audit_log", column, nullable=False)
    op.create_unique_constraint("uq_audit_log_seq", "audit_log", ["seq"])


def _chain_existing(bind: sa.Connection) -> None:
    after, seq, prev_hash = 0, 0, GENESIS
    while rows := bind.execute(_PAGE, {"after": after, "limit": _BATCH}).mappings().all():
        updates: list[dict[str, Any]] = []
        for row in rows:
            seq += 1
            digest = link(prev_hash, {**{name: row[name] for name in _CONTENT}, "seq": seq})
            updates.append({"id": row["id"], "seq": seq, "prev_hash": prev_hash, "hash": digest})
            prev_hash = digest
        bind.execute(_CHAIN, updates)
        after = rows[-1]["id"]


def downgrade() -> None:
    op.drop_constraint("uq_audit_log_seq", "audit_log", type_="unique")
    for column in ("hash", "prev_hash", "seq"):
        op.drop_column("audit_log", column)
