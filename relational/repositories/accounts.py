"""Account queries: lookups, filtered keyset pages, counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account
from relational.operations_models import AccountTag
from relational.repositories.visibility import Visibility, accounts_readable


class AccountSort(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    ANNUAL_REVENUE = "annual_revenue"


@dataclass(frozen=True)
class AccountQuery:
    """Filters of an account list; all given filters must hold."""

    name_contains: str | None = None
    regions: Sequence[str] = ()
    industries: Sequence[str] = ()
    lifecycle_stages: Sequence[str] = ()
    tags_any: Sequence[str] = ()
    ids: Sequence[uuid.UUID] | None = None
    visibility: Visibility = field(default_factory=Visibility)  # default: nothing
    sort: AccountSort = AccountSort.NAME
    descending: bool = False
    after: tuple[Any, uuid.UUID] | None = field(default=None)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_contains(term: str) -> ColumnElement[bool]:
    """Case-insensitive substring match served by `ix_accounts_name_grams` (migration 0007)
    for any length of `term`, also the 1- and 2-character words trigrams cannot serve; the
    ILIKE is the exact check, the grams only narrow the rows down through the index."""
    grams = func.account_name_grams(Account.name, type_=ARRAY(Text))
    wanted = func.account_name_search_grams(term, type_=ARRAY(Text))
    return and_(grams.contains(wanted), Account.name.ilike(f"%{_escape_like(term)}%"))


def _sort_key(sort: AccountSort) -> ColumnElement[Any]:
    if sort is AccountSort.ANNUAL_REVENUE:
        # NULL revenue sorts as the smallest value and stays comparable for keyset cursors.
        return func.coalesce(Account.annual_revenue, Decimal(-1))
    return getattr(Account, sort.value)  # type: ignore[no-any-return]


def tagged_any(names: Sequence[str]) -> ColumnElement[bool]:
    """Accounts carrying any of `names`, set by hand (`accounts.tags`, its GIN index) or by a
    rule (`account_tags`, its index on (name, account_id)): a union of the two index reads."""
    return Account.id.in_(union(
        select(Account.id).where(Account.tags.overlap(list(names))),
        select(AccountTag.account_id).where(AccountTag.name.in_(list(names)),
                                            AccountTag.rule_id.is_not(None))))


def _filtered(query: AccountQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [accounts_readable(query.visibility)]
    if query.name_contains:
        conditions.append(name_contains(query.name_contains))
    if query.regions:
        conditions.append(Account.region.in_(list(query.regions)))
    if query.industries:
        conditions.append(Account.industry.in_(list(query.industries)))
    if query.lifecycle_stages:
        conditions.append(Account.lifecycle_stage.in_(list(query.lifecycle_stages)))
    if query.tags_any:
        conditions.append(tagged_any(query.tags_any))
    if query.ids is not None:
        conditions.append(Account.id.in_(list(query.ids)))
    return conditions


def page_statement(query: AccountQuery, limit: int) -> Select[Account]:
    key = _sort_key(query.sort)
    conditions = _filtered(query)
    if query.after is not None:
        value, last_id = query.after
        after = tuple_(key, Account.id)
        bound = tuple_(value, last_id)
        conditions.append(after < bound if query.descending else after > bound)
    order = (key.desc(), Account.id.desc()) if query.descending else (key.asc(), Account.id.asc())
    return select(Account).where(and_(True, *conditions)).order_by(*order).limit(limit)


def sort_value(account: Account, sort: AccountSort) -> Any:
    if sort is AccountSort.ANNUAL_REVENUE:
        return account.annual_revenue if account.annual_revenue is not None else Decimal(-1)
    return getattr(account, sort.value)


async def page(session: AsyncSession, query: AccountQuery, limit: int) -> list[Account]:
    return list((await session.scalars(page_statement(query, limit))).all())


async def count(session: AsyncSession, query: AccountQuery) -> int:
    statement = select(func.count()).select_from(Account).where(and_(True, *_filtered(query)))
    return int(await session.scalar(statement) or 0)


async def get_many(
    session: AsyncSession, ids: Sequence[uuid.UUID], seen: Visibility
) -> dict[uuid.UUID, Account]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Account).where(Account.id.in_(list(set(ids))), accounts_readable(seen)))
    return {row.id: row for row in rows}


class AccountColumns(NamedTuple):
    """The columns an account is read with, without the ORM: loading thousands of accounts
    (a group tree's members) as mapped objects costs several times the statement."""

    id: uuid.UUID
    name: str
    uscc: str
    region: str
    industry: str
    lifecycle_stage: str
    tags: list[str]
    annual_revenue: Decimal | None
    classification: int
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    disrupted_reason: str | None
    disrupted_since: date | None
    value_tier: str | None


_COLUMNS = [getattr(Account, name) for name in AccountColumns._fields]


async def columns_many(
    session: AsyncSession, ids: Sequence[uuid.UUID], seen: Visibility
) -> dict[uuid.UUID, AccountColumns]:
    """`get_many` as plain rows. The ids go as one array parameter (`= ANY`), not one bind
    parameter each: ten thousand of them cost more to render than to run."""
    if not ids:
        return {}
    wanted = bindparam("ids", list(set(ids)), type_=ARRAY(UUID(as_uuid=True)))
    rows = await session.execute(
        select(*_COLUMNS).where(Account.id == any_(wanted), accounts_readable(seen)))
    return {row[0]: AccountColumns._make(row) for row in rows}


async def get_for_update(
    session: AsyncSession, account_id: uuid.UUID, seen: Visibility
) -> Account | None:
    statement = select(Account).where(
        Account.id == account_id, accounts_readable(seen)).with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def existing(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` exist, whoever may see them: only to audit an attempt on a hidden one."""
    if not ids:
        return set()
    return set((await session.scalars(select(Account.id).where(Account.id.in_(list(set(ids))))))
               .all())


async def uscc_taken(
    session: AsyncSession, uscc: str, *, except_id: uuid.UUID | None = None
) -> bool:
    statement = select(Account.id).where(Account.uscc == uscc)
    if except_id is not None:
        statement = statement.where(or_(Account.id != except_id))
    return (await session.scalar(statement.limit(1))) is not None


async def any_exist(session: AsyncSession) -> bool:
    return (await session.scalar(select(Account.id).limit(1))) is not None
