"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from auth.actor import Actor
from relational.uow import RequestMeta, UnitOfWork
from resolvers.loaders import Loaders
from services import identity, security_events
from services.stores import Stores


@dataclass
class Context:
    stores: Stores
    request_id: str
    ip: str | None = None
    connection: HTTPConnection | None = None
    bearer: str | None = None
    reason: str | None = None  # the caller's stated purpose (X-Audit-Reason), audited
    loaders: Loaders = field(init=False)
    _actor: Actor | None = field(default=None, init=False)
    _reads: list[dict[str, str]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.stores, self.actor)

    async def actor(self) -> Actor:
        """Who is asking, resolved once per request from the bearer token."""
        if self._actor is None:
            self._actor = await identity.authenticate(self.stores, self.bearer, self.ip)
        return self._actor

    async def uow(self) -> UnitOfWork:
        """A new unit of work: one per mutation field, never shared."""
        actor = await self.actor()
        return self.stores.uow(RequestMeta(request_id=self.request_id, actor=actor.label,
                                           ip=self.ip, reason=self.reason))

    def anonymous_uow(self, claimed: str) -> UnitOfWork:
        """For login: the actor is who the caller claims to be, not yet proven."""
        return self.stores.uow(RequestMeta(request_id=self.request_id, actor=claimed,
                                           ip=self.ip, reason=self.reason))

    def note_read(self, type_name: str, field_name: str, record_id: str, outcome: str) -> None:
        """A protected field was read in clear, masked or refused; audited once per operation."""
        self._reads.append({"type": type_name, "field": field_name, "record": record_id,
                            "outcome": outcome})

    async def flush_reads(self) -> None:
        if not self._reads:
            return
        reads, self._reads = self._reads, []
        targets = sorted({read["record"] for read in reads if read["record"]})
        actor = await self.actor()
        async with await self.uow() as uow:
            await security_events.check_sensitive_reads(
                uow, uow.meta.actor or "anonymous", len(reads),
                self.stores.settings.sensitive_reads_per_minute,
                user_id=actor.user_id, session_id=actor.session_id)
            uow.audit("read.sensitive", targets, after={"reads": reads})
