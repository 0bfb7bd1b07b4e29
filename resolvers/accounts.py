"""Account bindings: arguments in, one service call, domain objects out."""

from __future__ import annotations

import uuid

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import accounts
from services.accounts import AccountChanges, AccountDraft, AccountRecord, AccountSearch
from services.errors import NotFound
from services.pagination import Page


async def account(ctx: Context, global_id: str) -> AccountRecord | None:
    try:
        account_id = from_global_id(global_id, "Account", "id")
    except NotFound:
        return None
    row = await ctx.loaders.account.load(account_id)
    if row is None:
        ctx.note_miss("account", account_id)
    return row


async def account_by_uuid(ctx: Context, account_id: uuid.UUID | str | None) -> AccountRecord | None:
    if account_id is None:
        return None
    return await ctx.loaders.account.load(uuid.UUID(str(account_id)))


async def accounts_by_uuid(
    ctx: Context, ids: list[uuid.UUID | None]
) -> list[AccountRecord | None]:
    wanted = [account_id for account_id in ids if account_id is not None]
    found = dict(zip(wanted, await ctx.loaders.account.load_many(wanted), strict=True))
    return [None if account_id is None else found[account_id] for account_id in ids]


async def require(ctx: Context, account_id: uuid.UUID | str) -> AccountRecord:
    """An account the graph or another row refers to; gone only if the ledger lost it."""
    row = await account_by_uuid(ctx, account_id)
    if row is None:
        raise NotFound("the referenced account does not exist", field="id")
    return row


def query_of(
    *, name_contains: str | None, region: str | None, industry: str | None,
    lifecycle_stage: str | None, tag: str | None, sort: str, descending: bool,
) -> AccountSearch:
    def given(value: str | None) -> list[str]:
        cleaned = " ".join((value or "").split())
        return [cleaned] if cleaned else []

    return AccountSearch(
        name_contains=name_contains or None,
        regions=given(region),
        industries=given(industry),
        lifecycle_stages=given(lifecycle_stage),
        tags_any=given(tag),
        sort=sort,
        descending=descending,
    )


async def search(
    ctx: Context, query: AccountSearch, first: int | None, after: str | None
) -> Page[AccountRecord]:
    page = await accounts.search(ctx.stores.read, ctx.stores.cursor_key, await ctx.actor(), query,
                                 first, after)
    for row in page.items:
        ctx.loaders.account.prime(row.id, row)
    return page


async def count(ctx: Context, query: AccountSearch) -> int:
    return await accounts.count(ctx.stores.read, await ctx.actor(), query)


async def create(ctx: Context, draft: AccountDraft, key: str | None = None) -> AccountRecord:
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await accounts.create(uow, await ctx.actor(), draft, idempotency_key)


async def update(ctx: Context, global_id: str, changes: AccountChanges) -> AccountRecord:
    account_id = from_global_id(global_id, "Account", "id")
    async with await ctx.uow() as uow:
        row = await accounts.update(uow, await ctx.actor(), account_id, changes)
    ctx.loaders.account.prime(row.id, row, force=True)
    return row

