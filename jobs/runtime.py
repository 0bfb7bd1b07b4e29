"""The one accessor through which a task reaches the running process's dependencies.

A task body never builds a client, an engine or settings of its own; it asks::

    from jobs.runtime import current

    @blueprint.task(name="sla_check", retry=RETRY)
    async def sla_check(ticket_id: str) -> None:
        runtime = current()
        async with runtime.uow("tickets:sla_check") as uow:
            await tickets.check_sla(uow, uuid.UUID(ticket_id), now=runtime.clock.now())

`current()` answers the `JobRuntime` that the worker running the task was started with
(`jobs.scheduler.worker` for `crm serve` and `crm worker`, `jobs.scheduler.run_until_idle` for
tests and the bench): the process's `Stores` (ledger, graph, cipher, settings) and its clock.
Outside a worker it raises `RuntimeError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from services.clock import Clock
from services.stores import RequestMeta, Stores, UnitOfWork
from settings import Settings


@dataclass(frozen=True)
class JobRuntime:
    """What tasks may use: the open stores of this process."""

    stores: Stores

    @property
    def clock(self) -> Clock:
        return self.stores.clock

    @property
    def settings(self) -> Settings:
        return self.stores.settings

    def uow(self, job: str) -> UnitOfWork:
        """A unit of work whose audit records name the job (`system:job:<task>`)."""
        return self.stores.uow(RequestMeta(actor=f"system:job:{job}"))


_CURRENT: ContextVar[JobRuntime | None] = ContextVar("job_runtime", default=None)


def current() -> JobRuntime:
    """The runtime of the worker running this task."""
    found = _CURRENT.get()
    if found is None:
        raise RuntimeError("no job runtime: tasks run inside jobs.scheduler's workers")
    return found


@contextmanager
def bound(runtime: JobRuntime) -> Iterator[JobRuntime]:
    """`runtime` is `current()` for this context and the tasks started from it."""
    token = _CURRENT.set(runtime)
    try:
        yield runtime
    finally:
        _CURRENT.reset(token)
