"""Two years of demo pipeline history for the demo accounts: several hundred opportunities
walking the default stages (forward, sometimes back), won and lost with reasons, quotes with
approvals, SM2-signed contracts, orders, deliveries, payments, refunds, returns, tenders, and
weekly forecast snapshots as they would have been taken. Deterministic (seeded) and bulk
inserted through the repositories: seconds, not minutes. `simulate` is pure (the bench reuses
it at scale)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from analytics import pipeline as reports
from auth import sm2
from auth.actor import Actor
from auth.crypto import sm3_hex
from auth.field_cipher import FieldCipher
from relational import pipeline_models as models
from relational.models import CommitteeMember
from relational.repositories import committees as committee_repo
from relational.repositories import opportunities as repo
from relational.uow import UnitOfWork
from services import contracts, forecasting, pipelines
from services.pipelines import DEFAULT

STAGES = [stage.key for stage in DEFAULT.stages]
# Chance to move on from each stage, before the deal's own luck and discount.
ADVANCE = {"LEAD": 0.72, "QUALIFICATION": 0.68, "SOLUTION": 0.62, "NEGOTIATION": 0.66,
           "CONTRACT": 0.9, "DELIVERY": 0.96, "AFTER_SALES": 1.0}
LOST_REASONS = ("价格过高", "竞品中标", "预算取消", "需求变更", "决策链未覆盖", "交期不满足")
PRODUCTS = ("相控阵雷达模块", "射频组件", "嵌入式计算机", "测试设备", "技术服务", "备品备件")
RETURN_REASONS = ("质量问题", "规格不符", "运输损坏")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Owner:
    user_id: uuid.UUID
    department_id: uuid.UUID | None


@dataclass
class Rows:
    """Everything a simulation produces, as rows for bulk inserts (table → rows)."""

    tables: dict[type[Any], list[dict[str, Any]]] = field(default_factory=dict)
    deals: list[tuple[dict[str, Any], list[tuple[str, datetime]]]] = field(default_factory=list)

    def add(self, model: type[Any], row: dict[str, Any]) -> None:
        self.tables.setdefault(model, []).append(row)


def _amount(rng: random.Random) -> Decimal:
    return Decimal(str(round(rng.lognormvariate(12.3, 0.9), -2))).quantize(CENT)


def _walk(rng: random.Random, start: datetime, now: datetime, luck: float,
          discount: float, back: float) -> tuple[list[tuple[str, datetime]], str]:
    """The moves of one deal until now, and its status."""
    moves, at, index = [("LEAD", start)], start, 0
    while True:
        at = at + timedelta(days=rng.expovariate(1 / (12 + 6 * index)) + 1)
        if at >= now:
            return moves, "OPEN"
        chance = ADVANCE[STAGES[index]] * luck - max(discount - 10, 0) * 0.012
        if index and rng.random() < back:  # the customer re-evaluates: one stage back
            index -= 1
            moves.append((STAGES[index], at))
            continue
        if rng.random() > chance:
            moves.append(("LOST", at))
            return moves, "LOST"
        if index + 1 == len(STAGES):
            moves.append(("WON", at))
            return moves, "WON"
        index += 1
        moves.append((STAGES[index], at))


def simulate(accounts: Sequence[tuple[uuid.UUID, Owner]], *, deals: int, now: datetime,
             seed: int = 2026, signer: tuple[uuid.UUID, str, str] | None = None,
             back: float = 0.05, first: int = 0,
             luck: tuple[float, float] = (0.8, 1.15)) -> Rows:
    """Deals created over the two years before `now` on `accounts`, with their documents;
    `back`: the chance of a move one stage back at each step. `signer` (user id, private,
    public key) signs the contracts; None leaves them with a digest only (the bench, where
    signing is not measured). `first` numbers the deals of a chunk; `luck` bounds each deal's
    factor on the chances to advance."""
    rng, out = random.Random(seed), Rows()  # noqa: S311 - demo data, not secrets
    for n in range(first, first + deals):
        account_id, owner = accounts[n % len(accounts)]
        created = now - timedelta(days=rng.uniform(20, 730))
        factor = rng.uniform(*luck)
        discount = rng.choice((0, 3, 5, 8, 10, 12, 15, 20, 25))
        moves, status = _walk(rng, created, now, factor, discount, back)
        _deal(rng, out, account_id, owner, created, moves, status, discount, signer, n)
    return out


def _deal(rng: random.Random, out: Rows, account_id: uuid.UUID, owner: Owner,
          created: datetime, moves: list[tuple[str, datetime]], status: str, discount: float,
          signer: tuple[uuid.UUID, str, str] | None, n: int) -> None:
    deal_id, amount = uuid.uuid4(), _amount(rng)
    last_stage, last_at = moves[-1]
    closed = last_at if status != "OPEN" else None
    expected = (closed or max(last_at, created) + timedelta(days=rng.uniform(15, 150))).date()
    row = {"id": deal_id, "account_id": account_id, "owner_id": owner.user_id,
           "department_id": owner.department_id,
           "name": f"{PRODUCTS[n % len(PRODUCTS)]}项目-{n:04d}",
           "amount": amount, "currency": "CNY", "pipeline_id": pipelines.DEFAULT_PIPELINE_ID,
           "stage": last_stage, "stage_entered_at": last_at, "status": status,
           "expected_close_on": expected, "closed_at": closed,
           "lost_reason": rng.choice(LOST_REASONS) if status == "LOST" else None,
           "version": len(moves), "created_at": created, "updated_at": last_at}
    out.add(models.Opportunity, row)
    out.deals.append((row, moves))
    ranks = [DEFAULT.rank(stage) for stage, _ in moves]
    previous = None
    for i, (stage, at) in enumerate(moves):
        out.add(models.StageChange, {
            "opportunity_id": deal_id, "pipeline_id": row["pipeline_id"],
            "from_stage": previous, "to_stage": stage,
            "rank": ranks[i], "ended_at": moves[i + 1][1] if i + 1 < len(moves) else None,
            "advanced": max(ranks[i + 1:], default=0) > ranks[i], "actor_id": owner.user_id,
            "actor": "demo", "note": None, "moved_at": at})
        previous = stage
    reached = {stage for stage, _ in moves}
    if reached & {"NEGOTIATION", "CONTRACT", "LOST", "WON"} and len(moves) > 2:
        _money(rng, out, row, moves, reached, discount, signer)
    if rng.random() < 0.3:
        _tender(rng, out, deal_id, created, status)


def _money(rng: random.Random, out: Rows, deal: dict[str, Any],
           moves: list[tuple[str, datetime]], reached: set[str], discount: float,
           signer: tuple[uuid.UUID, str, str] | None) -> None:
    quote_id, at = uuid.uuid4(), moves[min(3, len(moves) - 1)][1]
    price = (deal["amount"] / 2).quantize(CENT)
    subtotal = price * 2
    cut = (subtotal * Decimal(discount) / 100).quantize(CENT)
    agreed = bool(reached & {"CONTRACT", "WON"})
    out.add(models.Quote, {
        "id": quote_id, "opportunity_id": deal["id"], "number": 1, "currency": "CNY",
        "discount_pct": Decimal(discount), "tax_pct": Decimal(0), "subtotal": subtotal,
        "discount_amount": cut, "tax": Decimal("0.00"), "total": subtotal - cut,
        "status": "ACCEPTED" if agreed else "PENDING_APPROVAL", "needs_manager": discount > 10,
        "author_id": deal["owner_id"], "version": 2 if agreed else 1, "created_at": at,
        "updated_at": at})
    out.add(models.QuoteLine, {"quote_id": quote_id, "position": 1, "product": deal["name"],
                               "quantity": Decimal(2), "unit_price": price,
                               "line_total": subtotal})
    if not agreed:
        return
    out.add(models.QuoteApproval, {"id": uuid.uuid4(), "quote_id": quote_id,
                                   "approver_id": deal["owner_id"], "decision": "APPROVED",
                                   "comment": "同意", "decided_at": at})
    _contract(rng, out, deal, quote_id, subtotal - cut, at, reached, signer)


def _contract(rng: random.Random, out: Rows, deal: dict[str, Any], quote_id: uuid.UUID,
              total: Decimal, at: datetime, reached: set[str],
              signer: tuple[uuid.UUID, str, str] | None) -> None:
    signed = bool(reached & {"DELIVERY", "WON"})
    contract = models.Contract(
        id=uuid.uuid4(), quote_id=quote_id, opportunity_id=deal["id"],
        account_id=deal["account_id"], amends_id=None, number=1, amount=total, currency="CNY",
        terms="按双方签署的技术协议执行。", status="SIGNED" if signed else "DRAFT",
        signer_id=signer[0] if signed and signer else None,
        signed_at=(at + timedelta(days=3)).replace(microsecond=0) if signed else None)
    if signed:
        lines = [{"product": deal["name"], "quantity": "2.0000",
                  "unitPrice": str((deal["amount"] / 2).quantize(CENT)),
                  "lineTotal": str((deal["amount"] / 2).quantize(CENT) * 2)}]
        document = contracts.canonical(contract, lines)
        contract.digest = sm3_hex(document)
        if signer is not None:
            contract.signature = sm2.sm2_sign(signer[1], signer[2], document)
            contract.signer_public_key = signer[2]
    columns = ("id", "quote_id", "opportunity_id", "account_id", "amends_id", "number",
               "amount", "currency", "terms", "status", "digest", "signature", "signer_id",
               "signer_public_key", "signed_at")
    out.add(models.Contract, {**{name: getattr(contract, name) for name in columns},
                              "version": 2 if signed else 1, "created_at": at,
                              "updated_at": at})
    if signed and "WON" in reached:
        _after_sale(rng, out, deal, contract.id, total, at)


def _after_sale(rng: random.Random, out: Rows, deal: dict[str, Any], contract_id: uuid.UUID,
                total: Decimal, at: datetime) -> None:
    order_id = uuid.uuid4()
    out.add(models.Order, {"id": order_id, "account_id": deal["account_id"],
                           "contract_id": contract_id, "amount": total, "currency": "CNY",
                           "ordered_at": at + timedelta(days=4)})
    out.add(models.Delivery, {"id": uuid.uuid4(), "order_id": order_id, "note": "首批交付",
                              "delivered_at": at + timedelta(days=20)})
    first = (total * Decimal("0.3")).quantize(CENT)
    for share, days in ((first, 6), (total - first, 40)):
        if share > 0:
            out.add(models.Payment, {"id": uuid.uuid4(), "contract_id": contract_id,
                                     "kind": "PAYMENT", "amount": share, "currency": "CNY",
                                     "paid_at": at + timedelta(days=days)})
    if rng.random() < 0.06:
        value = (total * Decimal("0.05")).quantize(CENT)
        out.add(models.Return, {"id": uuid.uuid4(), "order_id": order_id,
                                "reason": rng.choice(RETURN_REASONS), "amount": value,
                                "currency": "CNY", "returned_at": at + timedelta(days=30)})
        out.add(models.Payment, {"id": uuid.uuid4(), "contract_id": contract_id,
                                 "kind": "REFUND", "amount": value, "currency": "CNY",
                                 "paid_at": at + timedelta(days=45)})


def _tender(rng: random.Random, out: Rows, deal_id: uuid.UUID, created: datetime,
            status: str) -> None:
    tender_id = uuid.uuid4()
    out.add(models.Tender, {"id": tender_id, "opportunity_id": deal_id,
                            "competitors": rng.sample(["中电科", "航天科工", "中航", "华为"], 2),
                            "documents": [{"name": "招标文件.pdf",
                                           "sm3": sm3_hex(str(tender_id).encode())}],
                            "outcome": None if status == "OPEN" else status, "version": 1,
                            "created_at": created, "updated_at": created})
    today = datetime.now(UTC).date()
    for i, kind in enumerate(("PUBLISHED", "BID_SUBMITTED", "EVALUATION", "AWARD")):
        planned = (created + timedelta(days=10 + 12 * i)).date()
        late = status == "OPEN" and rng.random() < 0.4
        done = None if late or planned >= today else planned + timedelta(days=rng.randint(0, 3))
        out.add(models.TenderMilestone, {"tender_id": tender_id, "kind": kind,
                                         "planned_on": planned, "actual_on": done})


def past_snapshots(rows: Rows, *, now: datetime, weeks: int = 26) -> list[dict[str, Any]]:
    """The weekly forecast snapshots as they would have been taken: each deal in the stage
    it was in that week."""
    stage_weights = forecasting.weights(DEFAULT, {})
    found = []
    for back in range(weeks, 0, -1):
        moment = now - timedelta(weeks=back)
        week = forecasting.week_start(moment.date())
        buckets = []
        for deal, moves in rows.deals:
            state = [stage for stage, at in moves if at <= moment]
            if not state or state[-1] == "LOST":
                continue
            won = state[-1] == "WON"
            month = (deal["closed_at"] if won else deal["expected_close_on"])
            day = month.date() if isinstance(month, datetime) else month
            buckets.append(reports.Bucket(deal["owner_id"], deal["department_id"],
                                          date(day.year, day.month, 1),
                                          "WON" if won else "OPEN", state[-1], deal["amount"]))
        found.append({"id": uuid.uuid4(), "week_start": week, "currency": "CNY",
                      "taken_at": datetime.combine(week, datetime.min.time(), UTC),
                      "rows": reports.snapshot_rows(buckets, stage_weights, today=week)})
    return found


async def insert(uow: UnitOfWork, rows: Rows) -> dict[str, int]:
    order = (models.Opportunity, models.StageChange, models.Quote, models.QuoteLine,
             models.QuoteApproval, models.Contract, models.Order, models.Delivery,
             models.Payment, models.Return, models.Tender, models.TenderMilestone)
    for model in order:
        await repo.bulk_insert(uow.session, model, rows.tables.get(model, []))
    return {model.__tablename__: len(rows.tables.get(model, [])) for model in order}


async def _decision_makers(uow: UnitOfWork, rows: Rows) -> int:
    """SOLUTION requires a decision maker on the committee (services/stage_conditions.py):
    every deal that entered it on an account whose own committee has none gets one on its own
    committee (the account's first contact, since the deal was created), so the history is
    one the rules could have produced."""
    entered = [deal for deal, moves in rows.deals
               if any(stage == "SOLUTION" for stage, _ in moves)]
    decided, first = await committee_repo.seatable(
        uow.session, [deal["account_id"] for deal in entered])
    seats = [{"id": uuid.uuid4(), "account_id": deal["account_id"],
              "contact_id": first[deal["account_id"]], "opportunity_id": deal["id"],
              "roles": ["DECISION_MAKER"], "stance": "NEUTRAL",
              "valid_from": deal["created_at"].date(), "version": 1}
             for deal in entered
             if deal["account_id"] not in decided and deal["account_id"] in first]
    await repo.bulk_insert(uow.session, CommitteeMember, seats)
    for seat in seats:  # the influence follower scores each new committee
        uow.emit("committee.changed", str(seat["account_id"]), {
            "account_id": str(seat["account_id"]), "contact_id": str(seat["contact_id"]),
            "opportunity_id": str(seat["opportunity_id"])})
    return len(seats)


async def seed(uow: UnitOfWork, cipher: FieldCipher, signer: Actor,
               accounts: Sequence[tuple[uuid.UUID, Actor]], *, deals: int = 300,
               now: datetime | None = None) -> dict[str, int]:
    """The demo pipeline; contracts signed by `signer` (a manager), whose key is made here."""
    moment = now or datetime.now(UTC)
    if signer.user_id is None:
        raise ValueError("the demo signer is a user")
    private, public = sm2.generate_sm2_keypair()
    await repo.bulk_insert(uow.session, models.SigningKey, [{
        "user_id": signer.user_id, "public_key": public,
        "private_envelope": cipher.encrypt(signer.user_id, contracts.KEY_FIELD, private)}])
    owners = [(account_id, Owner(actor.user_id, actor.home_department))
              for account_id, actor in accounts if actor.user_id is not None]
    rows = simulate(owners, deals=deals, now=moment, signer=(signer.user_id, private, public))
    counts = await insert(uow, rows)
    counts["committee_members"] = await _decision_makers(uow, rows)
    snapshots = past_snapshots(rows, now=moment)
    await repo.bulk_insert(uow.session, models.ForecastSnapshot, snapshots)
    counts["forecast_snapshots"] = len(snapshots)
    uow.audit("demo.pipeline", [], after=counts)
    return counts
