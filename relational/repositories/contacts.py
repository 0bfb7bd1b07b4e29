"""Contact queries, batched per account for DataLoaders; exact-match search by blind index and
the rows key rotation has to visit. Protected fields are only ever envelopes and index values
here: the plaintext never reaches SQL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from relational.models import Contact
from relational.repositories.visibility import Visibility, contacts_readable

_INDEX: Mapping[str, InstrumentedAttribute[str | None]] = {
    "phone": Contact.phone_bidx, "email": Contact.email_bidx,
    "id_number": Contact.id_number_bidx}
_ENVELOPE: Mapping[str, InstrumentedAttribute[str | None]] = {
    "phone": Contact.phone_enc, "email": Contact.email_enc,
    "id_number": Contact.id_number_enc}


async def pages_by_account(
    session: AsyncSession,
    account_ids: Sequence[uuid.UUID],
    seen: Visibility,
    *,
    limit: int,
    after: tuple[str, uuid.UUID] | None = None,
) -> dict[uuid.UUID, list[Contact]]:
    """The first `limit` visible contacts (by name, id) of each account, in one statement."""
    if not account_ids:
        return {}
    conditions: list[ColumnElement[bool]] = [Contact.account_id.in_(list(set(account_ids))),
                                             contacts_readable(seen)]
    if after is not None:
        conditions.append(tuple_(Contact.name, Contact.id) > tuple_(after[0], after[1]))
    rank = (
        func.row_number()
        .over(partition_by=Contact.account_id, order_by=(Contact.name, Contact.id))
        .label("rank")
    )
    inner = select(Contact, rank).where(*conditions).subquery()
    ranked = select(Contact).from_statement(
        select(inner).where(inner.c.rank <= limit).order_by(
            inner.c.account_id, inner.c.name, inner.c.id
        )
    )
    result: dict[uuid.UUID, list[Contact]] = {account_id: [] for account_id in account_ids}
    for contact in (await session.scalars(ranked)).all():
        result[contact.account_id].append(contact)
    return result


async def counts_by_account(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], seen: Visibility
) -> dict[uuid.UUID, int]:
    statement = (
        select(Contact.account_id, func.count())
        .where(Contact.account_id.in_(list(set(account_ids))), contacts_readable(seen))
        .group_by(Contact.account_id)
    )
    counts = {account_id: 0 for account_id in account_ids}
    for account_id, number in await session.execute(statement):
        counts[account_id] = int(number)
    return counts


async def get_many(
    session: AsyncSession, ids: Sequence[uuid.UUID], seen: Visibility
) -> dict[uuid.UUID, Contact]:
    if not ids:
        return {}
    rows = await session.scalars(
        select(Contact).where(Contact.id.in_(list(set(ids))), contacts_readable(seen)))
    return {row.id: row for row in rows}


async def existing(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` exist, whoever may see them: only to audit an attempt on a hidden one."""
    if not ids:
        return set()
    return set((await session.scalars(select(Contact.id).where(Contact.id.in_(list(set(ids))))))
               .all())


async def get_for_update(
    session: AsyncSession, contact_id: uuid.UUID, seen: Visibility
) -> Contact | None:
    statement = select(Contact).where(
        Contact.id == contact_id, contacts_readable(seen)).with_for_update()
    return (await session.scalars(statement)).one_or_none()


def _matching(indexes: Mapping[str, str]) -> list[ColumnElement[bool]]:
    """Every given field's blind index equals the given value (an empty mapping matches none)."""
    if not indexes:
        raise ValueError("search needs at least one blind-index value")
    return [_INDEX[name] == value for name, value in indexes.items()]


async def search(
    session: AsyncSession,
    indexes: Mapping[str, str],
    seen: Visibility,
    *,
    limit: int,
    after: tuple[str, uuid.UUID] | None = None,
) -> list[Contact]:
    """Visible contacts whose blind indexes equal `indexes` (field -> index), by (name, id)."""
    statement = select(Contact).where(*_matching(indexes), contacts_readable(seen))
    if after is not None:
        statement = statement.where(tuple_(Contact.name, Contact.id) > tuple_(after[0], after[1]))
    statement = statement.order_by(Contact.name, Contact.id).limit(limit)
    return list((await session.scalars(statement)).all())


async def count_matching(
    session: AsyncSession, indexes: Mapping[str, str], seen: Visibility
) -> int:
    statement = select(func.count()).select_from(Contact).where(
        *_matching(indexes), contacts_readable(seen))
    return int(await session.scalar(statement) or 0)


def _needing_keys(prefix: str | None) -> ColumnElement[bool]:
    """Rows holding legacy plaintext or, given the current envelope `prefix`, an envelope
    written under another key version."""
    conditions: list[ColumnElement[bool]] = [
        Contact.legacy_phone.is_not(None), Contact.legacy_email.is_not(None)]
    if prefix is not None:
        conditions += [and_(column.is_not(None), not_(column.startswith(prefix, autoescape=True)))
                       for column in _ENVELOPE.values()]
    return or_(*conditions)


async def lock_needing_keys(
    session: AsyncSession, *, prefix: str | None, after: uuid.UUID | None, limit: int
) -> list[Contact]:
    """The next `limit` rows (by id, after `after`) to encrypt or re-encrypt, locked; rows a
    running transaction holds are skipped rather than waited for."""
    statement = select(Contact).where(_needing_keys(prefix))
    if after is not None:
        statement = statement.where(Contact.id > after)
    statement = statement.order_by(Contact.id).limit(limit).with_for_update(skip_locked=True)
    return list((await session.scalars(statement)).all())


async def count_needing_keys(session: AsyncSession, *, prefix: str | None) -> int:
    statement = select(func.count()).select_from(Contact).where(_needing_keys(prefix))
    return int(await session.scalar(statement) or 0)


async def envelope_versions(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Per protected field: envelopes per key version ("v1": n, …) and "plaintext" rows."""
    result: dict[str, dict[str, int]] = {}
    for name, column in _ENVELOPE.items():
        version = func.split_part(column, ":", 2)
        rows = await session.execute(
            select(version, func.count()).where(column.is_not(None)).group_by(version))
        result[name] = {str(key): int(number) for key, number in rows}
    for name, legacy in (("phone", Contact.legacy_phone), ("email", Contact.legacy_email)):
        count = await session.scalar(select(func.count()).where(legacy.is_not(None)))
        result[name]["plaintext"] = int(count or 0)
    return result
