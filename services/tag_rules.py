"""Dynamic tag rules: admins write a rule in the tag rule language (services/tag_language.py),
it is validated on save, previewed before it is enabled, and evaluated — in full when it is
saved and hourly (`tags:evaluate_all`), per account when relevant outbox events arrive
(`tags:on_events`, every minute). The tag a rule sets is the rule's name; each account tag
records which rule set it and when. Every evaluation sees only what the rule's author may
see (their visibility builder) and runs under a statement timeout."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from auth.actor import Actor
from relational.ledger import Reader
from relational.operations_models import TagRule
from relational.repositories import accounts as accounts_repo
from relational.repositories import inbox as users_repo
from relational.repositories import tag_rules as repo
from relational.uow import UnitOfWork
from services import accounts as account_records  # services.accounts imports this module
from services import policy, tag_language
from services import validation as check
from services.errors import BadUserInput, Conflict
from services.identity.sessions import actor_for_user
from services.tag_language import Node
from services.vocabulary import TagLayer

if TYPE_CHECKING:
    from services.accounts import AccountRecord

PREVIEW_SAMPLE = 10


@dataclass(frozen=True)
class TagRuleRecord:
    id: uuid.UUID
    name: str
    layer: str
    expression: str
    enabled: bool
    version: int
    evaluated_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: TagRule) -> TagRuleRecord:
        return cls(row.id, row.name, row.layer, row.expression, row.enabled, row.version,
                   row.evaluated_at, row.created_at)


@dataclass(frozen=True)
class Preview:
    match_count: int
    sample: list[AccountRecord]


def validated(expression: str) -> Node:
    """Parse and type-check (every count's table is the ledger's own since migration 0012)."""
    return tag_language.parse(expression)


async def create(uow: UnitOfWork, actor: Actor, *, name: str, layer: str, expression: str,
                 enabled: bool) -> TagRuleRecord:
    clean = check.text(name, "name", max_length=32)
    check.choice(layer, "layer", [item.value for item in TagLayer])
    validated(expression)
    if await repo.rule_by_name(uow.session, clean) is not None or actor.user_id is None:
        raise Conflict("a tag rule with this name exists", field="name")
    rule = TagRule(id=uuid.uuid4(), name=clean, layer=layer, expression=expression.strip(),
                   enabled=enabled, author_id=actor.user_id, version=1)
    uow.session.add(rule)
    try:
        await uow.session.flush()
    except IntegrityError as error:
        raise Conflict("a tag rule with this name exists", field="name") from error
    uow.audit("tagRule.create", [str(rule.id)],
              after={"name": clean, "layer": layer, "expression": rule.expression,
                     "enabled": enabled})
    if enabled:
        uow.defer("tags:evaluate_rule", {"ruleId": str(rule.id)})
    return TagRuleRecord.of(rule)


async def preview(read: Reader, actor: Actor, expression: str,
                  now: datetime) -> Preview:
    """How many accounts the caller can see would match, and the first few by name."""
    tree = validated(expression)
    async with read() as session:
        total, ids = await repo.preview(session, repo.compile_rule(tree, now),
                                        policy.visibility(actor), PREVIEW_SAMPLE)
        rows = await accounts_repo.get_many(session, ids, policy.visibility(actor))
    return Preview(total, [account_records.AccountRecord.of(rows[key])
                           for key in ids if key in rows])


Authors = dict[uuid.UUID, Actor | None]


async def _author(uow: UnitOfWork, rule: TagRule, known: Authors) -> Actor | None:
    """The rule's author as they are now (None if gone or inactive); each looked up once per
    evaluation run."""
    if rule.author_id not in known:
        user = await users_repo.user(uow.session, rule.author_id)
        known[rule.author_id] = None if user is None or not user.active else \
            await actor_for_user(uow.session, user, None)
    return known[rule.author_id]


async def _evaluate(uow: UnitOfWork, rules: Sequence[TagRule], now: datetime,
                    account_ids: Sequence[uuid.UUID] | None
                    ) -> dict[uuid.UUID, tuple[int, int]]:
    """The rules on `account_ids` (or on every account) in one statement (repo.apply), each
    within its author's visibility as they are now; (added, removed) per rule id."""
    authors, compiled = Authors(), []
    for rule in rules:
        try:
            tree = tag_language.parse(rule.expression)
        except BadUserInput:
            continue
        author = await _author(uow, rule, authors)
        seen = policy.visibility(author if author is not None else Actor("none"))
        compiled.append((rule, repo.compile_rule(tree, now), seen))
        if account_ids is None:
            rule.evaluated_at = now
    counts = await repo.apply(uow.session, compiled, now, account_ids)
    for rule_id, (added, removed) in counts.items():
        if added or removed:
            uow.audit("tagRule.evaluate", [str(rule_id)],
                      after={"added": added, "removed": removed})
    return counts


async def evaluate(uow: UnitOfWork, rule: TagRule, now: datetime,
                   account_ids: Sequence[uuid.UUID] | None = None) -> tuple[int, int]:
    """Apply one rule (to `account_ids`, or to every account); (added, removed)."""
    return (await _evaluate(uow, [rule], now, account_ids)).get(rule.id, (0, 0))


async def evaluate_rule(uow: UnitOfWork, rule_id: uuid.UUID, now: datetime) -> tuple[int, int]:
    rule = await uow.session.get(TagRule, rule_id)
    if rule is None or not rule.enabled:
        return 0, 0
    return await evaluate(uow, rule, now)


async def evaluate_all(uow: UnitOfWork, now: datetime,
                       account_ids: Sequence[uuid.UUID] | None = None) -> int:
    """Every enabled rule (on `account_ids`, or in full); the tags changed."""
    counts = await _evaluate(uow, await repo.enabled_rules(uow.session), now, account_ids)
    return sum(added + removed for added, removed in counts.values())


# Events after which an account's tags may change, and where their account id is.
RELEVANT_TOPICS = ("account.created", "account.updated", "interaction.logged",
                   "opportunity.won", "opportunity.updated", "opportunity.created",
                   "payment.recorded", "ticket.created", "lifecycle.changed")
CONSUMER = "tag_rules"


async def on_events(uow: UnitOfWork, now: datetime, *, limit: int = 1000) -> int:
    """Re-evaluate the rules for the accounts of the outbox events since the last run (this
    consumer's own position, apart from the projector's); the events read."""
    position = await repo.position(uow.session, CONSUMER)
    events = await repo.events_after(uow.session, position, RELEVANT_TOPICS, limit)
    if not events:
        return 0
    touched = {account for _, account in events if account is not None}
    if touched:
        await evaluate_all(uow, now, sorted(touched))
    await repo.advance(uow.session, CONSUMER, events[-1][0])
    return len(events)
