"""Pipeline and money tables (migrations 0012, 0018): leads, pipelines, opportunities and
their stage history, quotes, approvals, contracts and their signing keys, orders, deliveries,
payments, returns, tenders, forecast snapshots and win models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from relational.models import Base, TimestampedMixin

_UUID = UUID(as_uuid=True)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Pipeline(TimestampedMixin, Base):
    """An admin-defined pipeline; the default one lives in code (services/pipelines.py)."""

    __tablename__ = "pipelines"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class Lead(TimestampedMixin, Base):
    __tablename__ = "leads"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    company_name: Mapped[str] = mapped_column(Text, nullable=False)
    uscc: Mapped[str | None] = mapped_column(String(18))
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_title: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(16), nullable=False)
    industry: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    score: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    owner_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    department_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="OPEN")
    account_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class Opportunity(TimestampedMixin, Base):
    __tablename__ = "opportunities"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    department_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    stage: Mapped[str] = mapped_column(Text, nullable=False)
    stage_entered_at: Mapped[datetime] = _now()
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="OPEN")
    expected_close_on: Mapped[date] = mapped_column(Date, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lost_reason: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    lead_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class StageChange(Base):
    """One transition of an opportunity (the first row: its creation in the first stage)."""

    __tablename__ = "opportunity_stage_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    # The deal's (a deal never changes pipeline): conversion reads stays by it (0018).
    pipeline_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    from_stage: Mapped[str | None] = mapped_column(Text)
    to_stage: Mapped[str] = mapped_column(Text, nullable=False)
    # Kept up by every move (conversion reports): the stage's position (WON after the last
    # stage, LOST 0), when the stay ended, whether a later move reached a further stage.
    rank: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The stay's length once it ended, computed by the database (migration 0018).
    days: Mapped[float | None] = mapped_column(Float, Computed(
        "CAST(extract(epoch FROM ended_at - moved_at) / CAST(86400 AS numeric) "
        "AS double precision)", persisted=True))
    advanced: Mapped[bool] = mapped_column(Boolean, nullable=False,
                                           server_default=text("false"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    moved_at: Mapped[datetime] = _now()


class Quote(TimestampedMixin, Base):
    __tablename__ = "quotes"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    tax_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    discount_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    tax: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    needs_manager: Mapped[bool] = mapped_column(Boolean, nullable=False)
    author_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class QuoteLine(Base):
    __tablename__ = "quote_lines"

    quote_id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    product: Mapped[str] = mapped_column(Text, nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    line_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)


class QuoteApproval(Base):
    __tablename__ = "quote_approvals"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    quote_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    approver_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    decision: Mapped[str] = mapped_column(Text, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = _now()


class SigningKey(Base):
    """A user's SM2 key pair; the private key only as an SM4 envelope of the field cipher."""

    __tablename__ = "signing_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    public_key: Mapped[str] = mapped_column(Text, nullable=False)
    private_envelope: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _now()


class Contract(TimestampedMixin, Base):
    __tablename__ = "contracts"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    quote_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    amends_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    number: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    terms: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="DRAFT")
    digest: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(String(128))
    signer_id: Mapped[uuid.UUID | None] = mapped_column(_UUID)
    signer_public_key: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last day of its term (migration 0017); NULL: open-ended. Drives renewal reminders.
    ends_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    contract_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    ordered_at: Mapped[datetime] = _now()


class Delivery(Base):
    __tablename__ = "deliveries"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    delivered_at: Mapped[datetime] = _now()


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    contract_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False, server_default="PAYMENT")
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    paid_at: Mapped[datetime] = _now()


class Return(Base):
    __tablename__ = "returns"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    returned_at: Mapped[datetime] = _now()


class Tender(TimestampedMixin, Base):
    __tablename__ = "tenders"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(_UUID, nullable=False, unique=True)
    competitors: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False,
                                                   server_default=text("'{}'::text[]"))
    documents: Mapped[list[dict[str, str]]] = mapped_column(JSONB, nullable=False,
                                                            server_default=text("'[]'"))
    outcome: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class TenderMilestone(Base):
    __tablename__ = "tender_milestones"

    tender_id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    planned_on: Mapped[date] = mapped_column(Date, nullable=False)
    actual_on: Mapped[date | None] = mapped_column(Date)


class ForecastSnapshot(Base):
    """A weekly forecast as taken; a trigger refuses every UPDATE and DELETE."""

    __tablename__ = "forecast_snapshots"

    id: Mapped[uuid.UUID] = mapped_column(_UUID, primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, nullable=False)
    currency: Mapped[str] = mapped_column(CHAR(3), nullable=False)
    taken_at: Mapped[datetime] = _now()
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)


class WinModel(Base):
    __tablename__ = "win_models"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    trained_at: Mapped[datetime] = _now()
    samples: Mapped[int] = mapped_column(Integer, nullable=False)
    auc: Mapped[float | None] = mapped_column(Float)
    brier: Mapped[float | None] = mapped_column(Float)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
