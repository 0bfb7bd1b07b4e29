"""What customer-care reminders are made from: quiet accounts, signed contracts' anniversaries
and term ends, contacts' important dates; the reminder tasks, inserted once per key; and the
users' own follow-up periods. Dates are days in China time (`tz`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.operations_models import CarePreference, UserTask

TZ = "Asia/Shanghai"
# A contract superseded by a signed amendment has no anniversary or renewal of its own.
_LIVE_CONTRACT = """c.status = 'SIGNED' AND NOT EXISTS (
    SELECT 1 FROM contracts n WHERE n.amends_id = c.id AND n.status = 'SIGNED')"""


@dataclass(frozen=True)
class QuietAccount:
    account_id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    due_on: date
    days: int


@dataclass(frozen=True)
class LiveContract:
    contract_id: uuid.UUID
    number: int
    owner_id: uuid.UUID
    account_name: str
    signed_on: date
    ends_on: date | None


@dataclass(frozen=True)
class ImportantDate:
    contact_id: uuid.UUID
    contact_name: str
    classification: int
    owner_id: uuid.UUID
    kind: str
    label: str
    month: int
    day: int


@dataclass(frozen=True)
class NewTask:
    user_id: uuid.UUID
    kind: str
    title: str
    due_at: datetime
    ref_type: str
    ref_id: uuid.UUID
    dedupe_key: str


async def quiet_accounts(session: AsyncSession, today: date, default_days: int,
                         limit: int) -> list[QuietAccount]:
    """Owned, not churned accounts whose owner's follow-up period (their own, else
    `default_days`) has run out since the last interaction (or since the account was made),
    and whose follow-up for that day does not exist yet."""
    rows = await session.execute(text(f"""
        SELECT q.id, q.owner_id, q.name, q.due_on, q.days FROM (
            SELECT a.id, a.owner_id, a.name, coalesce(p.follow_up_days, :default_days) AS days,
                   (greatest(a.created_at, coalesce(last.at, a.created_at)) AT TIME ZONE '{TZ}'
                   )::date + coalesce(p.follow_up_days, :default_days) AS due_on
            FROM accounts a
            JOIN users u ON u.id = a.owner_id AND u.active
            LEFT JOIN care_preferences p ON p.user_id = a.owner_id
            LEFT JOIN LATERAL (SELECT max(i.occurred_at) AS at FROM interactions i
                               WHERE i.account_id = a.id) last ON true
            WHERE a.lifecycle_stage <> 'CHURNED') q
        WHERE q.due_on <= :today AND NOT EXISTS (
            SELECT 1 FROM user_tasks t WHERE t.user_id = q.owner_id
            AND t.dedupe_key = 'care.follow_up:' || q.id || ':' || to_char(q.due_on,
                                                                          'YYYY-MM-DD'))
        ORDER BY q.due_on, q.id LIMIT :limit"""),  # noqa: S608 - TZ is a constant
        {"default_days": default_days, "today": today, "limit": limit})
    return [QuietAccount(*row) for row in rows]


async def contracts_on(session: AsyncSession, month_days: list[str], ends_from: date,
                       ends_until: date) -> list[LiveContract]:
    """Live signed contracts signed on one of `month_days` ('MM-DD', China time), or whose
    term ends between the two days; with the deal owner who is reminded."""
    rows = await session.execute(text(f"""
        SELECT c.id, c.number, o.owner_id, a.name, (c.signed_at AT TIME ZONE '{TZ}')::date,
               c.ends_on
        FROM contracts c
        JOIN opportunities o ON o.id = c.opportunity_id
        JOIN accounts a ON a.id = c.account_id
        JOIN users u ON u.id = o.owner_id AND u.active
        WHERE {_LIVE_CONTRACT} AND c.signed_at IS NOT NULL
          AND (to_char(c.signed_at AT TIME ZONE '{TZ}', 'MM-DD') = ANY(:month_days)
               OR c.ends_on BETWEEN :ends_from AND :ends_until)
        ORDER BY c.id"""),  # noqa: S608 - constants of this module
        {"month_days": month_days, "ends_from": ends_from, "ends_until": ends_until})
    return [LiveContract(*row) for row in rows]


async def important_dates_on(session: AsyncSession,
                             month_days: list[tuple[int, int]]) -> list[ImportantDate]:
    """Important dates falling on one of `month_days`, of contacts of owned accounts."""
    if not month_days:
        return []
    rows = await session.execute(text("""
        SELECT d.contact_id, c.name, c.classification, a.owner_id, d.kind, d.label, d.month,
               d.day
        FROM contact_dates d
        JOIN contacts c ON c.id = d.contact_id
        JOIN accounts a ON a.id = c.account_id
        JOIN users u ON u.id = a.owner_id AND u.active
        WHERE (d.month, d.day) IN (SELECT * FROM unnest(CAST(:months AS smallint[]),
                                                       CAST(:days AS smallint[])))
        ORDER BY d.contact_id, d.kind"""),
        {"months": [month for month, _ in month_days], "days": [day for _, day in month_days]})
    return [ImportantDate(*row) for row in rows]


async def add_tasks(session: AsyncSession, tasks: list[NewTask]) -> list[tuple[uuid.UUID,
                                                                               datetime]]:
    """Insert the tasks whose (user, key) is new; (id, due) of those inserted."""
    if not tasks:
        return []
    rows = await session.execute(
        insert(UserTask).values([{
            "id": uuid.uuid4(), "user_id": task.user_id, "kind": task.kind,
            "title": task.title, "due_at": task.due_at, "ref_type": task.ref_type,
            "ref_id": task.ref_id, "dedupe_key": task.dedupe_key} for task in tasks])
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"],
                                index_where=UserTask.dedupe_key.is_not(None))
        .returning(UserTask.id, UserTask.due_at))
    return [(row.id, row.due_at) for row in rows]


async def follow_up_days(session: AsyncSession, user_id: uuid.UUID) -> int | None:
    found = await session.get(CarePreference, user_id)
    return None if found is None else found.follow_up_days


async def set_follow_up_days(session: AsyncSession, user_id: uuid.UUID, days: int,
                             now: datetime) -> None:
    await session.execute(insert(CarePreference).values(
        user_id=user_id, follow_up_days=days, updated_at=now).on_conflict_do_update(
        index_elements=["user_id"], set_={"follow_up_days": days, "updated_at": now}))
