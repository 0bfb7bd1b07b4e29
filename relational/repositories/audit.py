"""Audit log appends (hash-chained) and the ordered walk that `crm audit verify` reads."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, insert, select, text, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account, AuditRecord, Contact

_APPEND_LOCK = 0x61756469  # "audi"; transaction-scoped, so the commit releases it

# What a record's hash covers besides its `seq` (auth.audit_chain.FIELDS).
CONTENT = ("at", "actor", "operation", "target_ids", "before", "after", "ip", "request_id",
           "reason")


@dataclass(frozen=True)
class Chain:
    """The chain's rules, given by services/stores.py: relational/ must not import auth/,
    where the hashing lives. `link(prev_hash, fields) -> hash`; `genesis` precedes seq 1."""

    genesis: str
    link: Callable[[str, Mapping[str, Any]], str]


async def append(session: AsyncSession, chain: Chain, records: Sequence[Mapping[str, Any]]) -> None:
    """Chain `records` (CONTENT fields but `at`) after the current tail and insert them.

    `at` is set here, before hashing, to the transaction's now() (with microseconds, as read
    back), so the hash never depends on a server default and the record carries the same
    stamp as the rows of its change.

    Call it last before the commit: the lock serialises appenders from here until the commit,
    so the tail read below is still the tail when the rows land and the chain cannot fork.
    The tail is read in its own statement, after the lock: a READ COMMITTED snapshot taken
    before the wait would miss a record committed during it.
    """
    # now() is the same anywhere in the transaction, so it comes with the lock for free.
    locked = await session.execute(
        text("SELECT now() AS at FROM pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    at: datetime = locked.scalar_one()
    tail = (await session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    )).first()
    seq, prev_hash = (tail.seq, tail.hash) if tail is not None else (0, chain.genesis)
    rows: list[dict[str, Any]] = []
    for record in records:
        seq += 1
        fields = {**record, "at": at, "seq": seq}
        digest = chain.link(prev_hash, fields)
        rows.append({**fields, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    # One multi-row INSERT: ids come from the sequence in row order, so id order = seq order.
    await session.execute(insert(AuditRecord), rows)


async def walk(session: AsyncSession, batch: int) -> AsyncIterator[Sequence[RowMapping]]:
    """Every record in (seq, id) order, `batch` at a time, as plain rows (no identity map to
    grow); the id breaks ties only in a tampered log, where seq may have been made to repeat."""
    columns = (AuditRecord.id, AuditRecord.seq, AuditRecord.prev_hash, AuditRecord.hash,
               *(getattr(AuditRecord, name) for name in CONTENT))
    statement = select(*columns).order_by(AuditRecord.seq, AuditRecord.id).limit(batch)
    rows = (await session.execute(statement)).mappings().all()
    while rows:
        yield rows
        last = tuple_(AuditRecord.seq, AuditRecord.id) > tuple_(rows[-1]["seq"], rows[-1]["id"])
        rows = (await session.execute(statement.where(last))).mappings().all()


@dataclass(frozen=True)
class TrailQuery:
    """Filters of the audit trail; all given ones must hold."""

    actor: str | None = None
    target_id: str | None = None
    operation: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _trail_conditions(query: TrailQuery) -> list[Any]:
    conditions: list[Any] = []
    if query.actor is not None:
        conditions.append(AuditRecord.actor == query.actor)
    if query.target_id is not None:
        conditions.append(AuditRecord.target_ids.any_() == query.target_id)
    if query.operation is not None:
        conditions.append(AuditRecord.operation == query.operation)
    if query.since is not None:
        conditions.append(AuditRecord.at >= query.since)
    if query.until is not None:
        conditions.append(AuditRecord.at < query.until)
    return conditions


async def trail(session: AsyncSession, query: TrailQuery, *, limit: int,
                before_seq: int | None = None) -> list[AuditRecord]:
    """Newest first, by chain position."""
    statement = select(AuditRecord).where(*_trail_conditions(query))
    if before_seq is not None:
        statement = statement.where(AuditRecord.seq < before_seq)
    statement = statement.order_by(AuditRecord.seq.desc()).limit(limit)
    return list((await session.scalars(statement)).all())


async def trail_count(session: AsyncSession, query: TrailQuery) -> int:
    statement = select(func.count()).select_from(AuditRecord).where(*_trail_conditions(query))
    return int(await session.scalar(statement) or 0)


async def target_levels(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Classification of the accounts and contacts among `ids`, now (a contact's is at least its
    account's, as only readers of the account see it); other ids are absent. One statement."""
    if not ids:
        return {}
    wanted = list(set(ids))
    accounts = select(Account.id, Account.classification).where(Account.id.in_(wanted))
    contacts = (select(Contact.id, func.greatest(Contact.classification, Account.classification))
                .join(Account, Account.id == Contact.account_id).where(Contact.id.in_(wanted)))
    rows = (await session.execute(union_all(accounts, contacts))).all()
    return {row[0]: int(row[1]) for row in rows}


async def recently_recorded(session: AsyncSession, actor: str, operation: str,
                            seconds: int) -> bool:
    statement = select(AuditRecord.id).where(
        AuditRecord.actor == actor, AuditRecord.operation == operation,
        AuditRecord.at > func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)).limit(1)
    return (await session.scalar(statement)) is not None


async def seen_addresses(session: AsyncSession, user_id: str) -> set[str | None]:
    """Client addresses of this user's earlier successful logins."""
    statement = select(AuditRecord.ip).where(
        AuditRecord.operation == "auth.login",
        AuditRecord.target_ids.any_() == user_id).distinct()
    return set((await session.scalars(statement)).all())
