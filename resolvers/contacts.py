"""Contact bindings."""

from __future__ import annotations

from relational.models import Account, Contact
from resolvers.context import Context
from resolvers.ids import from_global_id
from services import contacts
from services.contacts import ContactDraft
from services.errors import NotFound
from services.pagination import Page


async def contact(ctx: Context, global_id: str) -> Contact | None:
    try:
        contact_id = from_global_id(global_id, "Contact", "id")
    except NotFound:
        return None
    return await ctx.loaders.contact.load(contact_id)


async def page_of(
    ctx: Context, account: Account, first: int | None, after: str | None
) -> Page[Contact]:
    return await ctx.loaders.contact_page.load((account.id, first, after))


async def count_of(ctx: Context, account: Account) -> int:
    return await ctx.loaders.contact_count.load(account.id)


async def create(ctx: Context, account_id: str, draft: ContactDraft) -> Contact:
    owner = from_global_id(account_id, "Account", "accountId")
    async with await ctx.uow() as uow:
        return await contacts.create(uow, owner, draft)


async def update(ctx: Context, global_id: str, changes: dict[str, str | None]) -> Contact:
    contact_id = from_global_id(global_id, "Contact", "id")
    async with await ctx.uow() as uow:
        row = await contacts.update(uow, contact_id, changes)
    ctx.loaders.contact.prime(row.id, row, force=True)
    return row


async def delete(ctx: Context, global_id: str) -> Contact:
    contact_id = from_global_id(global_id, "Contact", "id")
    async with await ctx.uow() as uow:
        return await contacts.delete(uow, contact_id)
