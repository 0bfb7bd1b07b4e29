"""Contact types, inputs and payloads."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from auth.masking import MaskKind
from resolvers import accounts as resolve_accounts
from resolvers import contacts as resolve
from resolvers.ids import to_global_id
from schema.accounts import Account, Info
from schema.care import ContactImportantDate, important_dates
from schema.common import AfterArg, FirstArg, edges, page_info
from schema.directives import guard
from schema.writes import GraphWrite
from services.accounts import AccountRecord
from services.contact_fields import ContactRecord
from services.contacts import ContactDraft
from services.contacts import ContactFilter as ContactMatch
from services.pagination import Page

if TYPE_CHECKING:
    from schema.interactions import InteractionConnection
    from services.vocabulary import InteractionChannel


@strawberry.interface(description="A contact as seen in a relationship traversal: either the "
                                   "Contact, or a stub when it is outside the reader's scope.")
class ContactRef:
    id: strawberry.ID = strawberry.field(description="Global id.")
    restricted: bool = strawberry.field(
        description="True for a stub of a contact the reader may not see.")


@strawberry.type(description="A contact outside the reader's scope (or clearance): only its "
                             "id, so a map or a committee keeps its shape and nothing leaks.")
class RestrictedContact(ContactRef):
    pass


@strawberry.type(description="A person at an account.")
class Contact(relay.Node, ContactRef):
    id: relay.NodeID[str]  # type: ignore[assignment]  # the Node global id satisfies ContactRef
    restricted: bool = strawberry.field(default=False, description="Always false.")
    name: str = strawberry.field(description="Full name.")
    title: str | None = strawberry.field(description="Job title.")
    department: str | None = strawberry.field(description="Department at the account.")
    works_since: date | None = strawberry.field(description="At the account since this day.")
    works_until: date | None = strawberry.field(
        description="At the account until this day (inclusive); null while there.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    updated_at: datetime = strawberry.field(description="Last change (UTC).")
    account_id: strawberry.Private[uuid.UUID]
    record: strawberry.Private[ContactRecord]

    @classmethod
    def from_row(cls, row: ContactRecord) -> Contact:
        return cls(id=str(row.id), name=row.name, title=row.title, department=row.department,
                   works_since=row.works_since, works_until=row.works_until,
                   created_at=row.created_at,
                   updated_at=row.updated_at, account_id=row.account_id, record=row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Contact | None]:
        rows = [await resolve.contact(info.context, to_global_id("Contact", node_id))
                for node_id in node_ids]
        return [None if row is None else cls.from_row(row) for row in rows]

    # Protected fields: encrypted at rest; a value that fails its integrity check is null
    # with an INTERNAL error on this field only.
    @strawberry.field(description="Phone number (encrypted at rest).", extensions=guard(
        "contact.phone:read", mask_as=MaskKind.PHONE))
    def phone(self) -> str | None:
        return self.record.protected("phone")

    @strawberry.field(description="E-mail address (encrypted at rest).", extensions=guard(
        "contact.email:read", mask_as=MaskKind.EMAIL))
    def email(self) -> str | None:
        return self.record.protected("email")

    @strawberry.field(description="居民身份证号, 18 characters (encrypted at rest).",
                      extensions=guard("contact.idNumber:read", mask_as=MaskKind.ID_NUMBER))
    def id_number(self) -> str | None:
        return self.record.protected("id_number")

    @strawberry.field(description="Important dates (birthday …) for customer-care reminders; "
                                  "each date itself is personal data.",
                      extensions=guard("contact:read"))
    async def important_dates(self, info: Info) -> list[ContactImportantDate]:
        return await important_dates(info, self.record.id)

    @strawberry.field(description="Interactions of our staff with this person, newest first.",
                      extensions=guard("interaction:read"))
    async def interactions(
        self, info: Info, first: FirstArg = 20, after: AfterArg = None,
        channel: Annotated[Annotated[InteractionChannel, strawberry.lazy(
            "schema.interactions")] | None, strawberry.argument(
            description="Only this channel.")] = None,
        since: Annotated[date | None, strawberry.argument(
            description="From this day (UTC).")] = None,
        until: Annotated[date | None, strawberry.argument(
            description="Up to this day (UTC), inclusive.")] = None,
    ) -> Annotated[InteractionConnection, strawberry.lazy("schema.interactions")]:
        from schema.interactions import contact_interactions, wanted_of

        return await contact_interactions(info, self.record.id, first, after,
                                          wanted_of(channel, since, until))

    @strawberry.field(description="The company this person works at.",
                      extensions=guard("account:read"))
    async def account(self, info: Info) -> Account:
        return Account.from_row(await resolve_accounts.require(info.context, self.account_id))


@strawberry.type(description="A page of contacts.")
class ContactConnection(relay.Connection[Contact]):
    source: strawberry.Private[AccountRecord | ContactMatch]

    @classmethod
    def of(cls, page: Page[ContactRecord],
           source: AccountRecord | ContactMatch) -> ContactConnection:
        return cls(page_info=page_info(page), edges=edges(page, Contact.from_row), source=source)

    @strawberry.field(description="Number of contacts in this list (all pages).")
    async def total_count(self, info: Info) -> int:
        if isinstance(self.source, ContactMatch):
            return await resolve.count_matching(info.context, self.source)
        return await resolve.count_of(info.context, self.source)


@strawberry.input(description="Exact match on protected contact fields; every given field must "
                              "match, at least one must be given. Phone formatting (+86, spaces, "
                              "dashes), e-mail case and ID-card spacing are ignored.")
class ContactFilter:
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    email: str | None = strawberry.field(default=None, description="E-mail address.")
    id_number: str | None = strawberry.field(default=None, description="居民身份证号.")

    def match(self) -> ContactMatch:
        return ContactMatch(phone=self.phone, email=self.email, id_number=self.id_number)


async def contacts_connection(
    info: Info, filter: ContactFilter, first: int | None, after: str | None
) -> ContactConnection:
    # Searching by a protected field tells whether a value exists: security work will restrict
    # who may filter on each field, like who may read it.
    wanted = filter.match()
    page = await resolve.search(info.context, wanted, first, after)
    return ContactConnection.of(page, wanted)


@strawberry.input(description="A new contact at an account.")
class ContactCreateInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    name: str = strawberry.field(description="Full name.")
    title: str | None = strawberry.field(default=None, description="Job title.")
    department: str | None = strawberry.field(default=None, description="Department.")
    works_since: date | None = strawberry.field(default=None,
                                                description="At the account since this day.")
    works_until: date | None = strawberry.field(
        default=None, description="At the account until this day (inclusive).")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    email: str | None = strawberry.field(default=None, description="E-mail address.")
    id_number: str | None = strawberry.field(
        default=None, description="居民身份证号: 18 characters with a valid GB 11643 check "
                                  "character.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Makes the create safe to retry: a retry with the same key "
                                  "(by the same user, within the retention) answers the first "
                                  "result; the same key with a different input is refused.")


@strawberry.input(description="Changes to a contact; omitted fields stay, null clears.")
class ContactUpdateInput:
    id: strawberry.ID = strawberry.field(description="The contact.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Full name.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="Job title.")
    department: str | None = strawberry.field(default=strawberry.UNSET,
                                              description="Department.")
    works_since: date | None = strawberry.field(default=strawberry.UNSET,
                                                description="At the account since this day.")
    works_until: date | None = strawberry.field(default=strawberry.UNSET,
                                                description="Until this day (inclusive).")
    phone: str | None = strawberry.field(default=strawberry.UNSET, description="Phone.")
    email: str | None = strawberry.field(default=strawberry.UNSET, description="E-mail.")
    id_number: str | None = strawberry.field(default=strawberry.UNSET,
                                             description="居民身份证号.")

    def changes(self) -> dict[str, object]:
        given = {"name": self.name, "title": self.title, "phone": self.phone,
                 "email": self.email, "id_number": self.id_number,
                 "department": self.department, "works_since": self.works_since,
                 "works_until": self.works_until}
        return {key: value for key, value in given.items() if value is not strawberry.UNSET}


@strawberry.input(description="Delete a contact.")
class ContactDeleteInput:
    id: strawberry.ID = strawberry.field(description="The contact.")


@strawberry.type(description="Result of contactCreate / contactUpdate.")
class ContactPayload(GraphWrite):
    contact: Contact = strawberry.field(description="The contact.")


@strawberry.type(description="Result of contactDelete.")
class ContactDeletePayload(GraphWrite):
    deleted_contact_id: strawberry.ID = strawberry.field(description="Id of the deleted contact.")


async def contact_create(info: Info, input: ContactCreateInput) -> ContactPayload:
    draft = ContactDraft(name=input.name, title=input.title, phone=input.phone,
                         email=input.email, id_number=input.id_number,
                         department=input.department, works_since=input.works_since,
                         works_until=input.works_until)
    row = await resolve.create(info.context, str(input.account_id), draft,
                               input.idempotency_key)
    return ContactPayload(contact=Contact.from_row(row))


async def contact_update(info: Info, input: ContactUpdateInput) -> ContactPayload:
    row = await resolve.update(info.context, str(input.id), input.changes())
    return ContactPayload(contact=Contact.from_row(row))


async def contact_delete(info: Info, input: ContactDeleteInput) -> ContactDeletePayload:
    row = await resolve.delete(info.context, str(input.id))
    return ContactDeletePayload(deleted_contact_id=strawberry.ID(to_global_id("Contact", row.id)))


async def contact_ref(info: Info, contact_id: uuid.UUID) -> ContactRef:
    """The contact, or a restricted stub when the reader may not see it."""
    row = await resolve.contact_by_uuid(info.context, contact_id)
    if row is None:
        return RestrictedContact(id=strawberry.ID(to_global_id("Contact", contact_id)),
                                 restricted=True)
    return Contact.from_row(row)
