"""Contact use cases: people at an account. Phone, e-mail and ID-card number are encrypted here
on write and decrypted here on read (`services.contact_fields`); below this layer they exist
only as envelopes and blind indexes, and the audit trail, outbox and graph never see them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from auth.actor import Actor
from auth.field_cipher import FieldCipher
from graph import rows as graph_rows
from relational.ledger import Reader
from relational.models import Contact
from relational.repositories import accounts as account_repo
from relational.repositories import contacts as repo
from relational.uow import UnitOfWork
from services import accounts, idempotency, policy, relationships
from services import contact_fields as fields
from services import validation as check
from services.contact_fields import PROTECTED, PUBLIC_NAMES, ContactRecord
from services.errors import BadUserInput, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page

_CURSOR_KIND = "contacts"
_SEARCH_CURSOR_KIND = "contactSearch"
_EDITABLE = ("name", "title", "phone", "email", "id_number", "department", "works_since",
             "works_until")


@dataclass(frozen=True)
class ContactDraft:
    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    # Where the person works at the account: department and the period (inclusive).
    department: str | None = None
    works_since: date | None = None
    works_until: date | None = None


@dataclass(frozen=True)
class ContactFilter:
    """Exact match on protected fields (all given ones must match), through blind indexes."""

    phone: str | None = None
    email: str | None = None
    id_number: str | None = None


def _validated(draft: ContactDraft) -> ContactDraft:
    return ContactDraft(
        name=check.text(draft.name, "name", max_length=100),
        title=check.optional_text(draft.title, "title", max_length=100),
        phone=fields.phone(draft.phone),
        email=fields.email(draft.email),
        id_number=fields.id_number(draft.id_number),
        department=check.optional_text(draft.department, "department", max_length=100),
        works_since=draft.works_since,
        works_until=_until(draft.works_since, draft.works_until),
    )


def _until(since: date | None, until: date | None) -> date | None:
    if since is not None and until is not None and until < since:
        raise BadUserInput("`worksUntil` is before `worksSince`", field="worksUntil")
    return until


def audit_view(contact: Contact) -> dict[str, Any]:
    """Protected fields are personal data: the audit trail records that they are set and that
    they changed, never their values."""
    return {
        "accountId": str(contact.account_id),
        "name": contact.name,
        "title": contact.title,
        "department": contact.department,
        "worksSince": None if contact.works_since is None else contact.works_since.isoformat(),
        "worksUntil": None if contact.works_until is None else contact.works_until.isoformat(),
        "hasPhone": fields.has(contact, "phone"),
        "hasEmail": fields.has(contact, "email"),
        "hasIdNumber": fields.has(contact, "id_number"),
    }


def graph_row(contact: Contact) -> dict[str, Any]:
    return graph_rows.contact_row(contact_id=contact.id, account_id=contact.account_id,
                                  name=contact.name, title=contact.title)


async def create(
    uow: UnitOfWork, actor: Actor, cipher: FieldCipher, account_id: uuid.UUID,
    draft: ContactDraft, key: idempotency.Key | None = None,
) -> ContactRecord:
    """A new contact; under an idempotency `key` a retry answers the contact first created."""
    request = {"accountId": str(account_id), **asdict(draft)}
    return await idempotency.once(
        uow, actor, key, "contact.create", request, secret=cipher.blind_key,
        run=lambda: _create(uow, actor, cipher, account_id, draft),
        result=lambda made: {"id": str(made.id)},
        replay=lambda stored: _created(uow, actor, cipher, uuid.UUID(stored["id"])))


async def _created(
    uow: UnitOfWork, actor: Actor, cipher: FieldCipher, contact_id: uuid.UUID
) -> ContactRecord:
    found = await repo.get_many(uow.session, [contact_id], policy.visibility(actor))
    if contact_id not in found:
        raise NotFound("the contact this idempotencyKey created no longer exists",
                       field="idempotencyKey")
    return fields.reveal(cipher, found[contact_id])


async def _create(
    uow: UnitOfWork, actor: Actor, cipher: FieldCipher, account_id: uuid.UUID,
    draft: ContactDraft,
) -> ContactRecord:
    valid = _validated(draft)
    seen = policy.visibility(actor)
    if await account_repo.get_for_update(uow.session, account_id, seen) is None:
        raise await accounts.not_found(uow, account_id, "contact.create", field="accountId")
    contact = Contact(id=uuid.uuid4(), account_id=account_id, name=valid.name, title=valid.title,
                      department=valid.department, works_since=valid.works_since,
                      works_until=valid.works_until)
    clear = {name: getattr(valid, name) for name in PROTECTED}
    for name, value in clear.items():
        fields.seal(cipher, contact, name, value)
    uow.session.add(contact)
    await uow.session.flush()
    uow.audit("contact.create", [str(contact.id), str(account_id)], after=audit_view(contact))
    uow.emit("contact.created", str(contact.id), graph_row(contact))
    return fields.record_of(contact, clear)


async def _locked(
    uow: UnitOfWork, actor: Actor, contact_id: uuid.UUID, operation: str
) -> Contact:
    contact = await repo.get_for_update(uow.session, contact_id, policy.visibility(actor))
    if contact is None:
        if contact_id in await repo.existing(uow.session, [contact_id]):
            raise policy.out_of_scope("no contact with this id", field="id",
                                      operation=operation, target_id=contact_id)
        raise NotFound("no contact with this id", field="id")
    return contact


async def locked(uow: UnitOfWork, actor: Actor, contact_id: uuid.UUID,
                 operation: str) -> Contact:
    """The contact locked for a write by `actor`; NOT_FOUND if missing or out of scope."""
    return await _locked(uow, actor, contact_id, operation)


async def update(
    uow: UnitOfWork, actor: Actor, cipher: FieldCipher, contact_id: uuid.UUID,
    changes: dict[str, Any],
) -> ContactRecord:
    """`changes` holds only the given fields; an explicit None clears all but the name. A
    protected field that no longer decrypts can be overwritten; untouched, it stays as it is."""
    contact = await _locked(uow, actor, contact_id, "contact.update")
    current = fields.reveal(cipher, contact)
    before = audit_view(contact)
    merged = {**{name: getattr(current, name) for name in _EDITABLE}, **changes}
    if merged["name"] is None:
        raise BadUserInput("`name` must not be empty", field="name")
    valid = _validated(ContactDraft(
        name=str(merged["name"]), title=merged["title"], phone=merged["phone"],
        email=merged["email"], id_number=merged["id_number"], department=merged["department"],
        works_since=merged["works_since"], works_until=merged["works_until"]))
    changed = [name for name in _EDITABLE if getattr(valid, name) != getattr(current, name)
               or (name in current.unreadable and name in changes)]
    if not changed:
        return current
    contact.name, contact.title = valid.name, valid.title
    contact.department = valid.department
    contact.works_since, contact.works_until = valid.works_since, valid.works_until
    # Legacy plaintext still on the row is encrypted by any write to it.
    for name in set(changed).intersection(PROTECTED) | fields.legacy_fields(contact):
        fields.seal(cipher, contact, name, getattr(valid, name))
    contact.version += 1
    contact.updated_at = datetime.now(UTC)
    await uow.session.flush()
    # Names of the changed fields make a phone-only change visible without recording the number.
    uow.audit("contact.update", [str(contact.id), str(contact.account_id)], before=before,
              after={**audit_view(contact),
                     "changedFields": [PUBLIC_NAMES.get(name, name) for name in changed]})
    uow.emit("contact.updated", str(contact.id), graph_row(contact))
    clear = {name: getattr(valid, name) for name in PROTECTED}
    return fields.record_of(contact, clear, current.unreadable.difference(changed))


async def delete(
    uow: UnitOfWork, actor: Actor, cipher: FieldCipher, contact_id: uuid.UUID
) -> ContactRecord:
    contact = await _locked(uow, actor, contact_id, "contact.delete")
    record = fields.reveal(cipher, contact)
    await relationships.forget_contact(uow, contact.id)
    await uow.session.delete(contact)
    await uow.session.flush()
    uow.audit("contact.delete", [str(contact.id), str(contact.account_id)],
              before=audit_view(contact))
    uow.emit("contact.deleted", str(contact.id), {"id": str(contact.id)})
    return record


async def load_many(
    read: Reader, cipher: FieldCipher, actor: Actor, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ContactRecord]:
    async with read() as session:
        rows = await repo.get_many(session, ids, policy.visibility(actor))
    return {contact_id: fields.reveal(cipher, row) for contact_id, row in rows.items()}


def _page(
    cipher: FieldCipher, rows: list[Contact], limit: int, kind: str, after: str | None
) -> Page[ContactRecord]:
    secret = cipher.blind_key
    return make_page([fields.reveal(cipher, row) for row in rows], limit,
                     lambda item: encode_cursor(secret, kind, item.name, item.id),
                     has_previous=after is not None)


async def pages_by_account(
    read: Reader, cipher: FieldCipher, actor: Actor, account_ids: Sequence[uuid.UUID],
    first: int | None,
    after: str | None,
) -> dict[uuid.UUID, Page[ContactRecord]]:
    """One page of contacts for each account, in one statement whatever the number of accounts."""
    limit = check_first(first)
    bound = None if after is None else decode_cursor(cipher.blind_key, after,
                                                     _CURSOR_KIND, str)
    async with read() as session:
        rows = await repo.pages_by_account(session, account_ids, policy.visibility(actor),
                                           limit=limit + 1, after=bound)
    return {account_id: _page(cipher, contacts, limit, _CURSOR_KIND, after)
            for account_id, contacts in rows.items()}


async def counts_by_account(
    read: Reader, cipher: FieldCipher, actor: Actor, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    async with read() as session:
        return await repo.counts_by_account(session, account_ids, policy.visibility(actor))


def _indexes(actor: Actor, cipher: FieldCipher, wanted: ContactFilter) -> dict[str, str]:
    """Blind-index values of the given filter fields; refuses an empty filter, which would
    turn an exact lookup into a listing of every contact. Filtering on a field needs the
    permission to read it, or the search would be an oracle for its value."""
    indexes: dict[str, str] = {}
    for name in PROTECTED:
        value: str | None = getattr(wanted, name)
        if value is None:
            continue
        policy.check(actor, f"contact.{PUBLIC_NAMES.get(name, name)}:read")
        try:
            indexes[name] = cipher.index(name, value)
        except ValueError:
            raise BadUserInput(f"`{PUBLIC_NAMES[name]}` has nothing to search for",
                               field=PUBLIC_NAMES[name]) from None
    if not indexes:
        raise BadUserInput("give at least one of phone, email, idNumber", field="filter")
    return indexes


async def search(
    read: Reader, cipher: FieldCipher, actor: Actor, wanted: ContactFilter, first: int | None,
    after: str | None,
) -> Page[ContactRecord]:
    """Contacts matching every given protected field exactly (phone formatting, e-mail case
    and ID-card spacing do not matter), by name."""
    indexes = _indexes(actor, cipher, wanted)
    limit = check_first(first)
    bound = None if after is None else decode_cursor(cipher.blind_key, after,
                                                     _SEARCH_CURSOR_KIND, str)
    async with read() as session:
        rows = await repo.search(session, indexes, policy.visibility(actor), limit=limit + 1,
                                 after=bound)
    return _page(cipher, rows, limit, _SEARCH_CURSOR_KIND, after)


async def count_matching(read: Reader, cipher: FieldCipher, actor: Actor,
                         wanted: ContactFilter) -> int:
    indexes = _indexes(actor, cipher, wanted)
    async with read() as session:
        return await repo.count_matching(session, indexes, policy.visibility(actor))
