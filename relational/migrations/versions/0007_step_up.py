"""Step-up verification: pending second-factor checks per login session, their challenges,
TOTP credentials, and the users' (encrypted) phone numbers.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _user_fk() -> sa.Column[object]:
    return sa.Column("user_id", pg.UUID(as_uuid=True),
                     sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.add_column("users", sa.Column("phone_envelope", sa.Text, nullable=True))
    op.create_table(
        "session_step_ups",
        sa.Column("session_id", pg.UUID(as_uuid=True), primary_key=True),
        _user_fk(),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("required_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "step_up_challenges",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("session_id", pg.UUID(as_uuid=True), nullable=False),
        _user_fk(),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("code_hash", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )
    op.create_index("ix_step_up_challenges_session", "step_up_challenges", ["session_id"])
    op.create_table(
        "totp_credentials",
        sa.Column("user_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("secret_envelope", sa.Text, nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("last_step", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("totp_credentials")
    op.drop_index("ix_step_up_challenges_session", "step_up_challenges")
    op.drop_table("step_up_challenges")
    op.drop_table("session_step_ups")
    op.drop_column("users", "phone_envelope")
