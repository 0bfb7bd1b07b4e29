"""One way to tell a user something: `notify(uow, user_id, Message(...), channels)`.

Every notification is an in-app row (queryable in `myInbox`, marked read with
`notificationsMarkRead`); e-mail and SMS copies are delivered after the write commits by the
durable job `notifications:deliver`, through the adapters `EMAIL_GATEWAY` / `SMS_GATEWAY`
choose. With no real gateway configured (the default) they are appended to
`$DATA_DIR/mail-outbox.log` and `$DATA_DIR/sms-outbox.log` — never silently dropped; a
delivery that fails is retried by the scheduler.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from auth.actor import Actor
from auth.field_cipher import FieldCipher
from relational.identity_models import User
from relational.ledger import Reader
from relational.operations_models import Notification
from relational.repositories import inbox as repo
from relational.uow import UnitOfWork
from services.identity import sms
from services.identity.users import phone_of
from services.validation import text
from settings import Settings


class Channel(StrEnum):
    IN_APP = "IN_APP"
    EMAIL = "EMAIL"
    SMS = "SMS"


@dataclass(frozen=True)
class Message:
    kind: str  # e.g. ticket.assigned, ticket.escalated, task.overdue, lifecycle.changed
    title: str
    body: str = ""
    ref_type: str | None = None  # Ticket, Account, Campaign, Task …
    ref_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NotificationRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    title: str
    body: str
    channels: tuple[str, ...]
    ref_type: str | None
    ref_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> NotificationRecord:
        return cls(row.id, row.user_id, row.kind, row.title, row.body, tuple(row.channels),
                   row.ref_type, row.ref_id, row.created_at, row.read_at)


def notify(uow: UnitOfWork, user_id: uuid.UUID, message: Message,
           channels: Sequence[Channel] = (Channel.IN_APP,)) -> uuid.UUID:
    """Record the notification in this unit of work; other channels follow its commit."""
    wanted = [Channel.IN_APP, *(channel for channel in channels if channel != Channel.IN_APP)]
    row = Notification(id=uuid.uuid4(), user_id=user_id, kind=message.kind,
                       title=text(message.title, "title", max_length=200),
                       body=message.body[:2000], channels=[str(c) for c in dict.fromkeys(wanted)],
                       ref_type=message.ref_type, ref_id=message.ref_id)
    uow.session.add(row)
    if len(row.channels) > 1:
        uow.defer("notifications:deliver", {"notificationId": str(row.id)})
    return row.id


class Sender(Protocol):
    async def send(self, user: User, cipher: FieldCipher, note: Notification) -> None: ...


class MailFile:
    """E-mail while no SMTP relay is configured: a readable mbox-like file."""

    def __init__(self, path: Path) -> None:
        self.outbox = sms.FileGateway(path)

    async def send(self, user: User, cipher: FieldCipher, note: Notification) -> None:
        await self.outbox.append(
            f"From: graph-crm\nTo: {user.username} <{user.display_name}>\n"
            f"Date: {datetime.now(UTC).isoformat()}\nSubject: {note.title}\n\n{note.body}\n\n")


class SmsFile:
    """SMS through the step-up gateway's file (services/identity/sms.py)."""

    def __init__(self, settings: Settings) -> None:
        self.outbox = sms.outbox_file(settings)

    async def send(self, user: User, cipher: FieldCipher, note: Notification) -> None:
        recipient = phone_of(cipher, user) or user.username
        await self.outbox.send_text(recipient, f"{note.title} {note.body}")


_SENDERS: dict[str, Callable[[Settings], Sender]] = {
    Channel.EMAIL: lambda settings: MailFile(settings.data_dir / "mail-outbox.log"),
    Channel.SMS: SmsFile,
}


async def deliver(read: Reader, settings: Settings, cipher: FieldCipher,
                  notification_id: uuid.UUID) -> list[str]:
    """Send the e-mail / SMS copies of a committed notification; the channels sent."""
    async with read() as session:
        note = (await repo.notifications(session, [notification_id])).get(notification_id)
        user = None if note is None else await repo.user(session, note.user_id)
    if note is None or user is None:
        return []
    sent = []
    for channel in note.channels:
        if channel in _SENDERS:
            await _SENDERS[channel](settings).send(user, cipher, note)
            sent.append(channel)
    return sent


async def mark_read(uow: UnitOfWork, actor: Actor, ids: Sequence[uuid.UUID],
                    now: datetime) -> list[uuid.UUID]:
    """Mark the caller's own notifications read; others' ids are ignored like missing ones."""
    if actor.user_id is None:
        return []
    done = await repo.mark_read(uow.session, actor.user_id, list(ids), now)
    if done:
        uow.audit("notification.read", [str(found) for found in done])
    return done
