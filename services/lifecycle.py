"""Lifecycle of accounts (客户档案标准): POTENTIAL 潜在 → INTENT 意向 → CUSTOMER 成交 → LOYAL
忠诚 → CHURNED 流失. A transition happens by hand (`accountLifecycleTransition`, with a
reason) or from the rules below (daily job `lifecycle:check`); each is recorded with its
reason in `lifecycle_transitions`, emits `lifecycle.changed` and runs the actions of its
target stage (ACTIONS: a task for the owner, a notification, enrolment in the win-back
campaign).

Rules, over the ledger (each where its table exists; contracts B and C):
- POTENTIAL / INTENT with a WON opportunity → CUSTOMER ("first won deal");
- CUSTOMER with orders in each of the last two years → LOYAL ("purchases in a second year");
- CUSTOMER / LOYAL without any order or interaction for CHURN_AFTER_DAYS → CHURNED.

Value tiers (A/B/C/D): score = annual revenue × VALUE_TIER_REVENUE_WEIGHT + won opportunities
and orders of the last 365 days; tier A from the first of VALUE_TIER_THRESHOLDS, B the second,
C the third, else D. Recomputed when an account changes (`lifecycle:value_tier`) and daily.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from auth.actor import Actor
from relational.models import Account
from relational.operations_models import LifecycleTransition
from relational.repositories import accounts as accounts_repo
from relational.repositories import lifecycle as repo
from relational.uow import UnitOfWork
from services import campaigns, notifications, policy, tasks
from services import validation as check
from services.errors import BadUserInput, NotFound
from services.notifications import Channel, Message
from services.vocabulary import LIFECYCLE_LABELS, LIFECYCLE_STAGES
from settings import Settings


@dataclass(frozen=True)
class Action:
    task: str | None = None  # title of a task for the owner
    due_days: int = 3
    notify: tuple[Channel, ...] = (Channel.IN_APP,)
    winback: bool = False  # enrol in the WINBACK_CAMPAIGN


ACTIONS: dict[str, Action] = {
    "INTENT": Action(task="跟进意向客户"),
    "CUSTOMER": Action(task="成交客户回访", due_days=7),
    "LOYAL": Action(),
    "CHURNED": Action(task="流失挽回", notify=(Channel.IN_APP, Channel.EMAIL), winback=True),
}


async def record(uow: UnitOfWork, account: Account, to: str, reason: str, now: datetime, *,
                 rule: str | None = None, winback_campaign: str | None = None,
                 within_update: bool = False) -> None:
    """Move the account to `to` (it has already been validated) and run its actions.
    `within_update`: an accountUpdate changed the stage, whose own audit record and
    `account.updated` event already carry the change."""
    before = account.lifecycle_stage
    uow.session.add(LifecycleTransition(id=uuid.uuid4(), account_id=account.id,
                                        from_stage=before, to_stage=to, reason=reason,
                                        rule=rule, actor=uow.meta.actor or "system", at=now))
    account.lifecycle_stage, account.lifecycle_changed_at = to, now
    if not within_update:
        uow.audit("account.lifecycle", [str(account.id)], before={"lifecycleStage": before},
                  after={"lifecycleStage": to, "reason": reason, "rule": rule})
        uow.emit("lifecycle.changed", str(account.id), {"account_id": str(account.id),
                                                        "from": before, "to": to, "rule": rule})
    action = ACTIONS.get(to)
    if action is None or account.owner_id is None:
        return
    title = f"{account.name}: {LIFECYCLE_LABELS[before]} → {LIFECYCLE_LABELS[to]}"
    notifications.notify(uow, account.owner_id, Message("lifecycle.changed", title, reason,
                                                        "Account", account.id), action.notify)
    if action.task:
        tasks.create(uow, user_id=account.owner_id, kind=f"lifecycle.{to.lower()}",
                     title=f"{action.task}: {account.name}",
                     due_at=now + timedelta(days=action.due_days), ref_type="Account",
                     ref_id=account.id)
    if action.winback and winback_campaign:
        await campaigns.enrol_by_name(uow, winback_campaign, account.id, now)


async def transition(uow: UnitOfWork, actor: Actor, settings: Settings, account_id: uuid.UUID,
                     to: str, reason: str, now: datetime) -> Account:
    """By hand: any stage to any other, with a reason."""
    check.choice(to, "to", LIFECYCLE_STAGES)
    why = check.text(reason, "reason", max_length=500)
    account = await accounts_repo.get_for_update(uow.session, account_id,
                                                 policy.visibility(actor))
    if account is None:
        if await accounts_repo.existing(uow.session, [account_id]):
            raise policy.out_of_scope("no account with this id", field="accountId",
                                      operation="account.lifecycle", target_id=account_id)
        raise NotFound("no account with this id", field="accountId")
    if account.lifecycle_stage == to:
        raise BadUserInput(f"the account is already {to}", field="to")
    await record(uow, account, to, why, now, winback_campaign=settings.winback_campaign)
    account.version += 1
    return account


async def apply_rules(uow: UnitOfWork, settings: Settings, now: datetime, *,
                      limit: int = 1000) -> int:
    """Run the automatic rules once; the transitions made."""
    session = uow.session
    has_opportunities = await repo.present(session, "opportunities")
    has_orders = await repo.present(session, "orders")
    has_interactions = await repo.present(session, "interactions")
    rules: list[tuple[str, tuple[str, ...], Any, str, str]] = []
    if has_opportunities:
        rules.append(("first-won-deal", ("POTENTIAL", "INTENT"), repo.won_deal(), "CUSTOMER",
                      "first won deal"))
    if has_orders:
        year = now - timedelta(days=365)
        rules.append(("second-year", ("CUSTOMER",), repo.ordered_between(year, now)
                      & repo.ordered_between(year - timedelta(days=365), year), "LOYAL",
                      "purchases in a second year"))
    if has_orders or has_interactions:
        quiet = now - timedelta(days=settings.churn_after_days)
        rules.append(("no-activity", ("CUSTOMER", "LOYAL"), repo.quiet_since(
            quiet, orders_table=has_orders, interactions_table=has_interactions), "CHURNED",
            f"no order or interaction for {settings.churn_after_days} days"))
    made = 0
    for name, stages, condition, to, reason in rules:
        for account in await repo.candidates(session, stages, condition, limit):
            await record(uow, account, to, reason, now, rule=name,
                         winback_campaign=settings.winback_campaign)
            made += 1
    return made


def tier_rule(settings: Settings) -> tuple[Decimal, tuple[Decimal, Decimal, Decimal]]:
    a, b, c = (Decimal(part) for part in settings.value_tier_thresholds.split(","))
    return Decimal(settings.value_tier_revenue_weight), (a, b, c)


async def recompute_tiers(uow: UnitOfWork, settings: Settings, now: datetime,
                          account_ids: list[uuid.UUID] | None = None) -> int:
    weight, thresholds = tier_rule(settings)
    return await repo.recompute_tiers(uow.session, now, weight, thresholds, account_ids)
