"""Pipeline bindings: opportunities, quotes, contracts, payments."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from analytics.win import Score
from resolvers.context import Context
from resolvers.ids import from_global_id
from services import contracts, opportunities, payments, pipelines, quotes
from services.contracts import ContractRecord, Verification
from services.errors import NotFound
from services.opportunities import (
    OpportunityChanges,
    OpportunityDraft,
    OpportunityRecord,
    OpportunitySearch,
    StageChangeRecord,
)
from services.pagination import Page
from services.payments import OrderRecord, PaymentRecord
from services.pipelines import PipelineRecord, StageDraft
from services.quotes import QuoteDraft, QuoteRecord
from services.tenders import TenderRecord


def uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def win_of(ctx: Context, deal: OpportunityRecord) -> Score | None:
    return await ctx.loaders.win.load(deal)


async def tender_of(ctx: Context, deal: OpportunityRecord) -> TenderRecord | None:
    return await ctx.loaders.tender.load(deal.id)


def uuid_of(global_id: str | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if global_id is None else from_global_id(global_id, type_name, field)


async def opportunity(ctx: Context, global_id: str) -> OpportunityRecord | None:
    try:
        opportunity_id = from_global_id(global_id, "Opportunity", "id")
    except NotFound:
        return None
    return await ctx.loaders.opportunity.load(opportunity_id)


async def opportunities_by_uuid(ctx: Context, ids: list[uuid.UUID | None]
                                ) -> list[OpportunityRecord | None]:
    wanted = [key for key in ids if key is not None]
    found = dict(zip(wanted, await ctx.loaders.opportunity.load_many(wanted), strict=True))
    return [None if key is None else found[key] for key in ids]


async def search(ctx: Context, wanted: OpportunitySearch, first: int | None,
                 after: str | None) -> Page[OpportunityRecord]:
    page = await opportunities.search(ctx.stores.read, ctx.stores.cursor_key,
                                      await ctx.actor(), wanted, first, after)
    for row in page.items:
        ctx.loaders.opportunity.prime(row.id, row)
    return page


async def count(ctx: Context, wanted: OpportunitySearch) -> int:
    return await opportunities.count(ctx.stores.read, await ctx.actor(), wanted)


async def history(ctx: Context, deal: OpportunityRecord) -> list[StageChangeRecord]:
    return await ctx.loaders.stage_history.load(deal.id)


async def quotes_of(ctx: Context, deal: OpportunityRecord) -> list[QuoteRecord]:
    return await ctx.loaders.quotes.load(deal)


async def contracts_of(ctx: Context, deal: OpportunityRecord) -> list[ContractRecord]:
    return await ctx.loaders.contracts.load(deal)


async def create(ctx: Context, draft: OpportunityDraft, key: str | None) -> OpportunityRecord:
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await opportunities.create(uow, await ctx.actor(), draft, idempotency_key)


async def update(ctx: Context, global_id: str, version: int,
                 changes: OpportunityChanges) -> OpportunityRecord:
    opportunity_id = from_global_id(global_id, "Opportunity", "opportunityId")
    async with await ctx.uow() as uow:
        return await opportunities.update(uow, await ctx.actor(), opportunity_id, version,
                                          changes)


async def move_stage(ctx: Context, global_id: str, stage: str, version: int,
                     note: str | None, lost_reason: str | None) -> OpportunityRecord:
    opportunity_id = from_global_id(global_id, "Opportunity", "opportunityId")
    async with await ctx.uow() as uow:
        return await opportunities.move_stage(uow, await ctx.actor(), opportunity_id,
                                              stage=stage, version=version, note=note,
                                              lost_reason=lost_reason)


async def pipeline_list(ctx: Context) -> list[PipelineRecord]:
    return await pipelines.listing(ctx.stores.read)


async def pipeline_define(ctx: Context, global_id: str | None, name: str,
                          stages: list[StageDraft], version: int | None) -> PipelineRecord:
    pipeline_id = uuid_of(global_id, "Pipeline", "pipelineId")
    async with await ctx.uow() as uow:
        return await pipelines.define(uow, await ctx.actor(), pipeline_id=pipeline_id,
                                      name=name, stages=stages, version=version)


async def quote_create(ctx: Context, draft: QuoteDraft, key: str | None) -> QuoteRecord:
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await quotes.create(uow, await ctx.actor(), draft,
                                   ctx.stores.settings.quote_discount_threshold_pct,
                                   idempotency_key)


async def quote_decide(ctx: Context, global_id: str, approve: bool, comment: str | None,
                       version: int | None) -> QuoteRecord:
    quote_id = from_global_id(global_id, "Quote", "quoteId")
    async with await ctx.uow() as uow:
        return await quotes.decide(uow, await ctx.actor(), quote_id, approve=approve,
                                   comment=comment, version=version)


async def contract_from_quote(ctx: Context, global_id: str, terms: str | None,
                              ends_on: date | None) -> ContractRecord:
    quote_id = from_global_id(global_id, "Quote", "quoteId")
    async with await ctx.uow() as uow:
        return await contracts.create_from_quote(uow, await ctx.actor(), quote_id, terms,
                                                 ends_on)


async def contract_sign(ctx: Context, global_id: str, version: int | None) -> ContractRecord:
    contract_id = from_global_id(global_id, "Contract", "contractId")
    async with await ctx.uow() as uow:
        return await contracts.sign(uow, ctx.stores.cipher, await ctx.actor(), contract_id,
                                    version)


async def contract_amend(ctx: Context, global_id: str, terms: str,
                         ends_on: date | None) -> ContractRecord:
    contract_id = from_global_id(global_id, "Contract", "contractId")
    async with await ctx.uow() as uow:
        return await contracts.amend(uow, await ctx.actor(), contract_id, terms, ends_on)


async def contract_verify(ctx: Context, global_id: str) -> Verification | None:
    contract_id = from_global_id(global_id, "Contract", "contractId")
    return await contracts.verify(ctx.stores.read, await ctx.actor(), contract_id)


async def payment_record(ctx: Context, global_id: str, amount: Decimal, currency: str,
                         refund: bool, key: str | None) -> PaymentRecord:
    contract_id = from_global_id(global_id, "Contract", "contractId")
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await payments.record(uow, await ctx.actor(), contract_id, amount, currency,
                                     refund=refund, key=idempotency_key)


async def order_create(ctx: Context, global_id: str) -> OrderRecord:
    contract_id = from_global_id(global_id, "Contract", "contractId")
    async with await ctx.uow() as uow:
        return await payments.order(uow, await ctx.actor(), contract_id)


async def delivery_record(ctx: Context, global_id: str, note: str | None) -> uuid.UUID:
    order_id = from_global_id(global_id, "Order", "orderId")
    async with await ctx.uow() as uow:
        return await payments.deliver(uow, await ctx.actor(), order_id, note)


async def return_record(ctx: Context, global_id: str, reason: str, amount: Decimal,
                        currency: str) -> uuid.UUID:
    order_id = from_global_id(global_id, "Order", "orderId")
    async with await ctx.uow() as uow:
        return await payments.give_back(uow, await ctx.actor(), order_id, reason, amount,
                                        currency)
