"""Where an account's tags come from: the rule that set each one and when (a tag set by hand
has no rule)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from relational.ledger import Reader
from relational.repositories import tag_rules as repo


@dataclass(frozen=True)
class TagRecord:
    name: str
    rule: str | None
    set_at: datetime | None


async def provenance(read: Reader,
                     account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[TagRecord]]:
    """The recorded origin of tags of accounts the caller has already loaded."""
    async with read() as session:
        found = await repo.provenance(session, account_ids)
    return {key: [TagRecord(name, rule, at) for name, rule, at in rows]
            for key, rows in found.items()}


def tags_of(names: Sequence[str], recorded: Sequence[TagRecord]) -> list[TagRecord]:
    """Every tag of the account: those set by hand (`names`) in their order, then those rules
    set by name; each with its origin where one is recorded."""
    known = {record.name: record for record in recorded}
    by_rules = sorted(record.name for record in recorded
                      if record.rule is not None and record.name not in names)
    return [known.get(name, TagRecord(name, None, None)) for name in [*names, *by_rules]]


def with_rule_tags(names: Sequence[str], by_rules: Sequence[str]) -> tuple[str, ...]:
    """The names of every tag of an account: set by hand, then set by rules."""
    return (*names, *(name for name in by_rules if name not in names))
