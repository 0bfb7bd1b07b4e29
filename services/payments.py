"""Money after signing: orders from contracts, deliveries, payments (partial, never above the
contract's amount), refunds (never above what was paid) and returns (退换货) with reasons."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from auth.actor import Actor
from relational.pipeline_models import Contract, Delivery, Opportunity, Order, Payment, Return
from relational.repositories import money as repo
from relational.uow import UnitOfWork
from services import contracts, idempotency, money, policy
from services import validation as check
from services.errors import BadUserInput, NotFound


@dataclass(frozen=True)
class PaymentRecord:
    id: uuid.UUID
    contract_id: uuid.UUID
    kind: str
    amount: Decimal
    currency: str
    paid_at: datetime
    paid_total: Decimal  # on the contract, after this payment
    balance: Decimal
    owner_id: uuid.UUID
    department_id: uuid.UUID | None


@dataclass(frozen=True)
class OrderRecord:
    id: uuid.UUID
    contract_id: uuid.UUID
    account_id: uuid.UUID
    amount: Decimal
    currency: str
    ordered_at: datetime
    owner_id: uuid.UUID
    department_id: uuid.UUID | None


async def record(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID, amount: Decimal,
                 currency: str, *, refund: bool = False,
                 key: idempotency.Key | None = None) -> PaymentRecord:
    operation = "payment.refund" if refund else "payment.record"
    request = {"contract_id": str(contract_id), "amount": str(amount), "currency": currency}
    return await idempotency.once(
        uow, actor, key, operation, request,
        run=lambda: _record(uow, actor, contract_id, amount, currency, refund),
        result=lambda made: {"id": str(made.id)},
        replay=lambda stored: _replayed(uow, actor, contract_id, uuid.UUID(stored["id"])))


async def _replayed(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID,
                    payment_id: uuid.UUID) -> PaymentRecord:
    row, deal = await contracts.locked_signed(uow, actor, contract_id, "payment.record")
    payment = await uow.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("the payment of this idempotencyKey no longer exists",
                       field="idempotencyKey")
    return await _record_of(uow, row, deal, payment)


async def _record_of(uow: UnitOfWork, row: Contract, deal: Opportunity,
                     payment: Payment) -> PaymentRecord:
    paid = await repo.paid(uow.session, row.id)
    return PaymentRecord(payment.id, row.id, payment.kind, payment.amount, payment.currency,
                         payment.paid_at, paid, row.amount - paid, owner_id=deal.owner_id,
                         department_id=deal.department_id)


async def _record(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID, amount: Decimal,
                  currency: str, refund: bool) -> PaymentRecord:
    value = money.amount(amount, positive=True)
    code = money.currency(currency)
    operation = "payment.refund" if refund else "payment.record"
    row, deal = await contracts.locked_signed(uow, actor, contract_id, operation)
    money.same_currency(code, row.currency)
    paid = await repo.paid(uow.session, row.id)
    if not refund and paid + value > row.amount:
        raise BadUserInput(f"overpayment refused: {paid} of {row.amount} {row.currency} is "
                           f"paid, at most {row.amount - paid} may follow", field="amount")
    if refund and value > paid:
        raise BadUserInput(f"a refund of at most {paid} {row.currency} (what was paid)",
                           field="amount")
    payment = Payment(id=uuid.uuid4(), contract_id=row.id, amount=value, currency=code,
                      kind="REFUND" if refund else "PAYMENT", paid_at=datetime.now(UTC))
    uow.session.add(payment)
    await uow.session.flush()
    view = {"contractId": str(row.id), "kind": payment.kind, "amount": str(value),
            "currency": code}
    uow.audit(operation, [str(payment.id), str(row.id)], after=view)
    uow.emit("payment.recorded", str(payment.id), {
        "payment_id": str(payment.id), "contract_id": str(row.id),
        "opportunity_id": str(row.opportunity_id), "kind": payment.kind, "amount": str(value),
        "currency": code})
    return await _record_of(uow, row, deal, payment)


async def order(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID) -> OrderRecord:
    """An order for the whole signed contract."""
    row, deal = await contracts.locked_signed(uow, actor, contract_id, "order.create")
    made = Order(id=uuid.uuid4(), account_id=row.account_id, contract_id=row.id,
                 amount=row.amount, currency=row.currency, ordered_at=datetime.now(UTC))
    uow.session.add(made)
    await uow.session.flush()
    uow.audit("order.create", [str(made.id)], after={"contractId": str(row.id),
                                                     "amount": str(made.amount)})
    uow.emit("order.created", str(made.id), {"order_id": str(made.id),
                                             "contract_id": str(row.id)})
    return OrderRecord(made.id, row.id, row.account_id, made.amount, made.currency,
                       made.ordered_at, deal.owner_id, deal.department_id)


async def _order(uow: UnitOfWork, actor: Actor, order_id: uuid.UUID,
                 operation: str) -> Order:
    found = await repo.order_for_update(uow.session, order_id)
    if found is not None:
        visible = await repo.get_visible(uow.session, Contract, [found.contract_id],
                                         policy.visibility(actor))
        if found.contract_id in visible:
            return found
        raise policy.out_of_scope("no order with this id", field="orderId",
                                  operation=operation, target_id=order_id)
    raise NotFound("no order with this id", field="orderId")


async def deliver(uow: UnitOfWork, actor: Actor, order_id: uuid.UUID, note: str | None
                  ) -> uuid.UUID:
    found = await _order(uow, actor, order_id, "delivery.record")
    delivery = Delivery(id=uuid.uuid4(), order_id=found.id, delivered_at=datetime.now(UTC),
                        note=check.optional_text(note, "note", max_length=2000) or "")
    uow.session.add(delivery)
    await uow.session.flush()
    uow.audit("delivery.record", [str(delivery.id), str(found.id)], after={"note": delivery.note})
    uow.emit("delivery.recorded", str(delivery.id), {"order_id": str(found.id)})
    return delivery.id


async def give_back(uow: UnitOfWork, actor: Actor, order_id: uuid.UUID, reason: str,
                    amount: Decimal, currency: str) -> uuid.UUID:
    """A return (退换货) of goods of an order, with its reason and value."""
    found = await _order(uow, actor, order_id, "return.record")
    value, code = money.amount(amount), money.currency(currency)
    money.same_currency(code, found.currency)
    if value > found.amount:
        raise BadUserInput("a return is worth at most its order", field="amount")
    row = Return(id=uuid.uuid4(), order_id=found.id, amount=value, currency=code,
                 reason=check.text(reason, "reason", max_length=500),
                 returned_at=datetime.now(UTC))
    uow.session.add(row)
    await uow.session.flush()
    uow.audit("return.record", [str(row.id), str(found.id)],
              after={"reason": row.reason, "amount": str(value)})
    uow.emit("return.recorded", str(row.id), {"order_id": str(found.id), "reason": row.reason})
    return row.id
