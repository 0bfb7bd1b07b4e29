"""Customer care: contacts' important dates (the date itself protected like the other
personal contact fields) and the caller's follow-up period for care reminders."""

from __future__ import annotations

import uuid

import strawberry

from auth.masking import MaskKind
from resolvers import care as resolve
from schema.accounts import Info
from schema.directives import guard
from services.contact_dates import DateRecord
from services.vocabulary import ContactDateKind

strawberry.enum(ContactDateKind, name="ContactDateKind",
                description="BIRTHDAY, WORK_ANNIVERSARY, WEDDING_ANNIVERSARY or OTHER (with a "
                            "label).")


@strawberry.type(description="An important date of a contact, for customer-care reminders.")
class ContactImportantDate:
    kind: ContactDateKind = strawberry.field(description="What the date is.")
    label: str = strawberry.field(description="Its name (OTHER dates), else empty.")
    id: strawberry.Private[str]  # the contact's: read audit records name it
    row: strawberry.Private[DateRecord]

    @classmethod
    def of(cls, row: DateRecord) -> ContactImportantDate:
        return cls(kind=ContactDateKind(row.kind), label=row.label, id=str(row.contact_id),
                   row=row)

    @strawberry.field(description="The date, ISO 8601: 1980-05-17, or --05-17 without a "
                                  "year. Personal data.",
                      extensions=guard("contact.importantDates:read", mask_as=MaskKind.FULL))
    def date(self) -> str:
        return self.row.text


async def important_dates(info: Info, contact_id: uuid.UUID) -> list[ContactImportantDate]:
    return [ContactImportantDate.of(row) for row in await resolve.dates_of(info.context,
                                                                           contact_id)]


@strawberry.input(description="Set a contact's important date of one kind.")
class ContactImportantDateSetInput:
    contact_id: strawberry.ID = strawberry.field(description="A contact you may change.")
    kind: ContactDateKind = strawberry.field(description="Which date (one per kind).")
    month: int = strawberry.field(description="1–12.")
    day: int = strawberry.field(description="1–31, a real day of that month.")
    year: int | None = strawberry.field(default=None, description="Year, if known.")
    label: str | None = strawberry.field(default=None,
                                         description="Name of an OTHER date, ≤ 50 characters.")


@strawberry.input(description="Remove a contact's important date.")
class ContactImportantDateRemoveInput:
    contact_id: strawberry.ID = strawberry.field(description="A contact you may change.")
    kind: ContactDateKind = strawberry.field(description="Which date.")


@strawberry.type(description="Result of contactImportantDateSet.")
class ContactImportantDateSetPayload:
    important_date: ContactImportantDate = strawberry.field(description="The date set.")


@strawberry.type(description="Result of contactImportantDateRemove.")
class ContactImportantDateRemovePayload:
    removed: bool = strawberry.field(description="Always true (else an error).")


@strawberry.input(description="Your care settings.")
class CareSettingsUpdateInput:
    follow_up_days: int = strawberry.field(
        description="Days without an interaction after which you get a follow-up reminder "
                    "for an account you own, 1–365.")


@strawberry.type(description="Your care settings.")
class CareSettings:
    follow_up_days: int = strawberry.field(
        description="Days without an interaction before a follow-up reminder (yours, else "
                    "CARE_FOLLOW_UP_DAYS).")


@strawberry.type(description="Result of careSettingsUpdate.")
class CareSettingsUpdatePayload:
    settings: CareSettings = strawberry.field(description="Your settings now.")


async def contact_important_date_set(info: Info, input: ContactImportantDateSetInput
                                     ) -> ContactImportantDateSetPayload:
    row = await resolve.put_date(info.context, str(input.contact_id), kind=input.kind.value,
                                 month=input.month, day=input.day, year=input.year,
                                 label=input.label)
    return ContactImportantDateSetPayload(important_date=ContactImportantDate.of(row))


async def contact_important_date_remove(info: Info, input: ContactImportantDateRemoveInput
                                        ) -> ContactImportantDateRemovePayload:
    return ContactImportantDateRemovePayload(removed=await resolve.remove_date(
        info.context, str(input.contact_id), input.kind.value))


async def care_settings_update(info: Info, input: CareSettingsUpdateInput
                               ) -> CareSettingsUpdatePayload:
    days = await resolve.set_follow_up_days(info.context, input.follow_up_days)
    return CareSettingsUpdatePayload(settings=CareSettings(follow_up_days=days))


@strawberry.type(description="Customer-care reads.")
class CareQueries:
    @strawberry.field(description="Your care settings.", extensions=guard())
    async def my_care_settings(self, info: Info) -> CareSettings:
        return CareSettings(follow_up_days=await resolve.follow_up_days(info.context))


@strawberry.type(description="Customer-care writes.")
class CareMutations:
    contact_important_date_set = strawberry.mutation(
        resolver=contact_important_date_set,
        description="Set a contact's important date (birthday …) for care reminders.",
        extensions=guard("contact:write", audit_as="contact.importantDate"))
    contact_important_date_remove = strawberry.mutation(
        resolver=contact_important_date_remove,
        description="Remove a contact's important date.",
        extensions=guard("contact:write", audit_as="contact.importantDate"))
    care_settings_update = strawberry.mutation(
        resolver=care_settings_update,
        description="Set your own follow-up period for care reminders.",
        extensions=guard(audit_as="care.settings"))
