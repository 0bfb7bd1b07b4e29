"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from relational.uow import RequestMeta, UnitOfWork
from resolvers.loaders import Loaders
from services.stores import Stores


@dataclass
class Context:
    stores: Stores
    request_id: str
    ip: str | None = None
    connection: HTTPConnection | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.stores)

    def uow(self) -> UnitOfWork:
        """A new unit of work: one per mutation field, never shared."""
        return self.stores.uow(RequestMeta(request_id=self.request_id, ip=self.ip))
