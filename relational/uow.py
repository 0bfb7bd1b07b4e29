"""Unit of work: one transaction holding the change, its audit record and its outbox events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from relational.errors import unreachable_errors
from relational.models import OutboxEvent
from relational.repositories import audit as audit_log
from relational.repositories import jobs as job_queue


@dataclass(frozen=True)
class RequestMeta:
    """Who asks and from where; written into every audit record."""

    request_id: str | None = None
    actor: str | None = None
    ip: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AuditNote:
    """An audit record that must outlive the refusal it records."""

    operation: str
    target_ids: Sequence[str]
    after: dict[str, Any] | None = None


class AuditedError(Exception):
    """An error that may carry its own audit records. Raised inside a unit of work, the unit
    rolls the use case back and then commits the `notes` alone, in a fresh transaction; with
    `keep_changes` (a failed login's counters) it commits what was done so far instead. Either
    way the error then propagates: use cases never commit."""

    notes: tuple[AuditNote, ...] = ()
    keep_changes: bool = False

    def recorded(self, operation: str, target_ids: Sequence[str],
                 after: dict[str, Any] | None = None) -> Self:
        self.notes = (*self.notes, AuditNote(operation, list(target_ids), after))
        return self

    def keeping_changes(self) -> Self:
        self.keep_changes = True
        return self


class CommitInterrupted(Exception):
    """The ledger failed after COMMIT was sent: the transaction may or may not have committed.
    Carries the idempotency key the write was made under (None: the caller gave none)."""

    def __init__(self, idempotency_key: str | None) -> None:
        super().__init__("the connection failed during COMMIT; the outcome is unknown")
        self.idempotency_key = idempotency_key


class UnitOfWork:
    """`async with UnitOfWork(...) as uow:` commits on success, rolls back on any exception.

    Services add rows, `audit()` and `emit()`; only this class commits, so a failed use case
    leaves neither the change nor its audit record nor its event behind.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        meta: RequestMeta,
        *,
        on_commit: Callable[[], None] | None = None,
        chain: audit_log.Chain,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.meta = meta
        self._on_commit = on_commit
        self._chain = chain
        self._session: AsyncSession | None = None
        self.events: list[OutboxEvent] = []
        self.committed_event_ids: list[int] = []  # what a reader must wait for to see the write
        self._audits: list[dict[str, Any]] = []
        self._jobs: list[job_queue.PendingJob] = []
        self.deferred_job_ids: list[int] = []  # ids of the jobs this unit wrote
        self.idempotency_key: str | None = None  # set by a write made under a client's key

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessionmaker()
        await self._session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if exc_type is None or (isinstance(exc, AuditedError) and exc.keep_changes):
                await self._commit()
            else:
                await session.rollback()
                if isinstance(exc, AuditedError) and exc.notes:
                    await self._record(exc.notes)
        finally:
            await session.close()
            self._session = None

    async def _record(self, notes: Sequence[AuditNote]) -> None:
        """After a rollback: only the refusal's own records, in a transaction of their own."""
        self._audits, self.events, self._jobs = [], [], []
        for note in notes:
            self.audit(note.operation, list(note.target_ids), after=note.after)
        await self._commit()

    async def _commit(self) -> None:
        if self._audits:
            # The change is flushed first so that the chain's append lock, taken next, is
            # held only for the audit insert and the commit.
            await self.session.flush()
            records, self._audits = self._audits, []
            await audit_log.append(self.session, self._chain, records)
        await self._write_jobs()
        # Everything is flushed first: a failure up to here happened before COMMIT was sent
        # (nothing written); one inside `_send_commit` leaves the outcome unknown.
        await self.session.flush()  # also the events' ids, known before the commit returns
        ids = [event.id for event in self.events]
        try:
            await self._send_commit()
        except unreachable_errors() as error:
            raise CommitInterrupted(self.idempotency_key) from error
        self.committed_event_ids.extend(ids)
        if self.events and self._on_commit is not None:
            self._on_commit()
        self.events = []

    async def _write_jobs(self) -> None:
        jobs, self._jobs = self._jobs, []
        for job in jobs:
            job_id = await job_queue.defer(self.session, job)
            if job_id is not None:
                self.deferred_job_ids.append(job_id)

    async def _send_commit(self) -> None:
        await self.session.commit()

    def audit(
        self,
        operation: str,
        target_ids: list[str],
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Record the change; the record is chained and written when the unit commits."""
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `async with`")
        self._audits.append({
            "actor": self.meta.actor,
            "operation": operation,
            "target_ids": target_ids,
            "before": before,
            "after": after,
            "ip": self.meta.ip,
            "request_id": self.meta.request_id,
            "reason": self.meta.reason,
        })

    def defer(self, task_name: str, args: dict[str, Any], *, schedule_at: datetime | None = None,
              queueing_lock: str | None = None) -> None:
        """A durable job (`jobs/`: task names are `<domain>:<task>`, e.g. `tickets:sla_check`),
        written in this unit's transaction when it commits: the job exists exactly when the
        write does. `args` must be JSON (ids as strings); `schedule_at` (aware) delays it;
        under a `queueing_lock` a job already waiting with the same lock is kept and this one
        is dropped."""
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside `async with`")
        if schedule_at is not None and schedule_at.tzinfo is None:
            raise ValueError("schedule_at must be timezone-aware")
        self._jobs.append(job_queue.PendingJob(task_name, dict(args), schedule_at,
                                               queueing_lock))

    def emit(self, topic: str, aggregate_id: str, payload: dict[str, Any]) -> None:
        event = OutboxEvent(topic=topic, aggregate_id=aggregate_id, payload=payload)
        self.events.append(event)
        self.session.add(event)
