"""Contacts' important dates (birthday, anniversaries …) for customer care: personal data,
so the date itself is read under `contact.importantDates:read` (masked otherwise, and every
read audited like the other protected contact fields) and never written to the audit trail
or a reminder's title. One date per kind; the year is optional."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from auth.actor import Actor
from relational.ledger import Reader
from relational.operations_models import ContactDate
from relational.repositories import contact_dates as repo
from relational.uow import UnitOfWork
from services import contacts
from services import validation as check
from services.errors import BadUserInput, NotFound
from services.vocabulary import ContactDateKind

KINDS = tuple(kind.value for kind in ContactDateKind)


@dataclass(frozen=True)
class DateRecord:
    contact_id: uuid.UUID
    kind: str
    month: int
    day: int
    year: int | None
    label: str

    @property
    def text(self) -> str:
        """ISO 8601: 1980-05-17, or --05-17 without a year."""
        day = f"{self.month:02d}-{self.day:02d}"
        return f"--{day}" if self.year is None else f"{self.year:04d}-{day}"

    @classmethod
    def of(cls, row: ContactDate) -> DateRecord:
        return cls(row.contact_id, row.kind, row.month, row.day, row.year, row.label)


def _valid(kind: str, month: int, day: int, year: int | None, label: str | None) -> str:
    check.choice(kind, "kind", KINDS)
    if year is not None and not 1900 <= year <= datetime.now(UTC).year:
        raise BadUserInput("`year` is between 1900 and this year", field="year")
    try:  # 2000 is a leap year: 29 February is a date without a year
        date(year or 2000, month, day)
    except ValueError:
        raise BadUserInput("`month` and `day` are not a date", field="day") from None
    clean = check.optional_text(label, "label", max_length=50) or ""
    if kind == ContactDateKind.OTHER.value and not clean:
        raise BadUserInput("an OTHER date needs a `label`", field="label")
    return clean


async def put(uow: UnitOfWork, actor: Actor, contact_id: uuid.UUID, *, kind: str, month: int,
              day: int, year: int | None, label: str | None) -> DateRecord:
    """Set the contact's date of this kind (replacing one there was)."""
    clean = _valid(kind, month, day, year, label)
    contact = await contacts.locked(uow, actor, contact_id, "contact.importantDate")
    row = ContactDate(contact_id=contact.id, kind=kind, month=month, day=day, year=year,
                      label=clean)
    await repo.put(uow.session, row)
    # Which date changed, never the date.
    uow.audit("contact.importantDate", [str(contact.id), str(contact.account_id)],
              after={"kind": kind, "changedFields": ["importantDates"]})
    return DateRecord.of(row)


async def remove(uow: UnitOfWork, actor: Actor, contact_id: uuid.UUID, kind: str) -> bool:
    check.choice(kind, "kind", KINDS)
    contact = await contacts.locked(uow, actor, contact_id, "contact.importantDate")
    if not await repo.remove(uow.session, contact.id, kind):
        raise NotFound(f"the contact has no {kind} date", field="kind")
    uow.audit("contact.importantDate", [str(contact.id), str(contact.account_id)],
              after={"kind": kind, "removed": True})
    return True


async def of_contacts(read: Reader,
                      ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[DateRecord]]:
    """The dates of contacts the caller has already loaded (so may see)."""
    async with read() as session:
        found = await repo.of_contacts(session, ids)
    return {key: [DateRecord.of(row) for row in rows] for key, rows in found.items()}
