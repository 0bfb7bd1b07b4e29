"""SQLAlchemy models: the ledger. Every relationship is `lazy="raise"`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every ledger table."""


class TimestampedMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class Account(TimestampedMixin, Base):
    """A customer company (one legal entity, identified by its USCC)."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    region: Mapped[str] = mapped_column(String(16), nullable=False)
    industry: Mapped[str] = mapped_column(String(64), nullable=False)
    lifecycle_stage: Mapped[str] = mapped_column(String(16), nullable=False)
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(20, 2), nullable=True)
    value_tier: Mapped[str | None] = mapped_column(CHAR(1), nullable=True)
    lifecycle_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # Who may see it: the owner, their department subtree, the region, per the reader's scope;
    # and only readers cleared for its classification (0 公开 … 3 机密).
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    classification: Mapped[int] = mapped_column(SmallInteger, nullable=False,
                                                server_default=text("1"))
    # A supplier that cannot deliver (migration 0015): why and since when, both or neither.
    disrupted_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disrupted_since: Mapped[date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        CheckConstraint("(disrupted_reason IS NULL) = (disrupted_since IS NULL)",
                        name="ck_accounts_disruption"),
        Index("ix_accounts_name_trgm", "name", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops"}),
        # Characters and bigrams of the name (functions of migration 0007): substring search
        # for terms shorter than the three characters trigrams need.
        Index("ix_accounts_name_grams", "region", func.account_name_grams(text("name")),
              postgresql_using="gin"),
        Index("ix_accounts_region_name", "region", "name", "id"),
        Index("ix_accounts_name_id", "name", "id"),
        Index("ix_accounts_industry", "industry"),
        Index("ix_accounts_stage", "lifecycle_stage"),
        Index("ix_accounts_tags", "tags", postgresql_using="gin"),
    )


PROTECTED_CONTACT_FIELDS = ("phone", "email", "id_number")


def _protected_field_rules(name: str) -> tuple[Any, ...]:
    """An envelope column holds only envelopes; an index needs its envelope; search by index
    pages by (name, id)."""
    return (
        CheckConstraint(f"{name}_enc IS NULL OR {name}_enc LIKE 'sm4gcm:v%'",
                        name=f"ck_contacts_{name}_enc"),
        CheckConstraint(f"{name}_bidx IS NULL OR ({name}_enc IS NOT NULL "
                        f"AND {name}_bidx ~ '^[0-9a-f]{{64}}$')", name=f"ck_contacts_{name}_bidx"),
        Index(f"ix_contacts_{name}_bidx", f"{name}_bidx", "name", "id",
              postgresql_where=text(f"{name}_bidx IS NOT NULL")),
    )


class Contact(TimestampedMixin, Base):
    """A person at an account."""

    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Where the person works: department and the period at the account (migration 0011).
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    works_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    works_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    classification: Mapped[int] = mapped_column(SmallInteger, nullable=False,
                                                server_default=text("1"))
    # Protected fields: SM4-GCM envelopes (auth.field_cipher) and HMAC-SM3 blind indexes.
    phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    email_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    id_number_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone_bidx: Mapped[str | None] = mapped_column(CHAR(64), nullable=True)
    email_bidx: Mapped[str | None] = mapped_column(CHAR(64), nullable=True)
    id_number_bidx: Mapped[str | None] = mapped_column(CHAR(64), nullable=True)
    # Plaintext written before migration 0003 (or by an older instance during a rollout);
    # encrypted and cleared by `crm serve` at start and by `crm keys rotate`. Never written.
    legacy_phone: Mapped[str | None] = mapped_column("phone", String(32), nullable=True)
    legacy_email: Mapped[str | None] = mapped_column("email", String(254), nullable=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))

    __table_args__ = (
        Index("ix_contacts_account_name", "account_id", "name", "id"),
        Index("ix_contacts_legacy_plaintext", "id",
              postgresql_where=text("phone IS NOT NULL OR email IS NOT NULL")),
        *(rule for name in PROTECTED_CONTACT_FIELDS for rule in _protected_field_rules(name)),
    )


class AccountEdge(TimestampedMixin, Base):
    """A directed relationship between two companies (OWNS: source holds shares in target)."""

    __tablename__ = "account_edges"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    source_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False
    )
    target_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False
    )
    share_pct: Mapped[Decimal | None] = mapped_column(Numeric(7, 4), nullable=True)

    __table_args__ = (
        UniqueConstraint("kind", "source_id", "target_id", name="uq_account_edges"),
        CheckConstraint("source_id <> target_id", name="ck_account_edges_not_self"),
        CheckConstraint(
            "kind <> 'OWNS' OR (share_pct > 0 AND share_pct <= 100)",
            name="ck_account_edges_share",
        ),
        Index("ix_account_edges_target", "target_id", "kind"),
        Index("ix_account_edges_source", "source_id", "kind"),
    )


class AuditRecord(Base):
    """Who did what to which records, written in the transaction of the change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    operation: Mapped[str] = mapped_column(String(64), nullable=False)
    target_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # SM3 hash chain (auth.audit_chain): `seq` is the chain position, unique so that two
    # appenders can never both claim the same place even if the append lock were bypassed.
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    prev_hash: Mapped[str] = mapped_column(CHAR(64), nullable=False)
    hash: Mapped[str] = mapped_column(CHAR(64), nullable=False)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        UniqueConstraint("seq", name="uq_audit_log_seq"),
    )


class OutboxEvent(Base):
    """A change to publish (graph projection, subscriptions), committed with the change."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    topic: Mapped[str] = mapped_column(String(64), nullable=False)
    aggregate_id: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    projected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_outbox_pending", "id", postgresql_where=text("projected_at IS NULL")),
        Index("ix_outbox_at", "at"),
    )


class Relationship(Base):
    """An edge of the relationship graph, as the ledger keeps it: INFLUENCES and REPORTS_TO
    between contacts, KNOWS from a staff user to a contact, SUPPLIES from a supplier account to
    a buyer account. Valid from `valid_from` to `valid_to` (inclusive; null: open)."""

    __tablename__ = "relationships"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    from_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    to_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    weight: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), nullable=True)
    manual: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    criticality: Mapped[str | None] = mapped_column(Text, nullable=True)
    share: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)
    products: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]"))
    annual_volume: Mapped[Decimal | None] = mapped_column(Numeric(20, 2), nullable=True)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class Interaction(Base):
    """A meeting, call, e-mail … between one of our staff and contacts of an account. `notes`
    is an SM4-GCM envelope, readable by those cleared for `classification` (the account's)."""

    __tablename__ = "interactions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    direction: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    classification: Mapped[int] = mapped_column(SmallInteger, nullable=False,
                                                server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)


class InteractionContact(Base):
    __tablename__ = "interaction_contacts"

    interaction_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)


class CommitteeMember(Base):
    """A person on a buying committee — the account's own (`opportunity_id` NULL) or one
    opportunity's — with one or more roles (the first is the primary one) and a stance; valid
    over a period."""

    __tablename__ = "committee_members"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)
    # References opportunities (migration 0016); no ORM key: that table is mapped elsewhere.
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    stance: Mapped[str] = mapped_column(Text, nullable=False, server_default="UNKNOWN")
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class InfluenceScore(Base):
    """A committee member's stored influence (analytics/influence.py) and its explanation,
    keyed by committee: the account and the opportunity (NULL: the account's own)."""

    __tablename__ = "influence_scores"

    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    # Part of the ORM identity only: the table has a unique index with coalesce instead.
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), primary_key=True, nullable=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    influence: Mapped[float] = mapped_column(nullable=False)
    betweenness: Mapped[float] = mapped_column(nullable=False)
    explanation: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
