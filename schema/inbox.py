"""A user's inbox (待办提醒): open tasks due by today and unread notifications."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from resolvers import inbox as resolve
from resolvers.ids import to_global_id
from schema.accounts import Info
from schema.common import AfterArg, FirstArg, page_info
from schema.directives import guard
from services.notifications import NotificationRecord
from services.tasks import InboxItem, TaskRecord


@strawberry.interface(description="Something in a user's inbox.")
class InboxEntry:
    id: strawberry.ID = strawberry.field(description="Global id.")
    kind: str = strawberry.field(description="e.g. ticket.escalation, task.overdue.")
    title: str = strawberry.field(description="Title.")
    due_at: datetime = strawberry.field(
        description="When it is due (a notification: when it was raised).")
    ref_type: str | None = strawberry.field(description="Type of the record it is about.")
    ref_id: strawberry.ID | None = strawberry.field(description="Global id of that record.")


def _ref(type_name: str | None, value: object) -> strawberry.ID | None:
    if type_name is None or value is None:
        return None
    return strawberry.ID(to_global_id(type_name, str(value)))


@strawberry.type(description="A task (待办) for the signed-in user.")
class UserTask(InboxEntry):
    done_at: datetime | None = strawberry.field(description="Completed (UTC).")

    @classmethod
    def of(cls, row: TaskRecord) -> UserTask:
        return cls(id=strawberry.ID(to_global_id("UserTask", row.id)), kind=row.kind,
                   title=row.title, due_at=row.due_at, ref_type=row.ref_type,
                   ref_id=_ref(row.ref_type, row.ref_id), done_at=row.done_at)


@strawberry.type(description="An in-app notification.")
class Notification(InboxEntry):
    body: str = strawberry.field(description="Text.")
    channels: list[str] = strawberry.field(description="IN_APP and any of EMAIL, SMS.")
    read_at: datetime | None = strawberry.field(description="Marked read (UTC).")

    @classmethod
    def of(cls, row: NotificationRecord) -> Notification:
        return cls(id=strawberry.ID(to_global_id("Notification", row.id)), kind=row.kind,
                   title=row.title, due_at=row.created_at, ref_type=row.ref_type,
                   ref_id=_ref(row.ref_type, row.ref_id), body=row.body,
                   channels=list(row.channels), read_at=row.read_at)


def _entry(item: InboxItem) -> UserTask | Notification:
    return UserTask.of(item) if isinstance(item, TaskRecord) else Notification.of(item)


@strawberry.type(description="An inbox entry and its cursor.")
class InboxEdge:
    cursor: str = strawberry.field(description="Cursor of this entry.")
    node: InboxEntry = strawberry.field(description="The entry.")


@strawberry.type(description="A page of the inbox.")
class InboxConnection:
    page_info: relay.PageInfo = strawberry.field(description="Paging.")
    edges: list[InboxEdge] = strawberry.field(description="Entries, earliest due first.")


@strawberry.input(description="Complete a task.")
class TaskCompleteInput:
    task_id: strawberry.ID = strawberry.field(description="One of your tasks.")


@strawberry.type(description="Result of taskComplete.")
class TaskCompletePayload:
    task: UserTask = strawberry.field(description="The task, done.")


@strawberry.input(description="Mark notifications read.")
class NotificationsMarkReadInput:
    ids: list[strawberry.ID] = strawberry.field(description="Your notifications.")


@strawberry.type(description="Result of notificationsMarkRead.")
class NotificationsMarkReadPayload:
    marked: int = strawberry.field(description="How many were unread and are now read.")


async def task_complete(info: Info, input: TaskCompleteInput) -> TaskCompletePayload:
    return TaskCompletePayload(task=UserTask.of(await resolve.complete(info.context,
                                                                       str(input.task_id))))


async def notifications_mark_read(info: Info, input: NotificationsMarkReadInput
                                  ) -> NotificationsMarkReadPayload:
    marked = await resolve.mark_read(info.context, [str(given) for given in input.ids])
    return NotificationsMarkReadPayload(marked=marked)


@strawberry.type(description="Inbox reads.")
class InboxQueries:
    @strawberry.field(description="Your open tasks due by the end of today (China time), "
                                  "overdue first, and your unread notifications.",
                      extensions=guard())
    async def my_inbox(self, info: Info, first: FirstArg = 20,
                       after: AfterArg = None) -> InboxConnection:
        page = await resolve.inbox(info.context, first, after)
        return InboxConnection(page_info=page_info(page), edges=[
            InboxEdge(cursor=cursor, node=_entry(item))
            for item, cursor in zip(page.items, page.cursors, strict=True)])


@strawberry.type(description="Inbox writes.")
class InboxMutations:
    task_complete = strawberry.mutation(resolver=task_complete, description="Complete a task.",
                                        extensions=guard(audit_as="task.complete"))
    notifications_mark_read = strawberry.mutation(
        resolver=notifications_mark_read, description="Mark your notifications read.",
        extensions=guard(audit_as="notification.read"))
