"""Campaigns (营销活动): budget and actual cost, a segment written in the tag rule language
whose matches (among the accounts the creator may see) become the members, and ROI.

Attribution: an opportunity or lead belongs to the campaign named by its `campaign_id`
(set when it is created from the campaign; contract C). ROI = (sum of the amounts of the
campaign's WON opportunities − cost) / cost, null while the cost is zero.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from auth.actor import Actor
from relational.ledger import Reader
from relational.operations_models import Campaign
from relational.repositories import campaigns as repo
from relational.repositories import tag_rules as rules_repo
from relational.uow import UnitOfWork
from services import policy, tag_rules
from services import validation as check
from services.errors import BadUserInput


@dataclass(frozen=True)
class CampaignRecord:
    id: uuid.UUID
    name: str
    budget: Decimal
    cost: Decimal
    currency: str
    segment: str
    created_at: datetime

    @classmethod
    def of(cls, row: Campaign) -> CampaignRecord:
        return cls(row.id, row.name, row.budget, row.cost, row.currency, row.segment,
                   row.created_at)


def _amount(value: Decimal, field: str) -> Decimal:
    if value.is_finite() and value < 0:
        raise BadUserInput(f"`{field}` must not be negative", field=field)
    checked = check.money(value, field)
    assert checked is not None  # noqa: S101 - a value was given
    return checked


async def create(uow: UnitOfWork, actor: Actor, *, name: str, budget: Decimal, currency: str,
                 segment: str, cost: Decimal, now: datetime) -> CampaignRecord:
    clean_name = check.text(name, "name", max_length=100)
    valid_budget, valid_cost = _amount(budget, "budget"), _amount(cost, "cost")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise BadUserInput("`currency` is an ISO 4217 code such as CNY", field="currency")
    try:
        tree = await tag_rules.validated(uow, segment)
    except BadUserInput as error:
        raise BadUserInput(str(error).replace("expression", "segment"), field="segment") \
            from error
    if actor.user_id is None:
        raise BadUserInput("campaigns are created by users", field="name")
    campaign = Campaign(id=uuid.uuid4(), name=clean_name, budget=valid_budget, cost=valid_cost,
                        currency=currency, segment=segment.strip(), owner_id=actor.user_id,
                        version=1, created_at=now, updated_at=now)
    uow.session.add(campaign)
    await uow.session.flush()
    members = await repo.enrol_matches(uow.session, campaign.id,
                                       rules_repo.compile_rule(tree, now),
                                       policy.visibility(actor), now)
    uow.audit("campaign.create", [str(campaign.id)], after={
        "name": clean_name, "budget": str(valid_budget), "cost": str(valid_cost),
        "currency": currency, "segment": campaign.segment, "members": members})
    return CampaignRecord.of(campaign)


async def load_many(read: Reader, ids: list[uuid.UUID]) -> dict[uuid.UUID, CampaignRecord]:
    async with read() as session:
        return {key: CampaignRecord.of(row)
                for key, row in (await repo.get_many(session, ids)).items()}


async def member_counts(read: Reader, actor: Actor,
                        ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    async with read() as session:
        return await repo.member_counts(session, ids, policy.visibility(actor))


def roi(won: Decimal, cost: Decimal) -> Decimal | None:
    """(won revenue attributed − cost) / cost, to four places; None while nothing was spent."""
    if cost == 0:
        return None
    return ((won - cost) / cost).quantize(Decimal("0.0001"))


async def rois(read: Reader, campaigns: list[CampaignRecord]) -> dict[uuid.UUID, Decimal | None]:
    async with read() as session:
        won = await repo.won_revenue(session, [campaign.id for campaign in campaigns])
    return {campaign.id: roi(won[campaign.id], campaign.cost) for campaign in campaigns}


async def enrol_by_name(uow: UnitOfWork, name: str, account_id: uuid.UUID,
                        now: datetime) -> bool:
    """Enrol an account in the newest campaign of that name (lifecycle actions)."""
    found = await repo.by_name(uow.session, name)
    if found is None:
        return False
    await repo.enrol(uow.session, found.id, account_id, now)
    return True
