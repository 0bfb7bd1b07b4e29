"""The fixed cost every request pays before (and around) its own work, each part timed directly
in this process against the seeded stores: authentication, the rate-limit write, parsing and
validation of an operation, and the batched sensitive-read audit record (ReadAudit), as the
difference between executing one operation through the app's schema and through the same
schema without it. The per-field permission checks (schema.directives.Guard) are inside both;
scenario (d) prices them."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import parse, validate

from bench.counters import SqlCounter
from bench.scenarios import Data
from resolvers.context import Context
from schema import accounts, groups
from schema.common import SCALAR_OVERRIDES
from schema.directives import ReadAudit
from schema.root import Mutation, Query, build_schema, extensions
from services import rate_limit
from services.identity import sessions
from services.stores import Stores
from settings import Settings

SAMPLES = 100


@dataclass(frozen=True)
class Fixed:
    what: str
    statements: float  # per call
    times_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, int(len(ordered) * 0.95) - 1)]


async def _timed(what: str, counter: SqlCounter, work: Callable[[], Awaitable[Any]],
                 samples: int = SAMPLES) -> Fixed:
    await work()  # warm
    before = counter.statements
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return Fixed(what, (counter.statements - before) / samples, times)


def _without_read_audit(settings: Settings) -> strawberry.Schema:
    """The app's schema (`schema.root.build_schema`) less the sensitive-read audit."""
    return strawberry.Schema(
        query=Query, mutation=Mutation,
        types=[groups.GroupTree, groups.Shareholding, accounts.RestrictedAccount],
        extensions=[extension for extension in extensions(settings)
                    if extension is not ReadAudit],
        scalar_overrides=SCALAR_OVERRIDES)


async def fixed_costs(stores: Stores, counter: SqlCounter, bearer: str,
                      operations: list[tuple[str, str, Data]]) -> list[Fixed]:
    """`operations`: (scenario key, query, variables) of the scenarios to price."""
    found = [
        await _timed("authentication (services.identity.authenticate)", counter,
                     lambda: sessions.authenticate(stores.ledger, stores.settings, bearer,
                                                   "127.0.0.1")),
        await _timed("rate-limit write (services.rate_limit.check)", counter,
                     lambda: rate_limit.check(stores.ledger, stores.settings, bearer,
                                               "127.0.0.1")),
    ]
    schema = build_schema(stores.settings)
    bare = _without_read_audit(stores.settings)
    for key, query, variables in operations:
        found += await _operation(stores, counter, bearer, (schema, bare), key, query,
                                  variables)
    return found


async def _operation(stores: Stores, counter: SqlCounter, bearer: str,
                     schemas: tuple[strawberry.Schema, strawberry.Schema], key: str, query: str,
                     variables: Data) -> list[Fixed]:
    schema, bare = schemas
    document = parse(query)

    async def parsed() -> None:
        parse(query)

    async def validated() -> None:
        validate(schema._schema, document)

    found = [await _timed(f"({key}) parsing, uncached", counter, parsed),
             await _timed(f"({key}) validation, uncached", counter, validated)]
    with_policy, without = [
        await _timed(f"({key}) execution {name}", counter,
                     _executor(chosen, stores, bearer, query, variables), samples=30)
        for name, chosen in (("with ReadAudit", schema), ("without", bare))]
    found.append(Fixed(f"({key}) ReadAudit: the sensitive-read audit record",
                       with_policy.statements - without.statements,
                       [a - b for a, b in zip(sorted(with_policy.times_ms),
                                              sorted(without.times_ms), strict=True)]))
    return found


def _executor(schema: strawberry.Schema, stores: Stores, bearer: str, query: str,
              variables: Data) -> Callable[[], Awaitable[None]]:
    async def execute() -> None:
        context = Context(stores=stores, request_id="bench", ip="127.0.0.1", bearer=bearer)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        if result.errors:
            raise RuntimeError(f"bench operation failed: {result.errors}")

    return execute
