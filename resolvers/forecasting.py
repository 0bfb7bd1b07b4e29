"""Bindings of the pipeline reports, leads, tenders and the win model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from analytics.pipeline import Accuracy, Conversion, ForecastRow, Period
from resolvers.context import Context
from resolvers.ids import from_global_id
from services import forecasting, leads, tenders, win
from services.forecasting import SegmentFilter, SnapshotRecord
from services.leads import LeadDraft, LeadRecord
from services.pagination import Page
from services.tenders import DocumentDraft, MilestoneDraft, TenderChanges, TenderRecord
from services.win import ModelRecord


async def conversion(ctx: Context, wanted: SegmentFilter, since: date | None,
                     until: date | None) -> list[Conversion]:
    return await forecasting.conversion(ctx.stores.read, await ctx.actor(), wanted,
                                        since=since, until=until)


async def forecast(ctx: Context, period: Period, currency: str, first: date | None,
                   periods: int, wanted: SegmentFilter) -> list[ForecastRow]:
    return await forecasting.forecast(ctx.stores.read, await ctx.actor(), period,
                                      currency=currency, first=first, periods=periods,
                                      wanted=wanted)


async def snapshot_take(ctx: Context, currency: str) -> tuple[SnapshotRecord, bool]:
    async with await ctx.uow() as uow:
        return await forecasting.take_snapshot(uow, today=datetime.now(UTC).date(),
                                               currency=currency)


async def snapshots(ctx: Context, currency: str, since: date | None) -> list[SnapshotRecord]:
    return await forecasting.snapshots(ctx.stores.read, await ctx.actor(), currency, since)


async def accuracy(ctx: Context, kind: Period, category: str,
                   currency: str) -> list[Accuracy]:
    return await forecasting.accuracy(ctx.stores.read, await ctx.actor(), kind, category,
                                      currency)


async def model(ctx: Context) -> ModelRecord:
    return await win.current(ctx.stores.read)


async def model_train(ctx: Context) -> ModelRecord:
    async with await ctx.uow() as uow:
        return await win.train(uow, minimum=ctx.stores.settings.min_closed_deals_to_train)


async def lead_create(ctx: Context, draft: LeadDraft, key: str | None) -> LeadRecord:
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await leads.create(uow, await ctx.actor(), draft, idempotency_key)


async def lead_convert(ctx: Context, global_id: str, version: int | None, name: str | None,
                       amount: Decimal, currency: str,
                       expected_close_on: date | None) -> leads.Conversion:
    lead_id = from_global_id(global_id, "Lead", "leadId")
    async with await ctx.uow() as uow:
        return await leads.convert(uow, await ctx.actor(), ctx.stores.cipher, lead_id,
                                   version=version, name=name, amount=amount,
                                   currency=currency, expected_close_on=expected_close_on)


async def lead_search(ctx: Context, status: str | None, first: int | None,
                      after: str | None) -> Page[LeadRecord]:
    return await leads.search(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(),
                              status, first, after)


async def tender_create(ctx: Context, global_id: str, competitors: Sequence[str],
                        milestones: Sequence[MilestoneDraft],
                        documents: Sequence[DocumentDraft]) -> TenderRecord:
    opportunity_id = from_global_id(global_id, "Opportunity", "opportunityId")
    async with await ctx.uow() as uow:
        return await tenders.create(uow, await ctx.actor(), opportunity_id, competitors,
                                    milestones, documents)


async def tender_update(ctx: Context, global_id: str, version: int,
                        changes: TenderChanges) -> TenderRecord:
    tender_id = from_global_id(global_id, "Tender", "tenderId")
    async with await ctx.uow() as uow:
        return await tenders.update(uow, await ctx.actor(), tender_id, version, changes)


def segment(pipeline_id: str | None, owner_id: str | None, region: str | None,
            industry: str | None, department_id: str | None) -> SegmentFilter:
    def raw(value: str | None, type_name: str, field: str) -> uuid.UUID | None:
        return None if value is None else from_global_id(value, type_name, field)

    return SegmentFilter(pipeline_id=raw(pipeline_id, "Pipeline", "pipelineId"),
                         owner_id=raw(owner_id, "User", "ownerId"),
                         department_id=raw(department_id, "Department", "departmentId"),
                         region=region, industry=industry)
