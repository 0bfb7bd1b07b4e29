"""Contact use cases: people at an account."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from relational.models import Contact
from relational.repositories import accounts as account_repo
from relational.repositories import contacts as repo
from relational.uow import UnitOfWork
from services import validation as check
from services.errors import BadUserInput, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.stores import Stores

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_CURSOR_KIND = "contacts"


@dataclass(frozen=True)
class ContactDraft:
    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not _PHONE.match(value.strip()):
        raise BadUserInput("`phone` is not a phone number", field="phone")
    return value.strip()


def _email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise BadUserInput("`email` is not an e-mail address", field="email")
    return cleaned


def _validated(draft: ContactDraft) -> ContactDraft:
    return ContactDraft(
        name=check.text(draft.name, "name", max_length=100),
        title=check.optional_text(draft.title, "title", max_length=100),
        phone=_phone(draft.phone),
        email=_email(draft.email),
    )


def audit_view(contact: Contact) -> dict[str, Any]:
    """Phone and e-mail are personal data: the audit trail records that they changed, not them."""
    return {
        "accountId": str(contact.account_id),
        "name": contact.name,
        "title": contact.title,
        "hasPhone": contact.phone is not None,
        "hasEmail": contact.email is not None,
    }


def graph_row(contact: Contact) -> dict[str, Any]:
    return {"id": str(contact.id), "accountId": str(contact.account_id), "name": contact.name,
            "title": contact.title}


async def create(uow: UnitOfWork, account_id: uuid.UUID, draft: ContactDraft) -> Contact:
    valid = _validated(draft)
    if await account_repo.get_for_update(uow.session, account_id) is None:
        raise NotFound("no account with this id", field="accountId")
    contact = Contact(id=uuid.uuid4(), account_id=account_id, name=valid.name, title=valid.title,
                      phone=valid.phone, email=valid.email)
    uow.session.add(contact)
    await uow.session.flush()
    uow.audit("contact.create", [str(contact.id), str(account_id)], after=audit_view(contact))
    uow.emit("contact.created", str(contact.id), graph_row(contact))
    return contact


async def _locked(uow: UnitOfWork, contact_id: uuid.UUID) -> Contact:
    contact = await repo.get_for_update(uow.session, contact_id)
    if contact is None:
        raise NotFound("no contact with this id", field="id")
    return contact


async def update(
    uow: UnitOfWork, contact_id: uuid.UUID, changes: dict[str, str | None]
) -> Contact:
    """`changes` holds only the given fields; an explicit None clears title/phone/email."""
    contact = await _locked(uow, contact_id)
    before = audit_view(contact)
    merged = {"name": contact.name, "title": contact.title, "phone": contact.phone,
              "email": contact.email, **changes}
    if merged["name"] is None:
        raise BadUserInput("`name` must not be empty", field="name")
    valid = _validated(ContactDraft(name=str(merged["name"]), title=merged["title"],
                                    phone=merged["phone"], email=merged["email"]))
    changed = [name for name in ("name", "title", "phone", "email")
               if getattr(valid, name) != getattr(contact, name)]
    if not changed:
        return contact
    contact.name, contact.title, contact.phone, contact.email = (
        valid.name, valid.title, valid.phone, valid.email)
    contact.version += 1
    contact.updated_at = datetime.now(UTC)
    await uow.session.flush()
    # Names of the changed fields make a phone-only change visible without recording the number.
    uow.audit("contact.update", [str(contact.id), str(contact.account_id)], before=before,
              after={**audit_view(contact), "changedFields": changed})
    uow.emit("contact.updated", str(contact.id), graph_row(contact))
    return contact


async def delete(uow: UnitOfWork, contact_id: uuid.UUID) -> Contact:
    contact = await _locked(uow, contact_id)
    await uow.session.delete(contact)
    await uow.session.flush()
    uow.audit("contact.delete", [str(contact.id), str(contact.account_id)],
              before=audit_view(contact))
    uow.emit("contact.deleted", str(contact.id), {"id": str(contact.id)})
    return contact


async def load_many(stores: Stores, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Contact]:
    async with stores.read() as session:
        return await repo.get_many(session, ids)


async def pages_by_account(
    stores: Stores, account_ids: Sequence[uuid.UUID], first: int | None, after: str | None
) -> dict[uuid.UUID, Page[Contact]]:
    """One page of contacts for each account, in one statement whatever the number of accounts."""
    limit = check_first(first)
    bound = None if after is None else decode_cursor(after, _CURSOR_KIND, str)
    async with stores.read() as session:
        rows = await repo.pages_by_account(session, account_ids, limit=limit + 1, after=bound)
    return {
        account_id: make_page(
            contacts, limit, lambda row: encode_cursor(_CURSOR_KIND, row.name, row.id),
            has_previous=after is not None,
        )
        for account_id, contacts in rows.items()
    }


async def counts_by_account(
    stores: Stores, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    async with stores.read() as session:
        return await repo.counts_by_account(session, account_ids)
