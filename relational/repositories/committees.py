"""Buying committee members and their stored influence scores. A committee is keyed by its
account and its opportunity (`Key`; opportunity None: the account's own committee)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple, cast

import psycopg
from sqlalchemy import ColumnElement, and_, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from relational.models import CommitteeMember, Contact, InfluenceScore
from relational.pipeline_models import Opportunity


class Key(NamedTuple):
    """A committee: the account's own (`opportunity_id` None) or one opportunity's."""

    account_id: uuid.UUID
    opportunity_id: uuid.UUID | None = None

    def sort_key(self) -> tuple[str, str]:
        return str(self.account_id), str(self.opportunity_id or "")


def key_of(row: CommitteeMember | InfluenceScore) -> Key:
    return Key(row.account_id, row.opportunity_id)


def _of(model: type[CommitteeMember] | type[InfluenceScore],
        keys: Sequence[Key]) -> ColumnElement[bool]:
    """Rows of these committees (the NULL opportunity compared through a placeholder)."""
    column = model.opportunity_id
    if not keys:
        return false()
    return or_(*(and_(model.account_id == key.account_id,
                      column.is_(None) if key.opportunity_id is None
                      else column == key.opportunity_id)
                 for key in sorted(set(keys), key=Key.sort_key)))


def _on(on: date) -> ColumnElement[bool]:
    return and_(CommitteeMember.valid_from <= on,
                or_(CommitteeMember.valid_to.is_(None), CommitteeMember.valid_to >= on))


async def members(session: AsyncSession, keys: Sequence[Key],
                  on: date) -> dict[Key, list[CommitteeMember]]:
    """The members of each committee on `on` (by start, id)."""
    if not keys:
        return {}
    rows = await session.scalars(
        select(CommitteeMember).where(_of(CommitteeMember, keys), _on(on))
        .order_by(CommitteeMember.account_id, CommitteeMember.valid_from, CommitteeMember.id))
    found: dict[Key, list[CommitteeMember]] = {key: [] for key in keys}
    for row in rows:
        found[key_of(row)].append(row)
    return found


async def all_members(session: AsyncSession, on: date) -> dict[Key, list[CommitteeMember]]:
    """Every committee's members on `on` (full recomputes)."""
    rows = await session.scalars(
        select(CommitteeMember).where(_on(on))
        .order_by(CommitteeMember.account_id, CommitteeMember.valid_from, CommitteeMember.id))
    found: dict[Key, list[CommitteeMember]] = {}
    for row in rows:
        found.setdefault(key_of(row), []).append(row)
    return found


async def roles_of_opportunities(session: AsyncSession, opportunity_ids: Sequence[uuid.UUID],
                                 on: date) -> dict[uuid.UUID, list[list[str]]]:
    """In one statement, the roles of each current member of each opportunity's committee, or
    of its account's committee when the opportunity has none."""
    if not opportunity_ids:
        return {}
    mine = aliased(CommitteeMember)
    own = select(mine.id).where(
        mine.opportunity_id == Opportunity.id, mine.valid_from <= on,
        or_(mine.valid_to.is_(None), mine.valid_to >= on)).exists()
    rows = await session.execute(
        select(Opportunity.id, CommitteeMember.roles)
        .join(CommitteeMember, CommitteeMember.account_id == Opportunity.account_id)
        .where(Opportunity.id.in_(list(set(opportunity_ids))), _on(on),
               or_(CommitteeMember.opportunity_id == Opportunity.id,
                   and_(CommitteeMember.opportunity_id.is_(None), ~own))))
    found: dict[uuid.UUID, list[list[str]]] = {}
    for opportunity_id, roles in rows:
        found.setdefault(opportunity_id, []).append(list(roles))
    return found


_SCORE_COLUMNS = ("account_id", "opportunity_id", "contact_id", "influence", "betweenness",
                  "explanation", "computed_at")
_COPY_SCORES = f"COPY influence_scores ({', '.join(_SCORE_COLUMNS)}) FROM STDIN"


async def _copy_scores(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Inserts score rows with COPY, in the session's transaction (a full recompute writes
    about a million: row-by-row INSERTs took minutes)."""
    connection = await (await session.connection()).get_raw_connection()
    driver = cast("psycopg.AsyncConnection[Any]", connection.driver_connection)
    async with driver.cursor().copy(_COPY_SCORES) as copy:
        for row in rows:
            await copy.write_row((row["account_id"], row["opportunity_id"], row["contact_id"],
                                  row["influence"], row["betweenness"],
                                  json.dumps(row["explanation"], ensure_ascii=False),
                                  row["computed_at"]))


async def replace_all_scores(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    """Every stored score becomes `rows` (account_id, opportunity_id, contact_id, influence,
    betweenness, explanation, computed_at)."""
    await session.execute(delete(InfluenceScore))
    await _copy_scores(session, rows)


async def get(session: AsyncSession, member_id: uuid.UUID) -> CommitteeMember | None:
    return (await session.scalars(select(CommitteeMember).where(
        CommitteeMember.id == member_id).with_for_update())).one_or_none()


async def open_membership(session: AsyncSession, account_id: uuid.UUID, contact_id: uuid.UUID,
                          opportunity_id: uuid.UUID | None) -> CommitteeMember | None:
    statement = select(CommitteeMember).where(
        _of(CommitteeMember, [Key(account_id, opportunity_id)]),
        CommitteeMember.contact_id == contact_id, CommitteeMember.valid_to.is_(None))
    return (await session.scalars(statement)).one_or_none()


async def committees_with_members(session: AsyncSession,
                                  contact_ids: Sequence[uuid.UUID]) -> set[Key]:
    """Committees (any period) with one of these contacts."""
    if not contact_ids:
        return set()
    rows = await session.execute(select(
        CommitteeMember.account_id, CommitteeMember.opportunity_id).distinct().where(
        CommitteeMember.contact_id.in_(list(set(contact_ids)))))
    return {Key(account_id, opportunity_id) for account_id, opportunity_id in rows}


class StoredScore(NamedTuple):
    influence: float
    betweenness: float
    explanation: list[dict[str, Any]]
    computed_at: datetime


async def scores(session: AsyncSession, key: Key) -> dict[uuid.UUID, StoredScore]:
    """The committee's stored scores by contact (columns, not entities: a map reads hundreds)."""
    rows = await session.execute(select(
        InfluenceScore.contact_id, InfluenceScore.influence, InfluenceScore.betweenness,
        InfluenceScore.explanation, InfluenceScore.computed_at).where(
        _of(InfluenceScore, [key])))
    return {contact_id: StoredScore(influence, betweenness, explanation, computed_at)
            for contact_id, influence, betweenness, explanation, computed_at in rows}


async def replace_scores(session: AsyncSession, key: Key, rows: Sequence[dict[str, Any]],
                         computed_at: datetime) -> None:
    """The committee's stored scores become `rows` (contact_id, influence, betweenness,
    explanation); contacts deleted meanwhile are skipped."""
    await session.execute(delete(InfluenceScore).where(_of(InfluenceScore, [key])))
    wanted = [row["contact_id"] for row in rows]
    alive = set((await session.scalars(select(Contact.id).where(Contact.id.in_(wanted)))).all()
                ) if wanted else set()
    await _copy_scores(session, ({**row, "account_id": key.account_id,
                                  "opportunity_id": key.opportunity_id,
                                  "computed_at": computed_at}
                                 for row in rows if row["contact_id"] in alive))


async def seatable(session: AsyncSession, account_ids: Sequence[uuid.UUID]
                   ) -> tuple[set[uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
    """(demo data) The accounts whose own committee has a decision maker at any time, and the
    first contact (by id) of each account."""
    if not account_ids:
        return set(), {}
    wanted = list(set(account_ids))
    decided = set((await session.scalars(select(CommitteeMember.account_id).distinct().where(
        CommitteeMember.account_id.in_(wanted), CommitteeMember.opportunity_id.is_(None),
        CommitteeMember.roles.any_() == "DECISION_MAKER"))).all())
    firsts = await session.execute(
        select(Contact.account_id, Contact.id).distinct(Contact.account_id)
        .where(Contact.account_id.in_(wanted)).order_by(Contact.account_id, Contact.id))
    return decided, {account_id: contact_id for account_id, contact_id in firsts}
