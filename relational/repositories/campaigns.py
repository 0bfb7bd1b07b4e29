"""Campaigns, their members (the visible accounts their segment matched) and attribution."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account
from relational.operations_models import Campaign, CampaignMember
from relational.pipeline_models import Lead, Opportunity
from relational.repositories.opportunities import leads_readable
from relational.repositories.tag_rules import STATEMENT_TIMEOUT_MS, opportunities
from relational.repositories.visibility import (
    Visibility,
    accounts_readable,
    opportunities_readable,
)


async def enrol_matches(session: AsyncSession, campaign_id: uuid.UUID,
                        condition: ColumnElement[bool], seen: Visibility, now: datetime) -> int:
    """Make every account the segment matches, among those `seen`, a member."""
    await session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
    result = await session.execute(
        insert(CampaignMember).from_select(
            ["campaign_id", "account_id", "joined_at"],
            select(literal(campaign_id), Account.id, literal(now))
            .where(and_(accounts_readable(seen), condition)))
        .on_conflict_do_nothing())
    return int(result.rowcount)  # type: ignore[attr-defined]


async def enrol(session: AsyncSession, campaign_id: uuid.UUID, account_id: uuid.UUID,
                now: datetime) -> None:
    await session.execute(insert(CampaignMember).values(
        campaign_id=campaign_id, account_id=account_id, joined_at=now).on_conflict_do_nothing())


async def get_many(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Campaign]:
    rows = await session.scalars(select(Campaign).where(Campaign.id.in_(ids)))
    return {row.id: row for row in rows}


async def exists(session: AsyncSession, campaign_id: uuid.UUID) -> bool:
    return await session.scalar(select(Campaign.id).where(Campaign.id == campaign_id)) \
        is not None


async def by_name(session: AsyncSession, name: str) -> Campaign | None:
    return (await session.scalars(select(Campaign).where(Campaign.name == name)
                                  .order_by(Campaign.created_at.desc()).limit(1))).first()


async def won_revenue(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
    """Amounts of WON opportunities attributed to each campaign (0 without opportunities)."""
    found = {campaign_id: Decimal(0) for campaign_id in ids}
    if await session.scalar(text("SELECT to_regclass('opportunities')")) is None:
        return found
    rows = await session.execute(
        select(opportunities.c.campaign_id, func.coalesce(func.sum(opportunities.c.amount), 0))
        .where(opportunities.c.campaign_id.in_(ids), opportunities.c.status == "WON")
        .group_by(opportunities.c.campaign_id))
    found.update({campaign_id: Decimal(total) for campaign_id, total in rows})
    return found


async def member_for_update(session: AsyncSession, campaign_id: uuid.UUID,
                            account_id: uuid.UUID) -> CampaignMember | None:
    return (await session.scalars(select(CampaignMember).where(
        CampaignMember.campaign_id == campaign_id, CampaignMember.account_id == account_id)
        .with_for_update())).one_or_none()


async def response_counts(session: AsyncSession, ids: list[uuid.UUID],
                          seen: Visibility) -> dict[uuid.UUID, dict[str | None, int]]:
    """Members per campaign and latest response (None: none yet), among visible accounts."""
    rows = await session.execute(
        select(CampaignMember.campaign_id, CampaignMember.response, func.count())
        .join(Account, Account.id == CampaignMember.account_id)
        .where(CampaignMember.campaign_id.in_(ids), accounts_readable(seen))
        .group_by(CampaignMember.campaign_id, CampaignMember.response))
    found: dict[uuid.UUID, dict[str | None, int]] = {campaign_id: {} for campaign_id in ids}
    for campaign_id, response, count in rows:
        found[campaign_id][response] = int(count)
    return found


async def members_page(session: AsyncSession, campaign_id: uuid.UUID, seen: Visibility,
                       response: str | None, after: tuple[datetime, uuid.UUID] | None,
                       limit: int) -> list[CampaignMember]:
    """Visible members by (joined_at, account id), optionally of one latest response."""
    statement = (select(CampaignMember)
                 .join(Account, Account.id == CampaignMember.account_id)
                 .where(CampaignMember.campaign_id == campaign_id, accounts_readable(seen)))
    if response is not None:
        statement = statement.where(CampaignMember.response == response)
    if after is not None:
        statement = statement.where(
            tuple_(CampaignMember.joined_at, CampaignMember.account_id) > tuple_(*after))
    return list(await session.scalars(statement.order_by(
        CampaignMember.joined_at, CampaignMember.account_id).limit(limit)))


async def attribution(session: AsyncSession, campaign_id: uuid.UUID,
                      seen: Visibility) -> tuple[int, int, int]:
    """(leads, opportunities, WON opportunities) attributed to the campaign that the reader
    may see."""
    leads = await session.scalar(select(func.count()).select_from(Lead).where(
        Lead.campaign_id == campaign_id, leads_readable(seen)))
    deals = (await session.execute(select(
        func.count(), func.count().filter(Opportunity.status == "WON"))
        .select_from(Opportunity).where(Opportunity.campaign_id == campaign_id,
                                        opportunities_readable(seen)))).one()
    return int(leads or 0), int(deals[0]), int(deals[1])
