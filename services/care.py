"""Customer-care reminders (客户关怀): tasks in the account owner's inbox, made by the daily
durable job `care:remind` and idempotent — each reminder has a key (`user_tasks.dedupe_key`,
unique per user), so running the job twice, or on two instances, adds nothing.

- **Follow-up** (`care.follow_up`): an owned account that is not CHURNED with no interaction
  for N days (since its last interaction, or since it was created): N is the owner's own
  period (`careSettingsUpdate`), else CARE_FOLLOW_UP_DAYS. Due on the day the period runs
  out; one per account and quiet spell (a new interaction starts a new one).
- **Contract anniversary** (`care.contract_anniversary`): each year on the day a live signed
  contract was signed (29 February: the 28th in other years), to the deal's owner.
- **Renewal** (`care.contract_renewal`): CARE_RENEWAL_NOTICE_DAYS before a live signed
  contract's term ends (`endsOn`), to the deal's owner. A contract superseded by a signed
  amendment is not live.
- **Important dates** (`care.contact_date`): CARE_DATE_NOTICE_DAYS before a contact's
  birthday or other important date, to the account owner — only if that owner may read the
  date (`contact.importantDates:read` and clearance for the contact's classification). The
  title names the contact and the kind of date, never the date itself.

A reminder is due at the end of its day (China time): it is in the inbox that day and gets
its overdue warning (`tasks:overdue`) if still open after it. Days missed while no worker ran
are caught up for CATCH_UP_DAYS.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from auth.actor import Actor
from relational.ledger import Reader
from relational.repositories import care as repo
from relational.repositories import inbox as users_repo
from relational.repositories.care import ImportantDate, NewTask
from relational.uow import UnitOfWork
from services.calendar import CHINA
from services.errors import BadUserInput
from services.identity.sessions import actor_for_user
from services.vocabulary import CONTACT_DATE_LABELS
from settings import Settings

CATCH_UP_DAYS = 7
BATCH = 1000  # follow-ups per run; the rest follow on the next run
DATE_PERMISSION = "contact.importantDates:read"


@dataclass(frozen=True)
class Made:
    follow_ups: int
    anniversaries: int
    renewals: int
    dates: int

    @property
    def total(self) -> int:
        return self.follow_ups + self.anniversaries + self.renewals + self.dates


def due_at(day: date) -> datetime:
    """The end of `day` in China time."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA)


def on_year(month: int, day: int, year: int) -> date:
    """That day in `year`; 29 February is the 28th in a common year."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _window(today: date) -> list[date]:
    return [today - timedelta(days=back) for back in range(CATCH_UP_DAYS, -1, -1)]


def _month_days(days: list[date]) -> list[tuple[int, int]]:
    found = {(day.month, day.day) for day in days}
    found |= {(2, 29) for day in days if (day.month, day.day) == (2, 28)
              and not calendar.isleap(day.year)}
    return sorted(found)


async def _follow_ups(uow: UnitOfWork, settings: Settings, today: date) -> list[NewTask]:
    quiet = await repo.quiet_accounts(uow.session, today, settings.care_follow_up_days, BATCH)
    return [NewTask(row.owner_id, "care.follow_up",
                    f"客户回访: {row.name} ({row.days} 天无互动)", due_at(row.due_on),
                    "Account", row.account_id, f"care.follow_up:{row.account_id}:{row.due_on}")
            for row in quiet]


async def _contracts(uow: UnitOfWork, settings: Settings,
                     window: list[date]) -> tuple[list[NewTask], list[NewTask]]:
    notice = timedelta(days=settings.care_renewal_notice_days)
    rows = await repo.contracts_on(
        uow.session, [f"{month:02d}-{day:02d}" for month, day in _month_days(window)],
        window[0] + notice, window[-1] + notice)
    anniversaries, renewals = [], []
    for row in rows:
        for day in window:
            years = day.year - row.signed_on.year
            if years >= 1 and on_year(row.signed_on.month, row.signed_on.day, day.year) == day:
                anniversaries.append(NewTask(
                    row.owner_id, "care.contract_anniversary",
                    f"合同周年: {row.account_name} 合同 #{row.number} 签订 {years} 周年",
                    due_at(day), "Contract", row.contract_id,
                    f"care.contract_anniversary:{row.contract_id}:{day.year}"))
        if row.ends_on is not None and row.ends_on - notice in window:
            renewals.append(NewTask(
                row.owner_id, "care.contract_renewal",
                f"合同续约: {row.account_name} 合同 #{row.number} {row.ends_on} 到期",
                due_at(row.ends_on - notice), "Contract", row.contract_id,
                f"care.contract_renewal:{row.contract_id}:{row.ends_on}"))
    return anniversaries, renewals


async def _may_read(uow: UnitOfWork, owners: set[uuid.UUID]) -> dict[uuid.UUID, Actor]:
    found = {}
    for owner in owners:
        user = await users_repo.user(uow.session, owner)
        if user is not None and user.active:
            found[owner] = await actor_for_user(uow.session, user, None)
    return found


def _readable(actor: Actor | None, row: ImportantDate) -> bool:
    return actor is not None and DATE_PERMISSION in actor.permissions and \
        int(actor.clearance) >= row.classification


async def _dates(uow: UnitOfWork, settings: Settings, window: list[date]) -> list[NewTask]:
    notice = timedelta(days=settings.care_date_notice_days)
    rows = await repo.important_dates_on(uow.session,
                                         _month_days([day + notice for day in window]))
    actors = await _may_read(uow, {row.owner_id for row in rows})
    made = []
    for row in rows:
        if not _readable(actors.get(row.owner_id), row):
            continue
        for day in window:
            date_day = day + notice
            if on_year(row.month, row.day, date_day.year) != date_day:
                continue
            what = row.label or CONTACT_DATE_LABELS.get(row.kind, row.kind)
            when = "今天" if not notice else f"{notice.days} 天后"
            made.append(NewTask(row.owner_id, "care.contact_date",
                                f"联系人关怀: {row.contact_name} {when}{what}", due_at(day),
                                "Contact", row.contact_id,
                                f"care.contact_date:{row.contact_id}:{row.kind}:{date_day}"))
    return made


async def remind(uow: UnitOfWork, settings: Settings, now: datetime) -> Made:
    """Make today's reminders (and those of the last CATCH_UP_DAYS days) that do not exist
    yet; each new one gets its overdue warning."""
    today = now.astimezone(CHINA).date()
    window = _window(today)
    follow_ups = await _follow_ups(uow, settings, today)
    anniversaries, renewals = await _contracts(uow, settings, window)
    dates = await _dates(uow, settings, window)
    counts = []
    for group in (follow_ups, anniversaries, renewals, dates):
        made = await repo.add_tasks(uow.session, group)
        for task_id, due in made:
            uow.defer("tasks:overdue", {"taskId": str(task_id)}, schedule_at=due)
        counts.append(len(made))
    result = Made(*counts)
    if result.total:
        uow.audit("care.remind", [], after={"followUps": result.follow_ups,
                                            "anniversaries": result.anniversaries,
                                            "renewals": result.renewals,
                                            "dates": result.dates})
    return result


async def follow_up_days(read: Reader, settings: Settings, actor: Actor) -> int:
    """The caller's follow-up period: their own, else the default."""
    if actor.user_id is None:
        return settings.care_follow_up_days
    async with read() as session:
        own = await repo.follow_up_days(session, actor.user_id)
    return settings.care_follow_up_days if own is None else own


async def set_follow_up_days(uow: UnitOfWork, actor: Actor, days: int, now: datetime) -> int:
    if not 1 <= days <= 365:
        raise BadUserInput("`followUpDays` is between 1 and 365", field="followUpDays")
    if actor.user_id is None:
        raise BadUserInput("care settings belong to users", field="followUpDays")
    await repo.set_follow_up_days(uow.session, actor.user_id, days, now)
    uow.audit("care.settings", [str(actor.user_id)], after={"followUpDays": days})
    return days
