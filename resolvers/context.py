"""The typed per-request context every resolver receives."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import HTTPConnection

from auth.actor import Actor
from resolvers.loaders import Loaders
from services import idempotency, metrics, security_events
from services.event_stream import Dispatcher
from services.identity import sessions
from services.stores import RequestMeta, Stores, UnitOfWork


class Projection(Protocol):
    """What a request waits on to read its own writes (the graph projector)."""

    async def wait_for(self, ids: Sequence[int], seconds: float) -> bool: ...


class Feed:
    """The changes a subscription group hands its own run of the operation, one at a time."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, change: object) -> None:
        self._queue.put_nowait(change)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            yield await self._queue.get()


@dataclass
class Context:
    stores: Stores
    request_id: str
    projector: Projection | None = None  # None: nothing waits for the graph (CLI, scripts)
    ip: str | None = None
    connection: HTTPConnection | None = None
    bearer: str | None = None
    reason: str | None = None  # the caller's stated purpose (X-Audit-Reason), audited
    dispatcher: Dispatcher | None = None  # live change streams (None: no subscriptions)
    connection_params: dict[str, object] | None = None  # a socket's connection_init payload
    feed: Feed | None = None  # set: a subscription group's run (resolvers.subscriptions)
    loaders: Loaders = field(init=False)
    _actor: asyncio.Future[Actor] | None = field(default=None, init=False)
    _known: Actor | None = field(default=None, init=False)  # the actor, once authenticated
    _reads: list[tuple[str, str, str, str]] = field(default_factory=list, init=False)
    _units: list[UnitOfWork] = field(default_factory=list, init=False)
    _misses: list[tuple[str, uuid.UUID]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.stores, self.actor)

    async def actor(self) -> Actor:
        """Who is asking, resolved once per request from the bearer token: concurrently
        resolved root fields share the one authentication (and its failure)."""
        if self._known is not None:
            return self._known
        if self._actor is None:
            self._actor = asyncio.ensure_future(
                sessions.authenticate(self.stores.ledger, self.stores.settings, self.bearer,
                                      self.ip))
        try:
            self._known = await asyncio.shield(self._actor)
        except Exception:
            # Shared by the fields waiting on it, but not remembered: a socket that outlives
            # an outage authenticates again with its next operation.
            self._actor = None
            raise
        return self._known

    def acting_as(self, actor: Actor) -> None:
        """A context without a token of its own (a subscription group's): it acts as `actor`."""
        self._known = actor

    def take_notes(self) -> object:
        """The reads and misses noted so far, handed over instead of recorded."""
        notes = (self._reads, self._misses)
        self._reads, self._misses = [], []
        return notes if notes[0] or notes[1] else None

    def add_notes(self, notes: object) -> None:
        """Reads another context noted on this one's behalf (`take_notes`)."""
        if isinstance(notes, tuple):
            reads, misses = notes
            self._reads.extend(reads)
            self._misses.extend(misses)

    async def send_text(self, text: str) -> None:
        """A message on the WebSocket this context serves."""
        send = getattr(self.connection, "send_text", None)
        if send is not None:
            await send(text)

    def fresh_loaders(self) -> None:
        """New DataLoaders: a subscription renders each event from the ledger as it is then."""
        self.loaders = Loaders(self.stores, self.actor)

    async def close_socket(self, code: int, reason: str) -> None:
        """End the WebSocket this context serves (a no-op over HTTP)."""
        close = getattr(self.connection, "close", None)
        if close is not None:
            await close(code=code, reason=reason)

    @property
    def known_actor(self) -> Actor | None:
        """The actor once authentication has finished (nested fields), else None."""
        return self._known

    async def uow(self) -> UnitOfWork:
        """A new unit of work: one per mutation field, never shared."""
        actor = await self.actor()
        unit = self.stores.uow(RequestMeta(request_id=self.request_id, actor=actor.label,
                                           ip=self.ip, reason=self.reason))
        self._units.append(unit)
        return unit

    async def settle_writes(self) -> bool:
        """Wait until the graph has applied the events committed so far in this request;
        False if the wait (PROJECTION_WAIT_SECONDS) ran out first."""
        ids = [event_id for unit in self._units for event_id in unit.committed_event_ids]
        self._units = []
        if not ids or self.projector is None:
            return True
        return await self.projector.wait_for(ids, self.stores.settings.projection_wait_seconds)

    def idempotency_key(self, given: str | None) -> idempotency.Key | None:
        """The key of a create: the input's `idempotencyKey`, else the `Idempotency-Key`
        header, else none."""
        header = self.connection.headers.get("idempotency-key") if self.connection else None
        return idempotency.Key.given(given if given is not None else header,
                                     self.stores.settings)

    def anonymous_uow(self, claimed: str) -> UnitOfWork:
        """For login: the actor is who the caller claims to be, not yet proven."""
        return self.stores.uow(RequestMeta(request_id=self.request_id, actor=claimed,
                                           ip=self.ip, reason=self.reason))

    def note_read(self, type_name: str, field_name: str, record_id: str, outcome: str) -> None:
        """A protected field was read in clear, masked or refused; audited once per operation."""
        self._reads.append((type_name, field_name, outcome, record_id))

    def note_miss(self, kind: str, record_id: uuid.UUID) -> None:
        """A lookup by id (`account`, `contact`) found nothing the caller may see; audited
        once per operation if the record exists outside the caller's scope."""
        self._misses.append((kind, record_id))

    async def flush_reads(self) -> None:
        if not self._reads and not self._misses:
            return
        reads, self._reads = self._reads, []
        misses, self._misses = self._misses, []
        targets = sorted({record for *_, record in reads if record})
        actor = await self.actor()
        async with await self.uow() as uow:
            if misses:
                await security_events.record_hidden_lookups(uow, misses)
            if reads:
                await security_events.check_sensitive_reads(
                    uow, uow.meta.actor or "anonymous", len(reads),
                    self.stores.settings.sensitive_reads_per_minute,
                    user_id=actor.user_id, session_id=actor.session_id)
                uow.audit("read.sensitive", targets, after={"reads": grouped_reads(reads)})
        metrics.sensitive_reads(actor.roles, len(reads))


def grouped_reads(reads: list[tuple[str, str, str, str]]) -> list[dict[str, object]]:
    """The reads of one operation as the audit record keeps them: one entry per type, field
    and outcome (in the order first read) with every record read that way, in order (a record
    read twice, e.g. through two aliases, appears twice)."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for type_name, field_name, outcome, record in reads:
        groups.setdefault((type_name, field_name, outcome), []).append(record)
    return [{"type": type_name, "field": field_name, "outcome": outcome, "records": records}
            for (type_name, field_name, outcome), records in groups.items()]
