"""Quotes: line items priced server-side, versions per opportunity, and their approval (the
owner below the discount threshold, a manager above the owner in the department tree above
it; never one's own discounted quote)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from auth.actor import Actor
from relational.ledger import Reader
from relational.pipeline_models import Opportunity, Quote, QuoteApproval, QuoteLine
from relational.repositories import money as repo
from relational.uow import UnitOfWork
from services import idempotency, money, opportunities, policy
from services import validation as check
from services.errors import BadUserInput, Forbidden

OPEN_STATUSES = ("PENDING_APPROVAL", "APPROVED")


@dataclass(frozen=True)
class LineDraft:
    product: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class QuoteDraft:
    opportunity_id: uuid.UUID
    currency: str
    discount_pct: Decimal
    lines: Sequence[LineDraft]
    tax_pct: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineRecord:
    product: str
    quantity: Decimal
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class QuoteRecord:
    id: uuid.UUID
    opportunity_id: uuid.UUID
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    number: int
    currency: str
    discount_pct: Decimal
    tax_pct: Decimal
    subtotal: Decimal
    discount_amount: Decimal
    tax: Decimal
    total: Decimal
    status: str
    needs_manager: bool
    version: int
    lines: tuple[LineRecord, ...]
    created_at: datetime

    @classmethod
    def of(cls, row: Quote, deal: Opportunity | opportunities.OpportunityRecord,
           lines: Sequence[QuoteLine]) -> QuoteRecord:
        return cls(
            id=row.id, opportunity_id=row.opportunity_id, owner_id=deal.owner_id,
            department_id=deal.department_id, number=row.number, currency=row.currency,
            discount_pct=row.discount_pct, tax_pct=row.tax_pct, subtotal=row.subtotal,
            discount_amount=row.discount_amount, tax=row.tax, total=row.total,
            status=row.status, needs_manager=row.needs_manager, version=row.version,
            lines=tuple(LineRecord(line.product, line.quantity, line.unit_price,
                                   line.line_total) for line in lines),
            created_at=row.created_at)


def _quantity(value: Decimal, index: int) -> Decimal:
    field = f"lines[{index}].quantity"
    if not value.is_finite() or value <= 0 or value >= Decimal("1e12"):
        raise BadUserInput(f"`{field}` must be positive", field=field)
    if value != value.quantize(Decimal("0.0001")):
        raise BadUserInput(f"`{field}` has more than 4 decimal places", field=field)
    return value


def priced(draft: QuoteDraft) -> tuple[list[QuoteLine], dict[str, Decimal]]:
    """Line totals and the quote's totals, computed here and nowhere else."""
    if not 1 <= len(draft.lines) <= 100:
        raise BadUserInput("a quote has 1 to 100 lines", field="lines")
    lines = []
    for index, line in enumerate(draft.lines):
        quantity = _quantity(line.quantity, index)
        price = money.amount(line.unit_price, f"lines[{index}].unitPrice")
        lines.append(QuoteLine(
            position=index + 1, quantity=quantity, unit_price=price,
            product=check.text(line.product, f"lines[{index}].product", max_length=200),
            line_total=money.cents(quantity * price)))
    discount_pct = money.percent(draft.discount_pct, "discountPct")
    tax_pct = money.percent(draft.tax_pct, "taxPct")
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    discount = money.cents(subtotal * discount_pct / 100)
    tax = money.cents((subtotal - discount) * tax_pct / 100)
    return lines, {"subtotal": subtotal, "discount_amount": discount, "tax": tax,
                   "total": subtotal - discount + tax, "discount_pct": discount_pct,
                   "tax_pct": tax_pct}


def _view(row: Quote) -> dict[str, Any]:
    return {"opportunityId": str(row.opportunity_id), "number": row.number,
            "currency": row.currency, "discountPct": str(row.discount_pct),
            "total": str(row.total), "status": row.status, "needsManager": row.needs_manager}


async def create(uow: UnitOfWork, actor: Actor, draft: QuoteDraft, threshold: Decimal,
                 key: idempotency.Key | None = None) -> QuoteRecord:
    request = {**asdict(draft), "lines": [asdict(line) for line in draft.lines]}
    return await idempotency.once(
        uow, actor, key, "quote.create", request,
        run=lambda: _create(uow, actor, draft, threshold),
        result=lambda made: {"id": str(made.id)},
        replay=lambda stored: one(uow, actor, uuid.UUID(stored["id"]), "quote.create"))


async def _create(uow: UnitOfWork, actor: Actor, draft: QuoteDraft,
                  threshold: Decimal) -> QuoteRecord:
    currency = money.currency(draft.currency)
    deal = await opportunities.locked(uow, actor, draft.opportunity_id, "quote.create")
    money.same_currency(currency, deal.currency)
    if deal.status != "OPEN":
        raise BadUserInput("a closed opportunity takes no new quote", field="opportunityId")
    lines, totals = priced(draft)
    for earlier in await repo.quotes_of(uow.session, [deal.id]):
        if earlier.status in OPEN_STATUSES:  # a new version supersedes the open ones
            earlier.status = "SUPERSEDED"
            earlier.version += 1
    if actor.user_id is None:
        raise Forbidden("only a user can write a quote")
    row = Quote(id=uuid.uuid4(), opportunity_id=deal.id, currency=currency,
                number=await repo.next_quote_number(uow.session, deal.id),
                status="PENDING_APPROVAL", needs_manager=totals["discount_pct"] > threshold,
                author_id=actor.user_id, version=1, created_at=datetime.now(UTC), **totals)
    uow.session.add(row)
    for line in lines:
        line.quote_id = row.id
    uow.session.add_all(lines)
    await uow.session.flush()
    uow.audit("quote.create", [str(row.id)], after=_view(row))
    uow.emit("quote.created", str(row.id), {**_view(row), "quote_id": str(row.id)})
    return QuoteRecord.of(row, deal, lines)


async def _locked(uow: UnitOfWork, actor: Actor, quote_id: uuid.UUID,
                  operation: str) -> tuple[Quote, Opportunity]:
    return await opportunities.locked_document(uow, actor, Quote, quote_id, operation,
                                               field="quoteId", noun="quote")


async def one(uow: UnitOfWork, actor: Actor, quote_id: uuid.UUID,
              operation: str) -> QuoteRecord:
    row, deal = await _locked(uow, actor, quote_id, operation)
    return QuoteRecord.of(row, deal, (await repo.lines(uow.session, [row.id]))[row.id])


async def decide(uow: UnitOfWork, actor: Actor, quote_id: uuid.UUID, *, approve: bool,
                 comment: str | None, version: int | None) -> QuoteRecord:
    """Approve or reject a quote waiting for approval."""
    operation = "quote.approve" if approve else "quote.reject"
    row, deal = await _locked(uow, actor, quote_id, operation)
    if version is not None:
        opportunities.check_version(row, version, "quote")
    if row.status != "PENDING_APPROVAL":
        raise BadUserInput(f"the quote is {row.status}, not waiting for approval",
                           field="quoteId")
    refusal = policy.may_approve_quote(actor, author_id=row.author_id, owner_id=deal.owner_id,
                                       department_id=deal.department_id,
                                       needs_manager=row.needs_manager)
    if refusal is not None or actor.user_id is None:
        raise Forbidden(refusal or "only a user can approve", field="quoteId").recorded(
            "denied", [str(row.id)], {"operation": operation, "reason": refusal})
    before = _view(row)
    row.status = "APPROVED" if approve else "REJECTED"
    row.version += 1
    row.updated_at = datetime.now(UTC)
    note = check.optional_text(comment, "comment", max_length=2000)
    uow.session.add(QuoteApproval(id=uuid.uuid4(), quote_id=row.id, approver_id=actor.user_id,
                                  decision=row.status, comment=note))
    await uow.session.flush()
    uow.audit(operation, [str(row.id)], before=before, after={**_view(row), "comment": note})
    uow.emit(f"quote.{row.status.lower()}", str(row.id),
             {**_view(row), "quote_id": str(row.id), "approver_id": str(actor.user_id)})
    return QuoteRecord.of(row, deal, (await repo.lines(uow.session, [row.id]))[row.id])


async def of_opportunities(read: Reader, actor: Actor, deals: Sequence[
        opportunities.OpportunityRecord]) -> dict[uuid.UUID, list[QuoteRecord]]:
    """The quotes of visible deals (the caller passes records it was allowed to load)."""
    by_id = {deal.id: deal for deal in deals}
    async with read() as session:
        rows = await repo.quotes_of(session, list(by_id))
        lines = await repo.lines(session, [row.id for row in rows])
    found: dict[uuid.UUID, list[QuoteRecord]] = {key: [] for key in by_id}
    for row in rows:
        found[row.opportunity_id].append(QuoteRecord.of(row, by_id[row.opportunity_id],
                                                        lines[row.id]))
    return found
