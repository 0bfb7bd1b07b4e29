"""Scenario (e): `account(id)` through the whole GraphQL stack against the hand-written endpoint of
`bench.handwritten`, side by side in one run: the same accounts, the same user's bearer token;
first one request at a time, alternating between the two (so both see the same machine load;
requests/second is then requests over the time spent in them), then `CONCURRENCY` requests in
flight, one endpoint after the other."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import httpx

from bench import handwritten
from bench.counters import Counts, SqlCounter
from bench.cpu import CpuTimes
from bench.runner import Result, send
from bench.scenarios import Data, Scenario
from bench.stores import serve_asgi
from resolvers.ids import to_global_id
from settings import Settings

TARGET_SHARE = 0.5  # GraphQL's requests/second at least half the hand-written endpoint's
CONCURRENCY = 8
NO_CPU = CpuTimes(0.0, 0.0, 0.0, 0.0, 0.0, 0)  # alternating requests: not split per side


def _fields(data: Data) -> int:
    account = data["account"]
    return sum(value is not None for value in account.values()) if account else 0


def scenarios(rng: random.Random, ids: list[str], count: int) -> tuple[Scenario, Scenario]:
    picked = rng.sample(ids, min(count, len(ids)))

    def graphql(number: int) -> Data:
        return {"id": to_global_id("Account", picked[number % len(picked)])}

    def plain(number: int) -> Data:
        return {"id": picked[number % len(picked)]}

    return (
        Scenario("e1", "account(id) through the GraphQL stack", handwritten.GRAPHQL, graphql,
                 _fields, "fields"),
        Scenario("e2", "GET /accounts/{id}: hand-written Starlette + SQLAlchemy", "", plain,
                 _fields, "fields", path="/accounts/{id}"),
    )


@dataclass(frozen=True)
class Comparison:
    sequential: list[Result]  # (e1), (e2)
    concurrent: list[float]  # requests/second of (e1), (e2) with CONCURRENCY in flight

    @property
    def shares(self) -> tuple[float, float]:
        """GraphQL's requests/second as a share of the hand-written endpoint's."""
        graphql, plain = self.sequential
        sequential = graphql.per_second / plain.per_second if plain.per_second else 0.0
        concurrent = (self.concurrent[0] / self.concurrent[1]) if self.concurrent[1] else 0.0
        return sequential, concurrent


async def _concurrent(client: httpx.AsyncClient, scenario: Scenario, requests: int) -> float:
    numbers = iter(range(requests))

    async def worker() -> None:
        for number in numbers:
            await send(client, scenario, number)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return requests / (time.perf_counter() - started)


async def _alternating(clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
                       pair: tuple[Scenario, Scenario], counter: SqlCounter, *,
                       requests: int, warmup: int) -> list[Result]:
    for number in range(warmup):
        for client, scenario in zip(clients, pair, strict=True):
            await send(client, scenario, requests + number)
    latencies: tuple[list[float], list[float]] = ([], [])
    observed: tuple[list[int], list[int]] = ([], [])
    counts = [Counts(0, 0, 0), Counts(0, 0, 0)]
    for number in range(requests):
        for side, (client, scenario) in enumerate(zip(clients, pair, strict=True)):
            before, sent = counter.now(), time.perf_counter()
            data = await send(client, scenario, number)
            latencies[side].append((time.perf_counter() - sent) * 1000)
            counts[side] = counts[side] + (counter.now() - before)
            observed[side].append(scenario.observe(data))
    return [Result(scenario, latencies[side], sum(latencies[side]) / 1000, counts[side],
                   NO_CPU, observed[side]) for side, scenario in enumerate(pair)]


async def compare(settings: Settings, app: httpx.AsyncClient, counter: SqlCounter,
                  scenario_pair: tuple[Scenario, Scenario], *,
                  requests: int, warmup: int) -> Comparison:
    """`app` is the GraphQL client, already logged in; the hand-written endpoint gets the same
    token."""
    async with (serve_asgi(handwritten.create_app(settings)) as url,
                httpx.AsyncClient(base_url=url, timeout=60, headers={
                    "Authorization": app.headers["Authorization"]}) as plain):
        clients = (app, plain)
        sequential = await _alternating(clients, scenario_pair, counter, requests=requests,
                                        warmup=warmup)
        concurrent = [await _concurrent(client, scenario, requests)
                      for client, scenario in zip(clients, scenario_pair, strict=True)]
    return Comparison(sequential, concurrent)
