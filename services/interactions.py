"""Interactions (拜访, 电话, 邮件, 展会, 会议, 投标答疑, 咨询) between our staff and contacts of an
account: logged with their audit record and an `interaction.logged` event, listed per account,
contact or staff user. Notes are sealed with the field cipher and shown only to readers cleared
for the account's classification. Logging one refreshes the KNOWS strengths it is evidence
for (services/knows.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from auth.actor import Actor, Clearance
from auth.field_cipher import CryptoError, FieldCipher
from relational.ledger import Reader
from relational.models import Interaction, InteractionContact
from relational.repositories import accounts as account_repo
from relational.repositories import contacts as contact_repo
from relational.repositories import interactions as repo
from relational.repositories.interactions import InteractionQuery
from relational.uow import UnitOfWork
from services import accounts, knows, policy
from services import validation as check
from services.errors import BadUserInput, Forbidden, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.vocabulary import InteractionChannel, InteractionDirection

MAX_CONTACTS = 50
_NOTES = "notes"


@dataclass(frozen=True)
class InteractionDraft:
    account_id: uuid.UUID
    contact_ids: Sequence[uuid.UUID]
    channel: str  # value or Chinese label
    direction: str
    occurred_at: datetime
    subject: str
    notes: str | None = None


@dataclass(frozen=True)
class InteractionRecord:
    id: uuid.UUID
    account_id: uuid.UUID
    user_id: uuid.UUID
    channel: InteractionChannel
    direction: str
    occurred_at: datetime
    subject: str
    notes: str | None  # None: none written, or the reader is not cleared for them
    contact_ids: tuple[uuid.UUID, ...]
    created_at: datetime


@dataclass(frozen=True)
class InteractionList:
    """Which list: by account, contact or staff user, filtered by channel and period."""

    account_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    channel: str | None = None
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive


def channel_of(name: str, field: str = "channel") -> InteractionChannel:
    try:
        return InteractionChannel.named(name)
    except ValueError:
        labels = ", ".join(f"{c.value} ({c.label})" for c in InteractionChannel)
        raise BadUserInput(f"`{field}` must be one of {labels}", field=field) from None


def _reveal(cipher: FieldCipher, actor: Actor, row: Interaction,
            contact_ids: Sequence[uuid.UUID]) -> InteractionRecord:
    notes = None
    if row.notes is not None and actor.clearance >= Clearance(row.classification):
        try:
            notes = cipher.open(row.id, _NOTES, row.notes)
        except CryptoError:
            notes = None
    return InteractionRecord(
        id=row.id, account_id=row.account_id, user_id=row.user_id,
        channel=InteractionChannel(row.channel), direction=row.direction,
        occurred_at=row.occurred_at, subject=row.subject, notes=notes,
        contact_ids=tuple(contact_ids), created_at=row.created_at)


async def _contacts(uow: UnitOfWork, actor: Actor, account_id: uuid.UUID,
                    ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise BadUserInput("name at least one contact", field="contactIds")
    if len(wanted) > MAX_CONTACTS:
        raise BadUserInput(f"at most {MAX_CONTACTS} `contactIds`", field="contactIds")
    found = await contact_repo.get_many(uow.session, wanted, policy.visibility(actor))
    for contact_id in wanted:
        contact = found.get(contact_id)
        if contact is None:
            hidden = contact_id in await contact_repo.existing(uow.session, [contact_id])
            error = NotFound("no contact with this id", field="contactIds")
            raise policy.out_of_scope("no contact with this id", field="contactIds",
                                      operation="interaction.log",
                                      target_id=contact_id) if hidden else error
        if contact.account_id != account_id:
            raise BadUserInput("every contact must work at `accountId`", field="contactIds")
    return wanted


async def log(uow: UnitOfWork, actor: Actor, cipher: FieldCipher, draft: InteractionDraft,
              today: date, *, refresh: bool = True) -> InteractionRecord:
    """Record an interaction of the calling staff user and refresh their KNOWS strengths (a
    batch writer passes `refresh=False` and calls `knows.refresh` once at the end)."""
    if actor.user_id is None:
        raise Forbidden("interactions are logged by a staff user, not an API token")
    channel = channel_of(draft.channel)
    direction = check.choice(draft.direction, "direction",
                             [item.value for item in InteractionDirection])
    if draft.occurred_at.tzinfo is None:
        raise BadUserInput("`occurredAt` needs a time zone", field="occurredAt")
    if draft.occurred_at.astimezone(UTC).date() > today + timedelta(days=1):
        raise BadUserInput("`occurredAt` is in the future", field="occurredAt")
    subject = check.text(draft.subject, "subject", max_length=200)
    notes = check.optional_text(draft.notes, "notes", max_length=10_000)
    account = (await account_repo.get_many(uow.session, [draft.account_id],
                                           policy.visibility(actor))).get(draft.account_id)
    if account is None:
        raise await accounts.not_found(uow, draft.account_id, "interaction.log",
                                       field="accountId")
    people = await _contacts(uow, actor, account.id, draft.contact_ids)
    row = Interaction(id=uuid.uuid4(), account_id=account.id, user_id=actor.user_id,
                      channel=channel.value, direction=direction,
                      occurred_at=draft.occurred_at.astimezone(UTC), subject=subject,
                      classification=account.classification, created_at=datetime.now(UTC))
    if notes is not None:
        row.notes = cipher.encrypt(row.id, _NOTES, notes)
    uow.session.add(row)
    await uow.session.flush()
    uow.session.add_all([InteractionContact(interaction_id=row.id, contact_id=contact_id)
                         for contact_id in people])
    await uow.session.flush()
    uow.audit("interaction.log", [str(row.id), str(account.id), *map(str, people)], after={
        "accountId": str(account.id), "userId": str(actor.user_id),
        "contactIds": [str(item) for item in people], "channel": channel.value,
        "direction": direction, "occurredAt": row.occurred_at.isoformat(),
        "subject": subject, "hasNotes": notes is not None})
    uow.emit("interaction.logged", str(row.id), {
        "account_id": str(account.id), "user_id": str(actor.user_id),
        "contact_ids": [str(item) for item in people], "channel": channel.value})
    if refresh:
        await knows.refresh(uow, actor.user_id, people, today)
    return replace(_reveal(cipher, actor, row, people), notes=notes)


def _query(actor: Actor, wanted: InteractionList) -> InteractionQuery:
    if wanted.since is not None and wanted.until is not None and wanted.until < wanted.since:
        raise BadUserInput("`until` is before `since`", field="until")
    channel = None if wanted.channel is None else channel_of(wanted.channel).value
    return InteractionQuery(
        seen=policy.visibility(actor), account_id=wanted.account_id,
        contact_id=wanted.contact_id, user_id=wanted.user_id, channel=channel,
        since=None if wanted.since is None else datetime.combine(wanted.since, time(), UTC),
        before=None if wanted.until is None else datetime.combine(
            wanted.until + timedelta(days=1), time(), UTC))


def _kind(wanted: InteractionList) -> str:
    """Cursors are bound to their list: owner and filters."""
    return (f"interactions:{wanted.account_id}:{wanted.contact_id}:{wanted.user_id}:"
            f"{wanted.channel}:{wanted.since}:{wanted.until}")


def _bound(cursor_key: bytes, wanted: InteractionList,
           after: str | None) -> tuple[datetime, uuid.UUID] | None:
    if after is None:
        return None
    return decode_cursor(cursor_key, after, _kind(wanted), datetime.fromisoformat)


def _page(cipher: FieldCipher, actor: Actor, wanted: InteractionList,
          rows: list[tuple[Interaction, list[uuid.UUID]]], limit: int,
          after: str | None) -> Page[InteractionRecord]:
    kind = _kind(wanted)
    page = make_page(rows, limit, lambda item: encode_cursor(
        cipher.blind_key, kind, item[0].occurred_at.isoformat(), item[0].id),
        has_previous=after is not None)
    return page.mapped(lambda item: _reveal(cipher, actor, item[0], item[1]))


async def page(read: Reader, cipher: FieldCipher, actor: Actor, wanted: InteractionList,
               first: int | None, after: str | None) -> Page[InteractionRecord]:
    limit = check_first(first)
    query = replace(_query(actor, wanted), after=_bound(cipher.blind_key, wanted, after))
    async with read() as session:
        rows = await repo.page(session, query, limit + 1)
    return _page(cipher, actor, wanted, rows, limit, after)


async def pages_by_account(read: Reader, cipher: FieldCipher, actor: Actor,
                           account_ids: Sequence[uuid.UUID], wanted: InteractionList,
                           first: int | None,
                           after: str | None) -> dict[uuid.UUID, Page[InteractionRecord]]:
    """The same window of each account's interactions, in one statement. A cursor is bound to
    its own account's list."""
    limit = check_first(first)
    result: dict[uuid.UUID, Page[InteractionRecord]] = {}
    if after is not None:  # a cursor belongs to one account: continue that list alone
        for account_id in account_ids:
            result[account_id] = await page(read, cipher, actor,
                                            replace(wanted, account_id=account_id), first, after)
        return result
    async with read() as session:
        rows = await repo.pages_by_account(session, account_ids, _query(actor, wanted),
                                           limit + 1)
    return {account_id: _page(cipher, actor, replace(wanted, account_id=account_id),
                              found, limit, None) for account_id, found in rows.items()}


async def count(read: Reader, actor: Actor, wanted: InteractionList) -> int:
    async with read() as session:
        return await repo.count(session, _query(actor, wanted))


async def counts_by_account(read: Reader, actor: Actor, account_ids: Sequence[uuid.UUID],
                            wanted: InteractionList) -> dict[uuid.UUID, int]:
    """The length of the same list for each account, in one statement."""
    async with read() as session:
        return await repo.counts_by_account(session, account_ids, _query(actor, wanted))


