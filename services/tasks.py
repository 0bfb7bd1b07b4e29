"""Tasks for users (待办) from rules, tickets, lifecycle actions, renewals and care reminders,
with due dates and overdue warnings (超时预警: the durable job `tasks:overdue` at the due
time), and the inbox that lists what is due."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from auth.actor import Actor
from relational.ledger import Reader
from relational.operations_models import UserTask
from relational.repositories import inbox as repo
from relational.uow import UnitOfWork
from services import notifications
from services.calendar import CHINA
from services.errors import NotFound
from services.notifications import Channel, Message, NotificationRecord
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.validation import text


@dataclass(frozen=True)
class TaskRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    title: str
    due_at: datetime
    ref_type: str | None
    ref_id: uuid.UUID | None
    done_at: datetime | None

    @classmethod
    def of(cls, row: UserTask) -> TaskRecord:
        return cls(row.id, row.user_id, row.kind, row.title, row.due_at, row.ref_type,
                   row.ref_id, row.done_at)


InboxItem = TaskRecord | NotificationRecord


def create(uow: UnitOfWork, *, user_id: uuid.UUID, kind: str, title: str, due_at: datetime,
           ref_type: str | None = None, ref_id: uuid.UUID | None = None) -> uuid.UUID:
    """A task in this unit of work, warned about when it is overdue."""
    task = UserTask(id=uuid.uuid4(), user_id=user_id, kind=kind,
                    title=text(title, "title", max_length=200), due_at=due_at,
                    ref_type=ref_type, ref_id=ref_id)
    uow.session.add(task)
    uow.defer("tasks:overdue", {"taskId": str(task.id)}, schedule_at=due_at)
    return task.id


async def warn_overdue(uow: UnitOfWork, task_id: uuid.UUID, now: datetime) -> bool:
    """The overdue warning of an open task, once, to its user (in-app and SMS)."""
    task = await repo.overdue_task(uow.session, task_id)
    if task is None or task.due_at > now:
        return False
    task.warned_at = now
    notifications.notify(uow, task.user_id, Message(
        "task.overdue", f"超时预警: {task.title}", f"due {task.due_at.isoformat()}",
        "Task", task.id), (Channel.IN_APP, Channel.SMS))
    uow.audit("task.overdue", [str(task.id)])
    return True


async def complete(uow: UnitOfWork, actor: Actor, task_id: uuid.UUID,
                   now: datetime) -> TaskRecord:
    found = None if actor.user_id is None else await repo.own_task(
        uow.session, actor.user_id, task_id)
    if found is None:
        raise NotFound("no task of yours with this id", field="taskId")
    if found.done_at is None:
        found.done_at = now
        uow.audit("task.complete", [str(found.id)])
    return TaskRecord.of(found)


def end_of_day(now: datetime) -> datetime:
    """The end of `now`'s day in China time: the inbox lists what is due by then."""
    local = now.astimezone(CHINA)
    return datetime.combine(local.date() + timedelta(days=1), time(), CHINA)


async def inbox(read: Reader, cursor_key: bytes, actor: Actor, now: datetime,
                first: int | None, after: str | None) -> Page[InboxItem]:
    """The caller's open tasks due by the end of today (overdue first) and unread
    notifications, by due time."""
    limit = check_first(first)
    if actor.user_id is None:
        return Page([], [], False, False)
    bound = None if after is None else decode_cursor(cursor_key, after, "inbox",
                                                     datetime.fromisoformat)
    async with read() as session:
        rows = await repo.page(session, actor.user_id, end_of_day(now), bound, limit + 1)
        tasks = await repo.tasks(session, [r.id for r in rows if r.kind == "task"])
        notes = await repo.notifications(session,
                                         [r.id for r in rows if r.kind == "notification"])
    page = make_page(rows, limit, lambda row: encode_cursor(
        cursor_key, "inbox", row.due_at.isoformat(), row.id), has_previous=after is not None)
    return page.mapped(lambda row: TaskRecord.of(tasks[row.id]) if row.kind == "task"
                       else NotificationRecord.of(notes[row.id]))
