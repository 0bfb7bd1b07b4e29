"""Quotes, contracts, payments and orders. Their amounts follow the deal's amount rule."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import strawberry

from resolvers.ids import to_global_id
from schema.pipeline_types import amount_guard
from services.contracts import ContractRecord, Verification
from services.payments import OrderRecord, PaymentRecord
from services.quotes import LineRecord, QuoteRecord


@strawberry.enum(name="QuoteStatus", description="Where a quote stands.")
class QuoteStatus(Enum):
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    SUPERSEDED = "SUPERSEDED"


@strawberry.type(description="A line of a quote.")
class QuoteLine:
    product: str = strawberry.field(description="Product or service.")
    quantity: Decimal = strawberry.field(description="Quantity.")
    line: strawberry.Private[LineRecord]
    row: strawberry.Private[QuoteRecord]

    @classmethod
    def of(cls, line: LineRecord, quote: QuoteRecord) -> QuoteLine:
        return cls(product=line.product, quantity=line.quantity, line=line, row=quote)

    @strawberry.field(description="Unit price.", extensions=amount_guard())
    def unit_price(self) -> Decimal:
        return self.line.unit_price

    @strawberry.field(description="quantity × unitPrice, computed by the server.",
                      extensions=amount_guard())
    def line_total(self) -> Decimal:
        return self.line.line_total


@strawberry.type(description="A priced offer for an opportunity; each new one is a new "
                             "version and supersedes the open ones.")
class Quote:
    id: strawberry.ID = strawberry.field(description="Global id.")
    number: int = strawberry.field(description="Version number within the opportunity.")
    currency: str = strawberry.field(description="ISO 4217 currency.")
    discount_pct: Decimal = strawberry.field(description="Discount, percent.")
    tax_pct: Decimal = strawberry.field(description="Tax, percent.")
    status: QuoteStatus = strawberry.field(description="Status.")
    needs_manager: bool = strawberry.field(
        description="The discount is above the threshold: a manager must approve it.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    row: strawberry.Private[QuoteRecord]

    @classmethod
    def of(cls, row: QuoteRecord) -> Quote:
        return cls(id=strawberry.ID(to_global_id("Quote", row.id)), number=row.number,
                   currency=row.currency, discount_pct=row.discount_pct, tax_pct=row.tax_pct,
                   status=QuoteStatus(row.status), needs_manager=row.needs_manager,
                   version=row.version, created_at=row.created_at, row=row)

    @strawberry.field(description="Sum of the lines.", extensions=amount_guard())
    def subtotal(self) -> Decimal:
        return self.row.subtotal

    @strawberry.field(description="Subtotal − discount + tax, computed by the server.",
                      extensions=amount_guard())
    def total(self) -> Decimal:
        return self.row.total

    @strawberry.field(description="Line items (their prices follow the amount rule).")
    def lines(self) -> list[QuoteLine]:
        return [QuoteLine.of(line, self.row) for line in self.row.lines]


@strawberry.type(description="A contract from an accepted quote; SM2-signed it is immutable.")
class Contract:
    id: strawberry.ID = strawberry.field(description="Global id.")
    number: int = strawberry.field(description="1, then one more per amendment.")
    currency: str = strawberry.field(description="ISO 4217 currency.")
    terms: str = strawberry.field(description="Terms.")
    status: str = strawberry.field(description="DRAFT or SIGNED.")
    amends_id: strawberry.ID | None = strawberry.field(description="The contract it amends.")
    digest: str | None = strawberry.field(description="SM3 digest of the signed document.")
    signature: str | None = strawberry.field(description="SM2 signature (r || s, hex).")
    signed_at: datetime | None = strawberry.field(description="When it was signed (UTC).")
    ends_on: date | None = strawberry.field(description="Last day of its term; null: "
                                                        "open-ended.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")
    row: strawberry.Private[ContractRecord]

    @classmethod
    def of(cls, row: ContractRecord) -> Contract:
        return cls(id=strawberry.ID(to_global_id("Contract", row.id)), number=row.number,
                   currency=row.currency, terms=row.terms, status=row.status,
                   amends_id=None if row.amends_id is None else strawberry.ID(
                       to_global_id("Contract", row.amends_id)),
                   digest=row.digest, signature=row.signature, signed_at=row.signed_at,
                   ends_on=row.ends_on, version=row.version, row=row)

    @strawberry.field(description="Contract value (the quote's total).",
                      extensions=amount_guard())
    def amount(self) -> Decimal:
        return self.row.amount


@strawberry.type(description="Whether a contract still matches its SM2 signature.")
class ContractVerification:
    valid: bool = strawberry.field(description="True only if digest and signature match.")
    signer: str | None = strawberry.field(description="Username of the signer.")
    signed_at: datetime | None = strawberry.field(description="When it was signed.")
    reason: str = strawberry.field(description="What was found.")

    @classmethod
    def of(cls, found: Verification) -> ContractVerification:
        return cls(valid=found.valid, signer=found.signer, signed_at=found.signed_at,
                   reason=found.reason)


@strawberry.type(description="A payment or a refund against a contract.")
class Payment:
    id: strawberry.ID = strawberry.field(description="Global id.")
    kind: str = strawberry.field(description="PAYMENT or REFUND.")
    currency: str = strawberry.field(description="ISO 4217 currency.")
    paid_at: datetime = strawberry.field(description="When (UTC).")
    row: strawberry.Private[PaymentRecord]

    @classmethod
    def of(cls, row: PaymentRecord) -> Payment:
        return cls(id=strawberry.ID(to_global_id("Payment", row.id)), kind=row.kind,
                   currency=row.currency, paid_at=row.paid_at, row=row)

    @strawberry.field(description="Amount.", extensions=amount_guard())
    def amount(self) -> Decimal:
        return self.row.amount

    @strawberry.field(description="Paid on the contract so far, net of refunds.",
                      extensions=amount_guard())
    def paid_total(self) -> Decimal:
        return self.row.paid_total

    @strawberry.field(description="Still to be paid on the contract.",
                      extensions=amount_guard())
    def balance(self) -> Decimal:
        return self.row.balance


@strawberry.type(description="An order placed from a signed contract.")
class Order:
    id: strawberry.ID = strawberry.field(description="Global id.")
    currency: str = strawberry.field(description="ISO 4217 currency.")
    ordered_at: datetime = strawberry.field(description="When (UTC).")
    row: strawberry.Private[OrderRecord]

    @classmethod
    def of(cls, row: OrderRecord) -> Order:
        return cls(id=strawberry.ID(to_global_id("Order", row.id)), currency=row.currency,
                   ordered_at=row.ordered_at, row=row)

    @strawberry.field(description="Order value.", extensions=amount_guard())
    def amount(self) -> Decimal:
        return self.row.amount
