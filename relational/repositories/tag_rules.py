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
    and_,
    column,
    delete,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    table,
    text,
    tuple_,
    update,
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
    "annualRevenue": Account.annual_revenue, "tagCount": func.cardinality(Account.tags),
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


# The tag changes of one evaluation run, applied to `accounts.tags` once at its end.
changes = table("tag_changes", column("account_id"), column("name"), column("added"))


async def open_changes(session: AsyncSession, *, full: bool) -> None:
    """Start an evaluation run in this transaction: its statement timeout and its (empty)
    table of tag changes."""
    await _bounded(session, FULL_TIMEOUT_MS if full else STATEMENT_TIMEOUT_MS)
    await session.execute(text(
        "CREATE TEMP TABLE IF NOT EXISTS tag_changes (account_id uuid NOT NULL, "
        "name text NOT NULL, added boolean NOT NULL) ON COMMIT DROP"))
    await session.execute(text("DELETE FROM tag_changes"))


async def apply(session: AsyncSession, rule: TagRule, condition: ColumnElement[bool],
                seen: Visibility, now: datetime,
                account_ids: Sequence[uuid.UUID] | None = None) -> tuple[int, int]:
    """Tag the visible accounts the rule matches (among `account_ids` if given) and untag
    those it no longer matches; (added, removed). A tag set by hand is left alone.

    One statement: the matches are diffed against the rule's recorded tags (provenance rows
    inserted and deleted), and the accounts whose `accounts.tags` must change are noted in
    `tag_changes` for `sync_tags`, which writes each changed account once per run: a
    re-evaluation that changes nothing writes nothing. Within a run every rule sees the
    tags as they were before it (`tagCount` does not depend on the order of rules)."""
    scope = [accounts_readable(seen), condition]
    recorded: list[ColumnElement[bool]] = [AccountTag.rule_id == rule.id]
    if account_ids is not None:
        scope.append(Account.id.in_(list(account_ids)))
        recorded.append(AccountTag.account_id.in_(list(account_ids)))
    matched = select(Account.id.label("id")).where(and_(*scope)).cte("matched")
    added = (insert(AccountTag).from_select(
        ["account_id", "name", "rule_id", "set_at"],
        select(matched.c.id, literal(rule.name), literal(rule.id), literal(now)))
        .on_conflict_do_nothing(index_elements=["account_id", "name"])
        .returning(AccountTag.account_id).cte("added"))
    removed = (delete(AccountTag).where(
        *recorded, ~exists().where(matched.c.id == AccountTag.account_id))
        .returning(AccountTag.account_id).cte("removed"))
    # Every account the rule matches carries the tag (also after a hand edit dropped it).
    missing = select(Account.id, literal(rule.name), literal(True)).where(
        Account.id.in_(select(matched.c.id)), not_(Account.tags.contains([rule.name])))
    dropped = select(removed.c.account_id, literal(rule.name), literal(False))
    noted = (insert(changes).from_select(["account_id", "name", "added"],
                                         missing.union_all(dropped))
             .returning(changes.c.account_id).cte("noted"))
    counts = select(
        select(func.count()).select_from(added).scalar_subquery(),
        select(func.count()).select_from(removed).scalar_subquery(),
        select(func.count()).select_from(noted).scalar_subquery())
    row = (await session.execute(counts)).one()
    return int(row[0]), int(row[1])


async def sync_tags(session: AsyncSession) -> int:
    """Apply the run's noted changes to `accounts.tags` (which the tag filter's GIN index
    reads), one update per changed account; the accounts written."""
    result = await session.execute(text("""
        UPDATE accounts a
        SET tags = ARRAY(SELECT t.name FROM unnest(a.tags) WITH ORDINALITY AS t(name, at)
                         WHERE t.name <> ALL(c.removed) ORDER BY t.at) || c.added
        FROM (SELECT account_id,
                     coalesce(array_agg(name ORDER BY name) FILTER (WHERE added),
                              '{}'::text[]) AS added,
                     coalesce(array_agg(name) FILTER (WHERE NOT added), '{}'::text[])
                         AS removed
              FROM tag_changes GROUP BY account_id) c
        WHERE a.id = c.account_id"""))
    await session.execute(text("DELETE FROM tag_changes"))
    return int(result.rowcount)  # type: ignore[attr-defined]


Compiled = tuple[TagRule, ColumnElement[bool], Visibility]


async def apply_to_accounts(session: AsyncSession, rules: Sequence[Compiled],
                            account_ids: Sequence[uuid.UUID],
                            now: datetime) -> dict[uuid.UUID, tuple[int, int]]:
    """Every rule on a few accounts (after their events) in four statements, whatever the
    number of rules: one reads each rule's verdict per account (within its author's
    visibility) with the accounts' tags and the recorded rule tags, then the provenance rows
    are inserted and deleted and each changed account's tags written once. Same outcome as
    `apply` per rule; (added, removed) per rule id."""
    await _bounded(session)
    ids = list(account_ids)
    verdicts = [and_(accounts_readable(seen), condition).label(f"r{index}")
                for index, (_, condition, seen) in enumerate(rules)]
    accounts = (await session.execute(
        select(Account.id, Account.tags, *verdicts).where(Account.id.in_(ids)))).all()
    recorded = {(row.account_id, row.name): row.rule_id for row in await session.execute(
        select(AccountTag.account_id, AccountTag.name, AccountTag.rule_id)
        .where(AccountTag.account_id.in_(ids)))}
    counts = {rule.id: [0, 0] for rule, _, _ in rules}
    inserts: list[dict[str, Any]] = []
    deletes: list[tuple[uuid.UUID, str]] = []
    tags: dict[uuid.UUID, list[str]] = {}
    for row in accounts:
        current = list(row.tags)
        for index, (rule, _, _) in enumerate(rules):
            owner = recorded.get((row.id, rule.name), False)
            if row[2 + index]:
                if owner is False:
                    inserts.append({"account_id": row.id, "name": rule.name,
                                    "rule_id": rule.id, "set_at": now})
                    counts[rule.id][0] += 1
                if rule.name not in current and owner in (False, rule.id):
                    current.append(rule.name)
            elif owner == rule.id:
                deletes.append((row.id, rule.name))
                counts[rule.id][1] += 1
                current = [name for name in current if name != rule.name]
        if current != list(row.tags):
            tags[row.id] = current
    if inserts:
        await session.execute(insert(AccountTag).values(inserts).on_conflict_do_nothing(
            index_elements=["account_id", "name"]))
    if deletes:
        await session.execute(delete(AccountTag).where(
            tuple_(AccountTag.account_id, AccountTag.name).in_(deletes)))
    if tags:
        # ORM bulk UPDATE by primary key: one statement, executed for every changed account.
        await session.execute(update(Account), [{"id": key, "tags": names}
                                                for key, names in tags.items()])
    return {key: (added, removed) for key, (added, removed) in counts.items()}


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
