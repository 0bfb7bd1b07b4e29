"""Tag rules compiled to SQL and evaluated. The compiler turns the language's tree
(services/tag_language.py) into SQLAlchemy expressions — every literal a bound parameter —
and every evaluation starts from the author's visibility builder, under a statement timeout:
a rule never reads what its author cannot see, and never runs unbounded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    all_,
    and_,
    column,
    delete,
    func,
    literal,
    not_,
    or_,
    select,
    table,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account, OutboxEvent
from relational.operations_models import AccountTag, TagRule, Ticket
from relational.repositories.visibility import Visibility, accounts_readable

STATEMENT_TIMEOUT_MS = 5000  # previews and per-account evaluations
FULL_TIMEOUT_MS = 60000  # a statement of a full evaluation (every account)

# Tables of other domains (contracts B and C), named here by their contracted columns.
interactions = table("interactions", column("account_id"), column("channel"),
                     column("occurred_at"))
opportunities = table("opportunities", column("account_id"), column("status"),
                      column("closed_at"), column("amount"), column("campaign_id"))
orders = table("orders", column("account_id"), column("ordered_at"), column("amount"))

_ATTRIBUTES: dict[str, Any] = {
    "region": Account.region, "industry": Account.industry, "name": Account.name,
    "lifecycleStage": Account.lifecycle_stage, "valueTier": Account.value_tier,
    "annualRevenue": Account.annual_revenue,
    # The tags set by hand and those rules set (a name in both counted once).
    "tagCount": func.cardinality(Account.tags) + (
        select(func.count()).select_from(AccountTag)
        .where(AccountTag.account_id == Account.id, AccountTag.rule_id.is_not(None),
               AccountTag.name != all_(Account.tags))
        .correlate(Account).scalar_subquery()),
}


def _count(function: str, arguments: dict[str, Any], now: datetime) -> Any:
    since = now - timedelta(days=int(arguments["days"]))
    if function == "interactions":
        source, conditions = interactions, [interactions.c.occurred_at >= since]
        if "channel" in arguments:
            conditions.append(interactions.c.channel == arguments["channel"])
    elif function == "wonOpportunities":
        source = opportunities
        conditions = [opportunities.c.status == "WON", opportunities.c.closed_at >= since]
    elif function == "orders":
        source, conditions = orders, [orders.c.ordered_at >= since]
    else:
        found = select(func.count()).where(Ticket.account_id == Account.id,
                                           Ticket.created_at >= since)
        if "category" in arguments:
            found = found.where(Ticket.category == arguments["category"])
        return found.correlate(Account).scalar_subquery()
    return (select(func.count()).select_from(source)
            .where(source.c.account_id == Account.id, *conditions)
            .correlate(Account).scalar_subquery())


def compile_rule(node: Any, now: datetime) -> ColumnElement[bool]:
    """The SQL condition on `accounts` of a parsed rule (duck-typed on the tree's classes,
    which live in services/)."""
    if hasattr(node, "operands"):
        parts = [compile_rule(operand, now) for operand in node.operands]
        if node.operator == "not":
            return not_(parts[0])
        return and_(*parts) if node.operator == "and" else or_(*parts)
    left = (_ATTRIBUTES[node.left.name] if hasattr(node.left, "name")
            else _count(node.left.function, node.left.arguments, now))
    value: Any = node.right.value
    if isinstance(value, Decimal) and hasattr(node.left, "function"):
        value = int(value)
    operators = {"=": left.__eq__, "!=": left.__ne__, ">": left.__gt__, ">=": left.__ge__,
                 "<": left.__lt__, "<=": left.__le__}
    result: ColumnElement[bool] = operators[node.operator](value)
    return result


async def _bounded(session: AsyncSession, milliseconds: int = STATEMENT_TIMEOUT_MS) -> None:
    await session.execute(text(f"SET LOCAL statement_timeout = {int(milliseconds)}"))


async def preview(session: AsyncSession, condition: ColumnElement[bool], seen: Visibility,
                  sample: int) -> tuple[int, list[uuid.UUID]]:
    await _bounded(session)
    where = and_(accounts_readable(seen), condition)
    total = int(await session.scalar(select(func.count()).select_from(Account).where(where))
                or 0)
    ids = list(await session.scalars(select(Account.id).where(where)
                                     .order_by(Account.name, Account.id).limit(sample)))
    return total, ids


Compiled = tuple[TagRule, ColumnElement[bool], Visibility]
# The matches of a full evaluation (a temporary table of the transaction).
matches = table("tag_matches", column("account_id"), column("rule_id"), column("name"))


async def apply(session: AsyncSession, rules: Sequence[Compiled], now: datetime,
                account_ids: Sequence[uuid.UUID] | None = None
                ) -> dict[uuid.UUID, tuple[int, int]]:
    """Every rule on the visible accounts it matches (among `account_ids` if given, see
    `_apply_to_accounts`); (added, removed) per rule id. In full, whatever the number of
    rules, one statement collects the matches of all rules and one diffs them against the
    rules' recorded tags in `account_tags` — new ones inserted, those no longer matched
    deleted. `accounts` is not written (its `tags` are the tags set by hand), a
    re-evaluation that changes nothing writes nothing, and every rule sees the tags as they
    were before the run (`tagCount` does not depend on the order of rules)."""
    if account_ids is not None:
        return await _apply_to_accounts(session, rules, account_ids, now)
    await _bounded(session, FULL_TIMEOUT_MS)
    counts = {rule.id: (0, 0) for rule, _, _ in rules}
    if not rules:
        return counts
    branches = [select(Account.id.label("account_id"), literal(rule.id).label("rule_id"),
                       literal(rule.name).label("name"))
                .where(accounts_readable(seen), condition) for rule, condition, seen in rules]
    # The matches are collected first: decided while tags are being inserted, a `tagCount`
    # rule could read the growing `account_tags` once per account.
    await session.execute(text(
        "CREATE TEMP TABLE IF NOT EXISTS tag_matches (account_id uuid NOT NULL, "
        "rule_id uuid NOT NULL, name text NOT NULL) ON COMMIT DROP"))
    await session.execute(text("DELETE FROM tag_matches"))
    await session.execute(insert(matches).from_select(["account_id", "rule_id", "name"],
                                                      union_all(*branches)))
    # A rule's recorded tags bear its name (index on (name, account_id)).
    recorded = select(AccountTag.account_id, AccountTag.rule_id, AccountTag.name).where(
        AccountTag.name.in_([rule.name for rule, _, _ in rules]),
        AccountTag.rule_id.in_(list(counts))).cte("recorded")
    # Matches without a recorded tag (new) and recorded tags without a match (gone): a full
    # join, so a hash or merge join (each side read once) whatever the tables' statistics.
    diff = (select(func.coalesce(matches.c.account_id, recorded.c.account_id)
                   .label("account_id"),
                   func.coalesce(matches.c.rule_id, recorded.c.rule_id).label("rule_id"),
                   func.coalesce(matches.c.name, recorded.c.name).label("name"),
                   recorded.c.account_id.is_(None).label("new"))
            .select_from(matches.outerjoin(recorded, and_(
                matches.c.account_id == recorded.c.account_id,
                matches.c.rule_id == recorded.c.rule_id), full=True))
            .where(or_(matches.c.account_id.is_(None), recorded.c.account_id.is_(None)))
            .cte("diff"))
    added = (insert(AccountTag).from_select(
        ["account_id", "name", "rule_id", "set_at"],
        select(diff.c.account_id, diff.c.name, diff.c.rule_id, literal(now))
        .where(diff.c.new)
        # In account order each index of `account_tags` is written at a few advancing places.
        .order_by(diff.c.account_id))
        .on_conflict_do_nothing(index_elements=["account_id", "name"])
        .returning(AccountTag.rule_id).cte("added"))
    removed = (delete(AccountTag).where(
        AccountTag.account_id == diff.c.account_id, AccountTag.name == diff.c.name,
        AccountTag.rule_id == diff.c.rule_id, not_(diff.c.new))
        .returning(AccountTag.rule_id).cte("removed"))
    tally = union_all(
        select(literal(True).label("added"), added.c.rule_id, func.count().label("n"))
        .group_by(added.c.rule_id),
        select(literal(False).label("added"), removed.c.rule_id, func.count().label("n"))
        .group_by(removed.c.rule_id))
    for is_added, rule_id, number in (await session.execute(select(tally.subquery()))).all():
        plus, minus = counts[rule_id]
        counts[rule_id] = (plus + int(number), minus) if is_added else (plus, minus + int(number))
    return counts


async def _apply_to_accounts(session: AsyncSession, rules: Sequence[Compiled],
                             account_ids: Sequence[uuid.UUID],
                             now: datetime) -> dict[uuid.UUID, tuple[int, int]]:
    """Every rule on a few accounts (after their events): one read decides each rule's
    verdict per account (within its author's visibility), one reads the recorded tags, then
    the provenance rows are inserted and deleted. Same outcome as the full evaluation."""
    await _bounded(session)
    ids = list(account_ids)
    counts = {rule.id: [0, 0] for rule, _, _ in rules}
    if not rules:
        return {}
    verdicts = [and_(accounts_readable(seen), condition).label(f"r{index}")
                for index, (_, condition, seen) in enumerate(rules)]
    accounts = (await session.execute(
        select(Account.id, *verdicts).where(Account.id.in_(ids)))).all()
    recorded = {(row.account_id, row.name): row.rule_id for row in await session.execute(
        select(AccountTag.account_id, AccountTag.name, AccountTag.rule_id)
        .where(AccountTag.account_id.in_(ids)))}
    inserts: list[dict[str, Any]] = []
    deletes: list[tuple[uuid.UUID, str]] = []
    for row in accounts:
        for index, (rule, _, _) in enumerate(rules):
            owner = recorded.get((row.id, rule.name), False)
            if row[1 + index]:
                if owner is False:
                    inserts.append({"account_id": row.id, "name": rule.name,
                                    "rule_id": rule.id, "set_at": now})
                    counts[rule.id][0] += 1
            elif owner == rule.id:
                deletes.append((row.id, rule.name))
                counts[rule.id][1] += 1
    if inserts:
        await session.execute(insert(AccountTag).values(inserts).on_conflict_do_nothing(
            index_elements=["account_id", "name"]))
    if deletes:
        await session.execute(delete(AccountTag).where(
            tuple_(AccountTag.account_id, AccountTag.name).in_(deletes)))
    return {key: (added, removed) for key, (added, removed) in counts.items()}


async def rule_tags(session: AsyncSession,
                    account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Per account: the names of the tags rules set on it, by name."""
    found: dict[uuid.UUID, list[str]] = {}
    for account_id, name in await session.execute(
            select(AccountTag.account_id, AccountTag.name)
            .where(AccountTag.account_id.in_(list(account_ids)),
                   AccountTag.rule_id.is_not(None))
            .order_by(AccountTag.account_id, AccountTag.name)):
        found.setdefault(account_id, []).append(name)
    return found


async def enabled_rules(session: AsyncSession) -> list[TagRule]:
    return list(await session.scalars(select(TagRule).where(TagRule.enabled.is_(True))
                                      .order_by(TagRule.name)))


async def rule_by_name(session: AsyncSession, name: str) -> TagRule | None:
    return (await session.scalars(select(TagRule).where(TagRule.name == name))).one_or_none()


Provenance = dict[uuid.UUID, list[tuple[str, str | None, datetime]]]


async def provenance(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> Provenance:
    """Per account: (tag, name of the rule that set it or None, when)."""
    rows = await session.execute(
        select(AccountTag.account_id, AccountTag.name, TagRule.name, AccountTag.set_at)
        .outerjoin(TagRule, TagRule.id == AccountTag.rule_id)
        .where(AccountTag.account_id.in_(list(account_ids))))
    found: dict[uuid.UUID, list[tuple[str, str | None, datetime]]] = {}
    for account_id, name, rule_name, set_at in rows:
        found.setdefault(account_id, []).append((name, rule_name, set_at))
    return found


async def position(session: AsyncSession, consumer: str) -> int:
    """The consumer's position, locked for this transaction (one reader at a time)."""
    await session.execute(text("INSERT INTO outbox_positions (consumer, event_id) "
                               "VALUES (:consumer, 0) ON CONFLICT DO NOTHING"),
                          {"consumer": consumer})
    found = await session.scalar(text("SELECT event_id FROM outbox_positions "
                                      "WHERE consumer = :consumer FOR UPDATE"),
                                 {"consumer": consumer})
    return int(found or 0)


async def advance(session: AsyncSession, consumer: str, event_id: int) -> None:
    await session.execute(text("UPDATE outbox_positions SET event_id = :event_id "
                               "WHERE consumer = :consumer"),
                          {"consumer": consumer, "event_id": event_id})


async def events_after(session: AsyncSession, after: int, topics: Sequence[str],
                       limit: int) -> list[tuple[int, uuid.UUID | None]]:
    """(event id, account id) of the events on `topics` after `after`: the account is the
    aggregate of account.* events, else the payload's `account_id`."""
    rows = await session.execute(
        select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.aggregate_id,
               OutboxEvent.payload["account_id"].astext)
        .where(OutboxEvent.id > after, OutboxEvent.topic.in_(list(topics)))
        .order_by(OutboxEvent.id).limit(limit))
    found: list[tuple[int, uuid.UUID | None]] = []
    for event_id, topic, aggregate, account in rows:
        raw = aggregate if topic.startswith("account.") else account
        try:
            found.append((event_id, uuid.UUID(str(raw)) if raw else None))
        except ValueError:
            found.append((event_id, None))
    return found
