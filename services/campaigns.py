"""Campaigns (营销活动): budget and actual cost, a segment written in the tag rule language
whose matches (among the accounts the creator may see) become the members, and ROI.

Members' responses (INVITED … CONVERTED, OPTED_OUT; services/vocabulary.py) are recorded with
`campaignMemberRespond`: the latest one per member with its time and note (each one is also an
audit record); a campaign's members are listed and counted by response among the accounts the
reader may see.

Attribution: an opportunity or lead belongs to the campaign named by its `campaign_id`, given
when it is created (`opportunityCreate` / `leadCreate` take `campaignId`, which must name a
campaign) and carried from a converted lead to its opportunity. ROI = (sum of the amounts of
the campaign's WON opportunities − cost) / cost, null while the cost is zero.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from auth.actor import Actor
from relational.ledger import Reader
from relational.operations_models import Campaign, CampaignMember
from relational.repositories import accounts as accounts_repo
from relational.repositories import campaigns as repo
from relational.repositories import tag_rules as rules_repo
from relational.uow import UnitOfWork
from services import policy, tag_rules
from services import validation as check
from services.errors import BadUserInput, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.vocabulary import CAMPAIGN_RESPONSES


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


@dataclass(frozen=True)
class MemberRecord:
    campaign_id: uuid.UUID
    account_id: uuid.UUID
    joined_at: datetime
    response: str | None
    responded_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, row: CampaignMember) -> MemberRecord:
        return cls(row.campaign_id, row.account_id, row.joined_at, row.response,
                   row.responded_at, row.response_note)


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
        tree = tag_rules.validated(segment)
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


async def respond(uow: UnitOfWork, actor: Actor, *, campaign_id: uuid.UUID,
                  account_id: uuid.UUID, response: str, note: str | None,
                  now: datetime) -> MemberRecord:
    """Record a member's latest response, with its time and an optional note."""
    check.choice(response, "response", CAMPAIGN_RESPONSES)
    clean_note = check.optional_text(note, "note", max_length=500)
    if not await repo.get_many(uow.session, [campaign_id]):
        raise NotFound("no campaign with this id", field="campaignId")
    member = await repo.member_for_update(uow.session, campaign_id, account_id)
    visible = await accounts_repo.get_many(uow.session, [account_id], policy.visibility(actor))
    if member is None or account_id not in visible:
        if member is not None:
            raise policy.out_of_scope("the account is not a member of this campaign",
                                      field="accountId", operation="campaign.respond",
                                      target_id=account_id)
        raise NotFound("the account is not a member of this campaign", field="accountId")
    before = {"response": member.response, "note": member.response_note}
    member.response, member.responded_at, member.response_note = response, now, clean_note
    uow.audit("campaign.respond", [str(campaign_id), str(account_id)], before=before,
              after={"response": response, "note": clean_note})
    return MemberRecord.of(member)


async def members_in(uow: UnitOfWork, actor: Actor, campaign_id: uuid.UUID,
                     limit: int = 100) -> list[uuid.UUID]:
    """Account ids of the first members `actor` may see, within this unit of work."""
    rows = await repo.members_page(uow.session, campaign_id, policy.visibility(actor), None,
                                   None, limit)
    return [row.account_id for row in rows]


async def response_counts(read: Reader, actor: Actor,
                          ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str | None, int]]:
    async with read() as session:
        return await repo.response_counts(session, ids, policy.visibility(actor))


async def members(read: Reader, cursor_key: bytes, actor: Actor, campaign_id: uuid.UUID, *,
                  response: str | None, first: int | None,
                  after: str | None) -> Page[MemberRecord]:
    """The campaign's members the reader may see, oldest first (one response if given)."""
    limit = check_first(first)
    if response is not None:
        check.choice(response, "response", CAMPAIGN_RESPONSES)
    kind = f"campaign-members:{campaign_id}:{response or ''}"
    bound = None if after is None else decode_cursor(cursor_key, after, kind,
                                                     datetime.fromisoformat)
    async with read() as session:
        rows = await repo.members_page(session, campaign_id, policy.visibility(actor),
                                       response, bound, limit + 1)
    page = make_page(rows, limit, lambda row: encode_cursor(
        cursor_key, kind, row.joined_at.isoformat(), row.account_id),
        has_previous=after is not None)
    return page.mapped(MemberRecord.of)


async def attribution(read: Reader, actor: Actor, campaign_id: uuid.UUID) -> tuple[int, int, int]:
    """Leads, opportunities and WON opportunities attributed to the campaign, among those the
    reader may see."""
    async with read() as session:
        return await repo.attribution(session, campaign_id, policy.visibility(actor))
