"""What the adapters (resolvers, the CLI) carry: the open stores, built by the composition root
(`composition.py`). Use cases never take this bundle: each receives the part it uses — a unit
of work or `ledger.read`, the graph, the field cipher, the settings it needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from auth.field_cipher import FieldCipher
from graph.engine import GraphEngine
from relational.ledger import Ledger, Reader
from relational.uow import RequestMeta, UnitOfWork
from services.clock import Clock
from settings import Settings

__all__ = ["Ledger", "Reader", "RequestMeta", "Stores", "UnitOfWork"]


@dataclass(frozen=True)
class Stores:
    ledger: Ledger
    graph: GraphEngine
    settings: Settings
    # Encryption of protected fields; services use it, repositories see only its output.
    cipher: FieldCipher = field(kw_only=True, repr=False)
    # What "now" is for use cases and jobs (tests shift it: services/clock.py).
    clock: Clock = field(kw_only=True, default_factory=Clock)

    @property
    def read(self) -> Reader:
        return self.ledger.read

    def uow(self, meta: RequestMeta) -> UnitOfWork:
        return self.ledger.uow(meta)

    @property
    def cursor_key(self) -> bytes:
        """The secret page cursors are sealed with (the same on every instance)."""
        return self.cipher.blind_key
