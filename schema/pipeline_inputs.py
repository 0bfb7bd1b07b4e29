"""Inputs of the pipeline's mutations."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import strawberry

from schema.pipeline_types import ForecastCategoryEnum
from services.leads import LeadDraft
from services.pipelines import ForecastCategory, StageDraft
from services.quotes import LineDraft
from services.tenders import DocumentDraft, MilestoneDraft, MilestoneKind

IDEMPOTENCY = ("Makes the create safe to retry: a retry with the same key answers the first "
               "result; the same key with a different input is refused.")


@strawberry.input(description="A new opportunity (in its pipeline's first stage).")
class OpportunityCreateInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    name: str = strawberry.field(description="Name of the deal.")
    amount: Decimal = strawberry.field(description="Amount, ≥ 0, two decimals at most.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. CNY.")
    expected_close_on: date | None = strawberry.field(
        default=None, description="Expected close; in 90 days if not given.")
    pipeline_id: strawberry.ID | None = strawberry.field(
        default=None, description="Pipeline; the default one if not given.")
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="The campaign it came from, if any.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@strawberry.input(description="Move an opportunity to another stage, or close it.")
class OpportunityMoveStageInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    stage: str = strawberry.field(description="A stage key of its pipeline, WON or LOST.")
    version: int = strawberry.field(description="The version you last read.")
    note: str | None = strawberry.field(default=None, description="Why.")
    lost_reason: str | None = strawberry.field(default=None,
                                               description="Required for LOST.")


@strawberry.input(description="Change an open opportunity.")
class OpportunityUpdateInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    version: int = strawberry.field(description="The version you last read.")
    name: str | None = strawberry.field(default=None, description="Name.")
    amount: Decimal | None = strawberry.field(default=None, description="Amount.")
    expected_close_on: date | None = strawberry.field(default=None,
                                                      description="Expected close.")


@strawberry.input(description="A line of a quote.")
class QuoteLineInput:
    product: str = strawberry.field(description="Product or service.")
    quantity: Decimal = strawberry.field(description="Quantity, > 0.")
    unit_price: Decimal = strawberry.field(description="Unit price, ≥ 0.")

    def draft(self) -> LineDraft:
        return LineDraft(self.product, self.quantity, self.unit_price)


@strawberry.input(description="A new quote (version) for an opportunity.")
class QuoteCreateInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    currency: str = strawberry.field(description="Must be the opportunity's currency.")
    discount_pct: Decimal = strawberry.field(default=Decimal(0),
                                             description="Discount, 0 to 100 percent.")
    lines: list[QuoteLineInput] = strawberry.field(description="1 to 100 lines.")
    tax_pct: Decimal = strawberry.field(default=Decimal(0), description="Tax, percent.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@strawberry.input(description="Approve or reject a quote waiting for approval.")
class QuoteDecisionInput:
    quote_id: strawberry.ID = strawberry.field(description="The quote.")
    comment: str | None = strawberry.field(default=None, description="Comment.")
    version: int | None = strawberry.field(default=None,
                                           description="The version you last read.")


@strawberry.input(description="A contract from an approved quote.")
class ContractCreateFromQuoteInput:
    quote_id: strawberry.ID = strawberry.field(description="The approved quote.")
    terms: str | None = strawberry.field(default=None, description="Contract terms.")
    ends_on: date | None = strawberry.field(
        default=None, description="Last day of its term (signed with it); null: open-ended. "
                                  "Its renewal reminder is due CARE_RENEWAL_NOTICE_DAYS before.")


@strawberry.input(description="Sign a draft contract with your SM2 key.")
class ContractSignInput:
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    version: int | None = strawberry.field(default=None,
                                           description="The version you last read.")


@strawberry.input(description="Amend a signed contract: a new draft linked to it.")
class ContractAmendInput:
    contract_id: strawberry.ID = strawberry.field(description="The signed contract.")
    terms: str = strawberry.field(description="The amended terms.")
    ends_on: date | None = strawberry.field(
        default=None, description="Last day of the amended term; the contract's if not given.")


@strawberry.input(description="A payment (or refund) against a signed contract.")
class PaymentRecordInput:
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    amount: Decimal = strawberry.field(description="Amount, > 0.")
    currency: str = strawberry.field(description="The contract's currency.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)


@strawberry.input(description="An order from a signed contract.")
class OrderCreateInput:
    contract_id: strawberry.ID = strawberry.field(description="The contract.")


@strawberry.input(description="A delivery of an order.")
class DeliveryRecordInput:
    order_id: strawberry.ID = strawberry.field(description="The order.")
    note: str | None = strawberry.field(default=None, description="What was delivered.")


@strawberry.input(description="A return (退换货) of an order.")
class ReturnRecordInput:
    order_id: strawberry.ID = strawberry.field(description="The order.")
    reason: str = strawberry.field(description="Why.")
    amount: Decimal = strawberry.field(description="Value returned.")
    currency: str = strawberry.field(description="The order's currency.")


@strawberry.input(description="A new lead.")
class LeadCreateInput:
    company_name: str = strawberry.field(description="Company.")
    region: str = strawberry.field(description="Region.")
    industry: str = strawberry.field(description="Industry.")
    source: str = strawberry.field(description="Where it came from (展会, 官网, 转介绍 …).")
    uscc: str | None = strawberry.field(default=None, description="统一社会信用代码.")
    contact_name: str | None = strawberry.field(default=None, description="Contact person.")
    contact_title: str | None = strawberry.field(default=None, description="Their title.")
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="Campaign.")
    score: int = strawberry.field(default=0, description="0 to 100.")
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY)

    def draft(self, campaign: uuid.UUID | None) -> LeadDraft:
        return LeadDraft(self.company_name, self.region, self.industry, self.source, self.uscc,
                         self.contact_name, self.contact_title, campaign, self.score)


@strawberry.input(description="Convert a lead into account + contact + opportunity.")
class LeadConvertInput:
    lead_id: strawberry.ID = strawberry.field(description="The lead.")
    amount: Decimal = strawberry.field(default=Decimal(0), description="Deal amount.")
    currency: str = strawberry.field(default="CNY", description="Deal currency.")
    name: str | None = strawberry.field(default=None, description="Deal name; the company's "
                                                                  "if not given.")
    expected_close_on: date | None = strawberry.field(default=None,
                                                      description="Expected close.")
    version: int | None = strawberry.field(default=None, description="The lead's version.")


@strawberry.input(description="A tender milestone.")
class TenderMilestoneInput:
    kind: MilestoneKind = strawberry.field(description="Which milestone.")
    planned_on: date | None = strawberry.field(default=None, description="Planned date.")
    actual_on: date | None = strawberry.field(default=None, description="When it happened.")

    def draft(self) -> MilestoneDraft:
        return MilestoneDraft(self.kind, self.planned_on, self.actual_on)


@strawberry.input(description="A tender document.")
class TenderDocumentInput:
    name: str = strawberry.field(description="Document name.")
    sm3: str = strawberry.field(description="SM3 hash of the file, 64 hex characters.")

    def draft(self) -> DocumentDraft:
        return DocumentDraft(self.name, self.sm3)


@strawberry.input(description="Start tender tracking for an opportunity.")
class TenderCreateInput:
    opportunity_id: strawberry.ID = strawberry.field(description="The opportunity.")
    competitors: list[str] = strawberry.field(default_factory=list, description="Bidders.")
    milestones: list[TenderMilestoneInput] = strawberry.field(default_factory=list,
                                                              description="Milestones.")
    documents: list[TenderDocumentInput] = strawberry.field(default_factory=list,
                                                            description="Documents.")


@strawberry.input(description="Change a tender.")
class TenderUpdateInput:
    tender_id: strawberry.ID = strawberry.field(description="The tender.")
    version: int = strawberry.field(description="The version you last read.")
    competitors: list[str] | None = strawberry.field(default=None, description="Replaces.")
    outcome: str | None = strawberry.field(default=None, description="WON, LOST, WITHDRAWN "
                                                                     "or CANCELLED.")
    milestones: list[TenderMilestoneInput] = strawberry.field(
        default_factory=list, description="Milestones to add or change.")
    documents: list[TenderDocumentInput] = strawberry.field(
        default_factory=list, description="Documents to add.")


@strawberry.input(description="A stage of a pipeline.")
class PipelineStageInput:
    key: str = strawberry.field(description="Key, letters, digits and _.")
    label: str = strawberry.field(description="Label.")
    probability: Decimal = strawberry.field(description="Default win probability, 0 to 1.")
    category: ForecastCategoryEnum = strawberry.field(description="Forecast category.")
    conditions: list[str] = strawberry.field(default_factory=list,
                                             description="Entry conditions, by name.")

    def draft(self) -> StageDraft:
        return StageDraft(self.key, self.label, self.probability,
                          ForecastCategory(self.category.value), self.conditions)


@strawberry.input(description="Define a pipeline, or redefine one (admins).")
class PipelineDefineInput:
    name: str = strawberry.field(description="Name.")
    stages: list[PipelineStageInput] = strawberry.field(description="Stages in order.")
    pipeline_id: strawberry.ID | None = strawberry.field(default=None,
                                                         description="To redefine one.")
    version: int | None = strawberry.field(default=None, description="Its version.")


@strawberry.input(description="Which deals a report covers.")
class PipelineSegment:
    pipeline_id: strawberry.ID | None = strawberry.field(default=None, description="Pipeline.")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Owner.")
    department_id: strawberry.ID | None = strawberry.field(default=None,
                                                           description="Department.")
    region: str | None = strawberry.field(default=None, description="Account region.")
    industry: str | None = strawberry.field(default=None, description="Account industry.")

