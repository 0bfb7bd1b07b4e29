"""Quotes, approvals, contracts, signing keys, orders, deliveries, payments, returns and
tenders. Documents are visible exactly when their opportunity is."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import User
from relational.pipeline_models import (
    Contract,
    Opportunity,
    Order,
    Payment,
    Quote,
    QuoteApproval,
    QuoteLine,
    SigningKey,
    Tender,
    TenderMilestone,
)
from relational.repositories.visibility import Visibility, opportunities_readable

Doc = TypeVar("Doc", Quote, Contract, Tender)


def _readable(seen: Visibility) -> Any:
    return select(Opportunity.id).where(opportunities_readable(seen))


async def get_visible(session: AsyncSession, model: type[Doc], ids: Sequence[uuid.UUID],
                      seen: Visibility, *, lock: bool = False) -> dict[uuid.UUID, Doc]:
    if not ids:
        return {}
    statement = select(model).where(model.id.in_(list(set(ids))),
                                    model.opportunity_id.in_(_readable(seen)))
    if lock:
        statement = statement.with_for_update(of=model)
    return {row.id: row for row in (await session.scalars(statement)).all()}


async def exists(session: AsyncSession, model: type[Doc], doc_id: uuid.UUID) -> bool:
    return (await session.scalar(select(model.id).where(model.id == doc_id))) is not None


async def next_quote_number(session: AsyncSession, opportunity_id: uuid.UUID) -> int:
    found = await session.scalar(select(func.max(Quote.number)).where(
        Quote.opportunity_id == opportunity_id))
    return int(found or 0) + 1


async def lines(session: AsyncSession, quote_ids: Sequence[uuid.UUID]
                ) -> dict[uuid.UUID, list[QuoteLine]]:
    found: dict[uuid.UUID, list[QuoteLine]] = {key: [] for key in quote_ids}
    rows = await session.scalars(select(QuoteLine).where(QuoteLine.quote_id.in_(
        list(quote_ids))).order_by(QuoteLine.quote_id, QuoteLine.position))
    for row in rows:
        found[row.quote_id].append(row)
    return found


async def quotes_of(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID]
                    ) -> list[Quote]:
    return list((await session.scalars(select(Quote).where(Quote.opportunity_id.in_(
        list(opportunity_ids))).order_by(Quote.opportunity_id, Quote.number))).all())


async def approvals(session: AsyncSession, quote_id: uuid.UUID) -> list[QuoteApproval]:
    return list((await session.scalars(select(QuoteApproval).where(
        QuoteApproval.quote_id == quote_id).order_by(QuoteApproval.decided_at))).all())


async def has_quote(session: AsyncSession, opportunity_id: uuid.UUID,
                    statuses: Sequence[str]) -> bool:
    found = await session.scalar(select(Quote.id).where(
        Quote.opportunity_id == opportunity_id, Quote.status.in_(list(statuses))).limit(1))
    return found is not None


async def has_signed_contract(session: AsyncSession, opportunity_id: uuid.UUID) -> bool:
    found = await session.scalar(select(Contract.id).where(
        Contract.opportunity_id == opportunity_id, Contract.status == "SIGNED").limit(1))
    return found is not None


async def contracts_of(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID]
                       ) -> list[Contract]:
    return list((await session.scalars(select(Contract).where(Contract.opportunity_id.in_(
        list(opportunity_ids))).order_by(Contract.opportunity_id, Contract.number))).all())


async def contract_of_quote(session: AsyncSession, quote_id: uuid.UUID) -> Contract | None:
    return (await session.scalars(select(Contract).where(Contract.quote_id == quote_id)
                                  .order_by(Contract.number).limit(1))).first()


async def latest_amendment(session: AsyncSession, contract_id: uuid.UUID) -> int:
    found = await session.scalar(select(func.max(Contract.number)).where(
        (Contract.amends_id == contract_id) | (Contract.id == contract_id)))
    return int(found or 1)


async def signing_key(session: AsyncSession, user_id: uuid.UUID) -> SigningKey | None:
    return await session.get(SigningKey, user_id)


async def paid(session: AsyncSession, contract_id: uuid.UUID) -> Decimal:
    """Payments minus refunds of a contract."""
    signed = case((Payment.kind == "REFUND", -Payment.amount), else_=Payment.amount)
    total = await session.scalar(select(func.coalesce(func.sum(signed), 0)).where(
        Payment.contract_id == contract_id))
    return Decimal(total or 0)


async def paid_many(session: AsyncSession, contract_ids: Sequence[uuid.UUID]
                    ) -> dict[uuid.UUID, Decimal]:
    signed = case((Payment.kind == "REFUND", -Payment.amount), else_=Payment.amount)
    rows = await session.execute(select(Payment.contract_id, func.sum(signed)).where(
        Payment.contract_id.in_(list(contract_ids))).group_by(Payment.contract_id))
    return {key: Decimal(value) for key, value in rows.all()}


async def orders_of(session: AsyncSession, contract_id: uuid.UUID) -> list[Order]:
    return list((await session.scalars(select(Order).where(
        Order.contract_id == contract_id).order_by(Order.ordered_at))).all())


async def order_for_update(session: AsyncSession, order_id: uuid.UUID) -> Order | None:
    return await session.get(Order, order_id, with_for_update=True)


async def tender_of(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID]
                    ) -> dict[uuid.UUID, Tender]:
    rows = await session.scalars(select(Tender).where(Tender.opportunity_id.in_(
        list(opportunity_ids))))
    return {row.opportunity_id: row for row in rows}


async def milestones(session: AsyncSession, tender_ids: Sequence[uuid.UUID]
                     ) -> dict[uuid.UUID, list[TenderMilestone]]:
    found: dict[uuid.UUID, list[TenderMilestone]] = {key: [] for key in tender_ids}
    rows = await session.scalars(select(TenderMilestone).where(
        TenderMilestone.tender_id.in_(list(tender_ids))).order_by(TenderMilestone.planned_on))
    for row in rows:
        found[row.tender_id].append(row)
    return found


async def milestone(session: AsyncSession, tender_id: uuid.UUID,
                    kind: str) -> TenderMilestone | None:
    return await session.get(TenderMilestone, (tender_id, kind), with_for_update=True)


async def max_discounts(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID] | None
                        ) -> dict[uuid.UUID, Decimal]:
    """The largest quoted discount per deal (`None`: every deal)."""
    statement = select(Quote.opportunity_id, func.max(Quote.discount_pct)).group_by(
        Quote.opportunity_id)
    if opportunity_ids is not None:
        statement = statement.where(Quote.opportunity_id.in_(list(opportunity_ids)))
    rows = await session.execute(statement)
    return {key: Decimal(value) for key, value in rows.all()}


async def user_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(list(ids))))
    return {key: name for key, name in rows.all()}


async def tender_flags(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID] | None,
                       today: Any) -> dict[uuid.UUID, int]:
    """Per deal with a tender: how many of its milestones are overdue (planned before today,
    not done). `None`: every deal."""
    overdue = func.count(TenderMilestone.kind).filter(
        TenderMilestone.actual_on.is_(None), TenderMilestone.planned_on < today)
    statement = (select(Tender.opportunity_id, overdue)
                 .outerjoin(TenderMilestone, TenderMilestone.tender_id == Tender.id)
                 .group_by(Tender.opportunity_id))
    if opportunity_ids is not None:
        statement = statement.where(Tender.opportunity_id.in_(list(opportunity_ids)))
    return {key: int(count) for key, count in (await session.execute(statement)).all()}


async def lock_stale_signing_keys(session: AsyncSession, prefix: str) -> list[SigningKey]:
    """Signing keys whose private envelope is not under the current field key (rotation)."""
    statement = select(SigningKey).where(
        SigningKey.private_envelope.not_like(f"{prefix}%")).with_for_update()
    return list((await session.scalars(statement)).all())
