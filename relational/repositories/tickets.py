"""Tickets, their history, engineers, SLA policies and the calendar's exceptions. Every read
of tickets starts from the visibility of their account."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from relational.models import Account
from relational.operations_models import (
    CalendarDay,
    ServiceEngineer,
    SlaPolicy,
    Ticket,
    TicketHistory,
)
from relational.repositories.visibility import Visibility, accounts_readable

OPEN_STATES = ("NEW", "ASSIGNED", "IN_PROGRESS", "WAITING_CUSTOMER")


@dataclass(frozen=True)
class TicketQuery:
    visibility: Visibility
    state: str | None = None
    breached: bool | None = None
    assignee_id: uuid.UUID | None = None
    after: tuple[datetime, uuid.UUID] | None = None


def _readable(seen: Visibility) -> ColumnElement[bool]:
    return Ticket.account_id.in_(select(Account.id).where(accounts_readable(seen)))


def _conditions(query: TicketQuery) -> list[ColumnElement[bool]]:
    found = [_readable(query.visibility)]
    if query.state is not None:
        found.append(Ticket.state == query.state)
    if query.breached is not None:
        found.append(Ticket.breached.is_(query.breached))
    if query.assignee_id is not None:
        found.append(Ticket.assignee_id == query.assignee_id)
    return found


async def page(session: AsyncSession, query: TicketQuery, limit: int) -> list[Ticket]:
    """Newest first."""
    conditions = _conditions(query)
    if query.after is not None:
        conditions.append(tuple_(Ticket.created_at, Ticket.id) < tuple_(*query.after))
    return list((await session.scalars(select(Ticket).where(and_(*conditions)).order_by(
        Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))).all())


async def count(session: AsyncSession, query: TicketQuery) -> int:
    return int(await session.scalar(select(func.count()).select_from(Ticket).where(
        and_(*_conditions(query)))) or 0)


async def get_many(session: AsyncSession, ids: Sequence[uuid.UUID],
                   seen: Visibility) -> dict[uuid.UUID, Ticket]:
    rows = await session.scalars(select(Ticket).where(Ticket.id.in_(list(ids)), _readable(seen)))
    return {row.id: row for row in rows}


async def for_update(session: AsyncSession, ticket_id: uuid.UUID,
                     seen: Visibility | None) -> Ticket | None:
    """The ticket, locked; `seen` None: whoever may see it (jobs)."""
    statement = select(Ticket).where(Ticket.id == ticket_id)
    if seen is not None:
        statement = statement.where(_readable(seen))
    return (await session.scalars(statement.with_for_update())).one_or_none()


async def exists(session: AsyncSession, ticket_id: uuid.UUID) -> bool:
    return (await session.scalar(select(Ticket.id).where(Ticket.id == ticket_id))) is not None


async def policy(session: AsyncSession, priority: str, tier: str) -> SlaPolicy | None:
    return await session.get(SlaPolicy, (priority, tier))


async def calendar(session: AsyncSession, start: date, end: date) -> dict[date, bool]:
    rows = await session.scalars(select(CalendarDay).where(CalendarDay.day.between(start, end)))
    return {row.day: row.working for row in rows}


@dataclass(frozen=True)
class Candidate:
    user_id: uuid.UUID
    load: int
    capacity: int


async def candidates(session: AsyncSession, skill: str, region: str) -> list[Candidate]:
    """Active engineers with the skill serving the region (no regions: all of them) and room
    left, least loaded first (open tickets / capacity), then by id. The rows are locked so
    that concurrent dispatches count each other's tickets."""
    load = (select(func.count()).where(Ticket.assignee_id == ServiceEngineer.user_id,
                                       Ticket.state.in_(OPEN_STATES))
            .correlate(ServiceEngineer).scalar_subquery())
    rows = await session.execute(
        select(ServiceEngineer.user_id, load.label("load"), ServiceEngineer.capacity)
        .where(ServiceEngineer.active.is_(True), ServiceEngineer.skills.contains([skill]),
               (func.cardinality(ServiceEngineer.regions) == 0)
               | ServiceEngineer.regions.contains([region]))
        .order_by((load * 1.0 / ServiceEngineer.capacity), ServiceEngineer.user_id)
        .with_for_update(of=ServiceEngineer))
    return [Candidate(row.user_id, int(row.load), row.capacity) for row in rows
            if row.load < row.capacity]


async def engineer(session: AsyncSession, user_id: uuid.UUID) -> ServiceEngineer | None:
    return await session.get(ServiceEngineer, user_id)


async def history(session: AsyncSession,
                  ticket_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[TicketHistory]]:
    rows = await session.scalars(select(TicketHistory).where(
        TicketHistory.ticket_id.in_(list(ticket_ids))).order_by(TicketHistory.id))
    found: dict[uuid.UUID, list[TicketHistory]] = {ticket_id: [] for ticket_id in ticket_ids}
    for row in rows:
        found[row.ticket_id].append(row)
    return found


async def account_for_ticket(session: AsyncSession, account_id: uuid.UUID,
                             seen: Visibility) -> Account | None:
    return (await session.scalars(select(Account).where(
        Account.id == account_id, accounts_readable(seen)))).one_or_none()


async def due_for_sla(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Open, unpaused, unbreached tickets whose resolution is overdue (the bench's burst and a
    safety net for timers)."""
    rows = await session.scalars(select(Ticket.id).where(
        Ticket.state.in_(OPEN_STATES), Ticket.paused_at.is_(None), Ticket.breached.is_(False),
        Ticket.resolve_due_at <= now).limit(limit))
    return list(rows)
