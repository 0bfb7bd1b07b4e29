"""Contact bindings."""

from __future__ import annotations

import uuid

from resolvers.context import Context
from resolvers.ids import from_global_id
from services import contacts
from services.accounts import AccountRecord
from services.contact_fields import ContactRecord
from services.contacts import ContactDraft, ContactFilter
from services.errors import NotFound
from services.pagination import Page


async def contact(ctx: Context, global_id: str) -> ContactRecord | None:
    try:
        contact_id = from_global_id(global_id, "Contact", "id")
    except NotFound:
        return None
    record = await ctx.loaders.contact.load(contact_id)
    if record is None:
        ctx.note_miss("contact", contact_id)
    return record


async def page_of(
    ctx: Context, account: AccountRecord, first: int | None, after: str | None
) -> Page[ContactRecord]:
    return await ctx.loaders.contact_page.load((account.id, first, after))


async def count_of(ctx: Context, account: AccountRecord) -> int:
    return await ctx.loaders.contact_count.load(account.id)


async def search(
    ctx: Context, wanted: ContactFilter, first: int | None, after: str | None
) -> Page[ContactRecord]:
    page = await contacts.search(ctx.stores.read, ctx.stores.cipher, await ctx.actor(), wanted,
                                 first, after)
    for record in page.items:
        ctx.loaders.contact.prime(record.id, record)
    return page


async def count_matching(ctx: Context, wanted: ContactFilter) -> int:
    return await contacts.count_matching(ctx.stores.read, ctx.stores.cipher, await ctx.actor(),
                                         wanted)


async def create(
    ctx: Context, account_id: str, draft: ContactDraft, key: str | None = None
) -> ContactRecord:
    owner = from_global_id(account_id, "Account", "accountId")
    idempotency_key = ctx.idempotency_key(key)
    async with await ctx.uow() as uow:
        return await contacts.create(uow, await ctx.actor(), ctx.stores.cipher, owner, draft,
                                     idempotency_key)


async def update(
    ctx: Context, global_id: str, changes: dict[str, object]
) -> ContactRecord:
    contact_id = from_global_id(global_id, "Contact", "id")
    async with await ctx.uow() as uow:
        record = await contacts.update(uow, await ctx.actor(), ctx.stores.cipher, contact_id,
                                       changes)
    ctx.loaders.contact.prime(record.id, record, force=True)
    return record


async def delete(ctx: Context, global_id: str) -> ContactRecord:
    contact_id = from_global_id(global_id, "Contact", "id")
    async with await ctx.uow() as uow:
        return await contacts.delete(uow, await ctx.actor(), ctx.stores.cipher, contact_id)


async def contact_by_uuid(ctx: Context, contact_id: uuid.UUID) -> ContactRecord | None:
    """A contact inside a traversal (no miss is noted: a stub stands in for a hidden one)."""
    return await ctx.loaders.contact.load(contact_id)
