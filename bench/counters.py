"""Round-trip counters: SQL statements and pool checkouts (SQLAlchemy events on the classes, so
they see the app's async engine), Cypher round trips (`RoundTrips.total`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from graph.engine import RoundTrips


@dataclass(frozen=True)
class Counts:
    sql: int
    checkouts: int
    cypher: int

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.sql + other.sql, self.checkouts + other.checkouts,
                      self.cypher + other.cypher)

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.sql - other.sql, self.checkouts - other.checkouts,
                      self.cypher - other.cypher)


class SqlCounter:
    """Counts every statement sent by any engine of this process, and every connection checkout
    (each one also costs a pre-ping and a reset round trip)."""

    def __init__(self) -> None:
        self.statements = 0
        self.checkouts = 0
        self.captured: list[tuple[str, Any]] | None = None

    def _on_execute(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                    context: Any, executemany: bool) -> None:
        self.statements += 1
        if self.captured is not None:
            self.captured.append((statement, parameters))

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        self.checkouts += 1

    def install(self) -> None:
        event.listen(Engine, "before_cursor_execute", self._on_execute)
        event.listen(Pool, "checkout", self._on_checkout)

    def remove(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._on_execute)
        event.remove(Pool, "checkout", self._on_checkout)

    def now(self) -> Counts:
        return Counts(self.statements, self.checkouts, RoundTrips.total)

    def capture(self) -> list[tuple[str, Any]]:
        """Start recording statements with their parameters (for EXPLAIN)."""
        self.captured = []
        return self.captured

    def stop_capture(self) -> None:
        self.captured = None
