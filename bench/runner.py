"""Sequential GraphQL over HTTP: warm up, then time each request and count its round trips."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.counters import Counts, SqlCounter
from bench.cpu import CpuMeter, CpuTimes
from bench.scenarios import Data, Scenario


class GraphQLFailure(RuntimeError):
    """The app answered with errors: the figures would be meaningless."""


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    latencies_ms: list[float]
    wall_s: float
    counts: Counts  # totals over the measured requests
    cpu: CpuTimes  # over the measured requests
    observed: list[int]

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]

    @property
    def per_second(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def per_request(self, total: float) -> float:
        return total / self.requests

    def ms_per_request(self, seconds: float) -> float:
        return seconds * 1000 / self.requests


async def call(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Data:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    try:
        body = response.json()
    except ValueError as error:
        raise GraphQLFailure(f"HTTP {response.status_code}: {response.text[:500]}") from error
    if response.status_code != 200 or body.get("errors"):
        raise GraphQLFailure(f"HTTP {response.status_code}: {body.get('errors')}")
    data: Data = body["data"]
    return data


async def get(client: httpx.AsyncClient, path: str) -> Data:
    """A JSON endpoint answering `{"data": …}` like GraphQL does."""
    response = await client.get(path)
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise GraphQLFailure(f"HTTP {response.status_code}: {body.get('errors')}")
    data: Data = body["data"]
    return data


async def send(client: httpx.AsyncClient, scenario: Scenario, number: int) -> Data:
    variables = scenario.variables(number)
    if scenario.path is not None:
        return await get(client, scenario.path.format(**variables))
    return await call(client, scenario.query, variables)


async def run(client: httpx.AsyncClient, counter: SqlCounter, meter: CpuMeter,
              scenario: Scenario, *, requests: int, warmup: int) -> Result:
    """Warm-up requests use other variables than the measured ones."""
    for number in range(warmup):
        await send(client, scenario, requests + number)
    latencies: list[float] = []
    observed: list[int] = []
    before, cpu = counter.now(), meter.now()
    started = time.perf_counter()
    for number in range(requests):
        sent = time.perf_counter()
        data = await send(client, scenario, number)
        latencies.append((time.perf_counter() - sent) * 1000)
        observed.append(scenario.observe(data))
    wall = time.perf_counter() - started
    return Result(scenario, latencies, wall, counter.now() - before, meter.now() - cpu, observed)
