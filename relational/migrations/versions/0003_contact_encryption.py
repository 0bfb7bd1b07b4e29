"""Contact phone, e-mail and ID-card number encrypted at rest (SM4-GCM) with SM3 blind indexes.

Revision ID: 0003
Revises: 0002

Expand only, and no keys here: a migration must not depend on secrets, and encrypting a large
table inside one DDL transaction would lock it for the whole run. So the plaintext columns
`phone`/`email` stay (nullable, as they were) and keep existing rows; the application
encrypts them into the new columns and clears them (`crm serve` before it serves, and
`crm keys rotate`), in short batches that never block readers. A later migration can drop
the then-empty plaintext columns once every instance runs this version.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_FIELDS = ("phone", "email", "id_number")


def upgrade() -> None:
    for name in _FIELDS:
        op.add_column("contacts", sa.Column(f"{name}_enc", sa.Text, nullable=True))
        op.add_column("contacts", sa.Column(f"{name}_bidx", sa.CHAR(64), nullable=True))
        op.create_check_constraint(f"ck_contacts_{name}_enc", "contacts",
                                   f"{name}_enc IS NULL OR {name}_enc LIKE 'sm4gcm:v%'")
        op.create_check_constraint(
            f"ck_contacts_{name}_bidx", "contacts",
            f"{name}_bidx IS NULL OR ({name}_enc IS NOT NULL "
            f"AND {name}_bidx ~ '^[0-9a-f]{{64}}$')")
        op.create_index(f"ix_contacts_{name}_bidx", "contacts", [f"{name}_bidx", "name", "id"],
                        postgresql_where=sa.text(f"{name}_bidx IS NOT NULL"))
    # Finds the rows still to encrypt without a scan; empty once they are done.
    op.create_index("ix_contacts_legacy_plaintext", "contacts", ["id"],
                    postgresql_where=sa.text("phone IS NOT NULL OR email IS NOT NULL"))
    op.execute("COMMENT ON COLUMN contacts.phone IS "
               "'legacy plaintext: encrypted into phone_enc and cleared by the application'")
    op.execute("COMMENT ON COLUMN contacts.email IS "
               "'legacy plaintext: encrypted into email_enc and cleared by the application'")


def downgrade() -> None:
    # The plaintext was cleared after encryption and the keys are not known here: dropping the
    # envelopes would destroy the data.
    encrypted = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM contacts WHERE phone_enc IS NOT NULL OR email_enc IS NOT NULL "
        "OR id_number_enc IS NOT NULL")).scalar_one()
    if encrypted:
        raise RuntimeError(f"{encrypted} contacts hold encrypted fields; downgrading past 0003 "
                           "would lose them")
    op.drop_index("ix_contacts_legacy_plaintext", table_name="contacts")
    for name in _FIELDS:
        op.drop_index(f"ix_contacts_{name}_bidx", table_name="contacts")
        op.drop_constraint(f"ck_contacts_{name}_bidx", "contacts", type_="check")
        op.drop_constraint(f"ck_contacts_{name}_enc", "contacts", type_="check")
        op.drop_column("contacts", f"{name}_bidx")
        op.drop_column("contacts", f"{name}_enc")
