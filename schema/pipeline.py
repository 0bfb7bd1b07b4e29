"""The pipeline domain's root fields: opportunities, pipelines, leads, quotes, contracts,
payments, tenders, reports and the win model."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import strawberry
from strawberry import relay

from analytics.pipeline import Period
from resolvers import forecasting as reports
from resolvers import pipeline as resolve
from resolvers.context import Context
from resolvers.ids import from_global_id, to_global_id
from schema.accounts import AccountRef, account_ref
from schema.common import AfterArg, FirstArg, edges, page_info
from schema.directives import guard
from schema.money_types import Contract, ContractVerification, Order, Payment, Quote
from schema.pipeline_inputs import (
    ContractAmendInput,
    ContractCreateFromQuoteInput,
    ContractSignInput,
    DeliveryRecordInput,
    LeadConvertInput,
    LeadCreateInput,
    OpportunityCreateInput,
    OpportunityMoveStageInput,
    OpportunityUpdateInput,
    OrderCreateInput,
    PaymentRecordInput,
    PipelineDefineInput,
    PipelineSegment,
    QuoteCreateInput,
    QuoteDecisionInput,
    ReturnRecordInput,
    TenderCreateInput,
    TenderUpdateInput,
)
from schema.pipeline_reports import (
    ForecastAccuracy,
    ForecastPeriod,
    ForecastPoint,
    ForecastSnapshot,
    ForecastView,
    Lead,
    StageConversion,
    Tender,
    WinModel,
)
from schema.pipeline_types import Opportunity, OpportunityConnection, OpportunityStatus, Pipeline
from schema.writes import GraphWrite, Settle
from services.forecasting import SegmentFilter
from services.opportunities import OpportunityChanges, OpportunityDraft, OpportunitySearch
from services.quotes import QuoteDraft
from services.tenders import TenderChanges

Info = strawberry.Info[Context, None]
IdArg = Annotated[strawberry.ID, strawberry.argument(description="A global id.")]


def _raw(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if value is None else from_global_id(str(value), type_name, field)


def _segment(given: PipelineSegment | None) -> SegmentFilter:
    found = given or PipelineSegment()
    return reports.segment(
        None if found.pipeline_id is None else str(found.pipeline_id),
        None if found.owner_id is None else str(found.owner_id), found.region,
        found.industry, None if found.department_id is None else str(found.department_id))


SegmentArg = Annotated[PipelineSegment | None, strawberry.argument(
    description="Owner, department, region, industry, pipeline.")]


@strawberry.type(description="Read operations of the sales pipeline.")
class PipelineQueries:
    @strawberry.field(description="One opportunity by id; null if there is none.",
                      extensions=guard("opportunity:read"))
    async def opportunity(self, info: Info, id: IdArg) -> Opportunity | None:
        row = await resolve.opportunity(info.context, str(id))
        return None if row is None else Opportunity.from_row(row)

    @strawberry.field(description="Opportunities you may see, newest first.",
                      extensions=guard("opportunity:read"))
    async def opportunities(
        self, info: Info, status: OpportunityStatus | None = None, stage: str | None = None,
        account_id: strawberry.ID | None = None, owner_id: strawberry.ID | None = None,
        first: FirstArg = 20, after: AfterArg = None,
    ) -> OpportunityConnection:
        query = OpportunitySearch(owner_id=_raw(owner_id, "User", "ownerId"),
                                  account_id=_raw(account_id, "Account", "accountId"),
                                  status=None if status is None else status.value, stage=stage)
        page = await resolve.search(info.context, query, first, after)
        return OpportunityConnection(page_info=page_info(page), query=query,
                                     edges=edges(page, Opportunity.from_row))

    @strawberry.field(description="Pipelines: the default one first.",
                      extensions=guard("opportunity:read"))
    async def pipelines(self, info: Info) -> list[Pipeline]:
        return [Pipeline.of(row) for row in await resolve.pipeline_list(info.context)]

    @strawberry.field(description="Leads you may see, newest first (first ≤ 100).",
                      extensions=guard("opportunity:read"))
    async def leads(self, info: Info, status: str | None = None, first: FirstArg = 20,
                    after: AfterArg = None) -> LeadPage:
        page = await reports.lead_search(info.context, status, first, after)
        return LeadPage(nodes=[Lead.of(row) for row in page.items], page_info=page_info(page))

    @strawberry.field(description="Whether a contract still matches its SM2 signature, and "
                                  "who signed it; null if there is no such contract.",
                      extensions=guard("opportunity:read"))
    async def contract_verify(self, info: Info, contract_id: IdArg
                              ) -> ContractVerification | None:
        found = await resolve.contract_verify(info.context, str(contract_id))
        return None if found is None else ContractVerification.of(found)

    @strawberry.field(description="Stage conversion and median time in stage for deals that "
                                  "entered a stage in [since, until].",
                      extensions=guard("opportunity:read"))
    async def pipeline_conversion(self, info: Info, since: date | None = None,
                                  until: date | None = None, segment: SegmentArg = None
                                  ) -> list[StageConversion]:
        rows = await reports.conversion(info.context, _segment(segment), since, until)
        return [StageConversion.of(row) for row in rows]

    @strawberry.field(description="Forecast by period of the deals whose amounts you see.",
                      extensions=guard("amount:read"))
    async def forecast(self, info: Info, period: ForecastPeriod = ForecastPeriod.QUARTER,
                       category: ForecastView = ForecastView.COMMIT, currency: str = "CNY",
                       start: date | None = None, periods: int = 4,
                       segment: SegmentArg = None) -> list[ForecastPoint]:
        rows = await reports.forecast(info.context, Period(period.value), currency, start,
                                      periods, _segment(segment))
        return [ForecastPoint.of(row, category) for row in rows]

    @strawberry.field(description="Weekly forecast snapshots (immutable), oldest first.",
                      extensions=guard("amount:read"))
    async def forecast_snapshots(self, info: Info, currency: str = "CNY",
                                 since: date | None = None) -> list[ForecastSnapshot]:
        rows = await reports.snapshots(info.context, currency, since)
        return [ForecastSnapshot.of(row) for row in rows]

    @strawberry.field(description="Accuracy (MAPE) of past snapshots per ended period, in "
                                  "total and per owner.",
                      extensions=guard("amount:read"))
    async def forecast_accuracy(self, info: Info,
                                period: ForecastPeriod = ForecastPeriod.QUARTER,
                                category: ForecastView = ForecastView.WEIGHTED,
                                currency: str = "CNY") -> list[ForecastAccuracy]:
        rows = await reports.accuracy(info.context, Period(period.value), category.value,
                                      currency)
        return [ForecastAccuracy.of(row) for row in rows]

    @strawberry.field(description="The win model in use and its metrics.",
                      extensions=guard("opportunity:read"))
    async def win_model(self, info: Info) -> WinModel:
        return WinModel.of(await reports.model(info.context))


@strawberry.type(description="A page of leads.")
class LeadPage:
    nodes: list[Lead] = strawberry.field(description="The leads of this page.")
    page_info: relay.PageInfo = strawberry.field(description="Where the next page starts.")


@strawberry.type(description="Result of opportunityCreate.")
class OpportunityCreatePayload:
    opportunity: Opportunity = strawberry.field(description="The new opportunity.")


@strawberry.type(description="Result of opportunityMoveStage / opportunityUpdate.")
class OpportunityPayload:
    opportunity: Opportunity = strawberry.field(description="The opportunity after the change.")


@strawberry.type(description="Result of a quote mutation.")
class QuotePayload:
    quote: Quote = strawberry.field(description="The quote.")


@strawberry.type(description="Result of a contract mutation.")
class ContractPayload:
    contract: Contract = strawberry.field(description="The contract.")


@strawberry.type(description="Result of paymentRecord / paymentRefund.")
class PaymentPayload:
    payment: Payment = strawberry.field(description="The payment or refund.")


@strawberry.type(description="Result of orderCreate.")
class OrderPayload:
    order: Order = strawberry.field(description="The order.")


@strawberry.type(description="Result of deliveryRecord / returnRecord.")
class RecordedPayload:
    id: strawberry.ID = strawberry.field(description="Global id of the record.")


@strawberry.type(description="Result of leadCreate.")
class LeadPayload:
    lead: Lead = strawberry.field(description="The lead.")


@strawberry.type(description="Result of leadConvert.")
class LeadConvertPayload(GraphWrite):
    lead: Lead = strawberry.field(description="The converted lead.")
    account: AccountRef = strawberry.field(description="The account found or created.")
    account_created: bool = strawberry.field(description="False: an existing account was "
                                                         "found by USCC or name.")
    contact_id: strawberry.ID | None = strawberry.field(description="The new contact.")
    opportunity: Opportunity = strawberry.field(description="The new opportunity.")


@strawberry.type(description="Result of a tender mutation.")
class TenderPayload:
    tender: Tender = strawberry.field(description="The tender.")


@strawberry.type(description="Result of pipelineDefine.")
class PipelinePayload:
    pipeline: Pipeline = strawberry.field(description="The pipeline.")


@strawberry.type(description="Result of forecastSnapshotTake.")
class ForecastSnapshotPayload:
    snapshot: ForecastSnapshot = strawberry.field(description="This week's snapshot.")
    created: bool = strawberry.field(description="False: it had been taken already this week "
                                                 "and is unchanged.")


@strawberry.type(description="Result of winModelTrain.")
class WinModelPayload:
    model: WinModel = strawberry.field(description="The new model version.")


async def opportunity_create(info: Info, input: OpportunityCreateInput
                             ) -> OpportunityCreatePayload:
    draft = OpportunityDraft(
        account_id=from_global_id(str(input.account_id), "Account", "accountId"),
        name=input.name, amount=input.amount, currency=input.currency,
        expected_close_on=input.expected_close_on,
        pipeline_id=_raw(input.pipeline_id, "Pipeline", "pipelineId"),
        campaign_id=_raw(input.campaign_id, "Campaign", "campaignId"))
    row = await resolve.create(info.context, draft, input.idempotency_key)
    return OpportunityCreatePayload(opportunity=Opportunity.from_row(row))


async def opportunity_move_stage(info: Info, input: OpportunityMoveStageInput
                                 ) -> OpportunityPayload:
    row = await resolve.move_stage(info.context, str(input.opportunity_id), input.stage,
                                   input.version, input.note, input.lost_reason)
    return OpportunityPayload(opportunity=Opportunity.from_row(row))


async def opportunity_update(info: Info, input: OpportunityUpdateInput) -> OpportunityPayload:
    row = await resolve.update(info.context, str(input.opportunity_id), input.version,
                               OpportunityChanges(input.name, input.amount,
                                                  input.expected_close_on))
    return OpportunityPayload(opportunity=Opportunity.from_row(row))


async def pipeline_define(info: Info, input: PipelineDefineInput) -> PipelinePayload:
    row = await resolve.pipeline_define(
        info.context, None if input.pipeline_id is None else str(input.pipeline_id),
        input.name, [stage.draft() for stage in input.stages], input.version)
    return PipelinePayload(pipeline=Pipeline.of(row))


async def quote_create(info: Info, input: QuoteCreateInput) -> QuotePayload:
    draft = QuoteDraft(
        opportunity_id=from_global_id(str(input.opportunity_id), "Opportunity",
                                      "opportunityId"),
        currency=input.currency, discount_pct=input.discount_pct,
        lines=[line.draft() for line in input.lines], tax_pct=input.tax_pct)
    return QuotePayload(quote=Quote.of(await resolve.quote_create(
        info.context, draft, input.idempotency_key)))


async def quote_approve(info: Info, input: QuoteDecisionInput) -> QuotePayload:
    return QuotePayload(quote=Quote.of(await resolve.quote_decide(
        info.context, str(input.quote_id), True, input.comment, input.version)))


async def quote_reject(info: Info, input: QuoteDecisionInput) -> QuotePayload:
    return QuotePayload(quote=Quote.of(await resolve.quote_decide(
        info.context, str(input.quote_id), False, input.comment, input.version)))


async def contract_create_from_quote(info: Info, input: ContractCreateFromQuoteInput
                                     ) -> ContractPayload:
    return ContractPayload(contract=Contract.of(await resolve.contract_from_quote(
        info.context, str(input.quote_id), input.terms, input.ends_on)))


async def contract_sign(info: Info, input: ContractSignInput) -> ContractPayload:
    return ContractPayload(contract=Contract.of(await resolve.contract_sign(
        info.context, str(input.contract_id), input.version)))


async def contract_amend(info: Info, input: ContractAmendInput) -> ContractPayload:
    return ContractPayload(contract=Contract.of(await resolve.contract_amend(
        info.context, str(input.contract_id), input.terms, input.ends_on)))


async def payment_record(info: Info, input: PaymentRecordInput) -> PaymentPayload:
    return PaymentPayload(payment=Payment.of(await resolve.payment_record(
        info.context, str(input.contract_id), input.amount, input.currency, False,
        input.idempotency_key)))


async def payment_refund(info: Info, input: PaymentRecordInput) -> PaymentPayload:
    return PaymentPayload(payment=Payment.of(await resolve.payment_record(
        info.context, str(input.contract_id), input.amount, input.currency, True,
        input.idempotency_key)))


async def order_create(info: Info, input: OrderCreateInput) -> OrderPayload:
    return OrderPayload(order=Order.of(await resolve.order_create(
        info.context, str(input.contract_id))))


async def delivery_record(info: Info, input: DeliveryRecordInput) -> RecordedPayload:
    made = await resolve.delivery_record(info.context, str(input.order_id), input.note)
    return RecordedPayload(id=strawberry.ID(to_global_id("Delivery", made)))


async def return_record(info: Info, input: ReturnRecordInput) -> RecordedPayload:
    made = await resolve.return_record(info.context, str(input.order_id), input.reason,
                                       input.amount, input.currency)
    return RecordedPayload(id=strawberry.ID(to_global_id("Return", made)))


async def lead_create(info: Info, input: LeadCreateInput) -> LeadPayload:
    campaign = _raw(input.campaign_id, "Campaign", "campaignId")
    return LeadPayload(lead=Lead.of(await reports.lead_create(
        info.context, input.draft(campaign), input.idempotency_key)))


async def lead_convert(info: Info, input: LeadConvertInput) -> LeadConvertPayload:
    made = await reports.lead_convert(info.context, str(input.lead_id), input.version,
                                      input.name, input.amount, input.currency,
                                      input.expected_close_on)
    return LeadConvertPayload(
        lead=Lead.of(made.lead), account=await account_ref(info, made.account_id),
        account_created=made.account_created, opportunity=Opportunity.from_row(made.opportunity),
        contact_id=None if made.contact_id is None else strawberry.ID(
            to_global_id("Contact", made.contact_id)))


async def tender_create(info: Info, input: TenderCreateInput) -> TenderPayload:
    return TenderPayload(tender=Tender.of(await reports.tender_create(
        info.context, str(input.opportunity_id), input.competitors,
        [m.draft() for m in input.milestones], [d.draft() for d in input.documents])))


async def tender_update(info: Info, input: TenderUpdateInput) -> TenderPayload:
    changes = TenderChanges(input.competitors, input.outcome,
                            [m.draft() for m in input.milestones],
                            [d.draft() for d in input.documents])
    return TenderPayload(tender=Tender.of(await reports.tender_update(
        info.context, str(input.tender_id), input.version, changes)))


async def forecast_snapshot_take(info: Info, currency: str = "CNY") -> ForecastSnapshotPayload:
    found, created = await reports.snapshot_take(info.context, currency)
    return ForecastSnapshotPayload(snapshot=ForecastSnapshot.of(found), created=created)


async def win_model_train(info: Info) -> WinModelPayload:
    return WinModelPayload(model=WinModel.of(await reports.model_train(info.context)))


def _write(resolver: object, description: str, permission: str, audit_as: str,
           *, settle: bool = False) -> object:
    rule = guard(permission, audit_as=audit_as)
    return strawberry.mutation(resolver=resolver, description=description,  # type: ignore[call-overload]
                               extensions=[*rule, Settle()] if settle else rule)


@strawberry.type(description="Write operations of the sales pipeline.")
class PipelineMutations:
    opportunity_create = _write(opportunity_create, "Create an opportunity.",
                                "opportunity:write", "opportunity.create")
    opportunity_move_stage = _write(
        opportunity_move_stage, "Move an opportunity to a stage (entry conditions are "
        "enforced), backwards, or close it as WON / LOST.", "opportunity:write",
        "opportunity.moveStage")
    opportunity_update = _write(opportunity_update, "Change an open opportunity.",
                                "opportunity:write", "opportunity.update")
    pipeline_define = _write(pipeline_define, "Define or redefine a pipeline (admins).",
                             "pipeline:manage", "pipeline.define")
    quote_create = _write(quote_create, "Create a quote (a new version).", "quote:write",
                          "quote.create")
    quote_approve = _write(quote_approve, "Approve a quote (the owner below the discount "
                           "threshold, a manager above the owner above it).", "quote:write",
                           "quote.approve")
    quote_reject = _write(quote_reject, "Reject a quote.", "quote:write", "quote.reject")
    contract_create_from_quote = _write(contract_create_from_quote,
                                        "A draft contract from an approved quote.",
                                        "contract:write", "contract.create")
    contract_sign = _write(contract_sign, "Sign a contract with your SM2 key.",
                           "contract:sign", "contract.sign")
    contract_amend = _write(contract_amend, "Amend a signed contract (a new linked draft).",
                            "contract:write", "contract.amend")
    payment_record = _write(payment_record, "Record a payment (partial payments add up; an "
                            "overpayment is refused).", "payment:write", "payment.record")
    payment_refund = _write(payment_refund, "Refund part of what was paid.", "payment:write",
                            "payment.refund")
    order_create = _write(order_create, "Place the order of a signed contract.",
                          "contract:write", "order.create")
    delivery_record = _write(delivery_record, "Record a delivery of an order.",
                             "contract:write", "delivery.record")
    return_record = _write(return_record, "Record a return (退换货) with its reason.",
                           "contract:write", "return.record")
    lead_create = _write(lead_create, "Create a lead.", "opportunity:write", "lead.create")
    lead_convert = _write(lead_convert, "Convert a lead into an account (found again by USCC "
                          "or name), a contact and an opportunity; once.", "opportunity:write",
                          "lead.convert", settle=True)
    tender_create = _write(tender_create, "Start tender tracking.", "opportunity:write",
                           "tender.create")
    tender_update = _write(tender_update, "Change a tender.", "opportunity:write",
                           "tender.update")
    forecast_snapshot_take = _write(forecast_snapshot_take,
                                    "Take this week's forecast snapshot (once a week).",
                                    "pipeline:manage", "forecast.snapshot")
    win_model_train = _write(win_model_train, "Train a new win model version on closed deals.",
                             "pipeline:manage", "winModel.train")
