"""Subscriptions and webhooks under load (`make bench`, or alone: `python -m bench.subscriptions`).

The app runs in its own process (its RSS is measured alone) on fresh embedded stores; this
process opens N graphql-transport-ws subscribers (`accountChanged`, as one admin), commits a
burst of accounts straight through the use case (each commit time noted), and measures each
event's delivery latency to every subscriber, the events lost (must be 0) and the server's RSS
per 1,000 subscribers. Then a webhook endpoint to a local receiver: deliveries per second.

`BENCH_SUBSCRIBERS` (default "1000 5000") and `BENCH_BURST` (default 1000) set the sizes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection, connect

from bench.config import BenchConfig, progress
from bench.identity import log_in_admin
from bench.stores import app_settings, direct_stores, free_port, serve_asgi, stores_up
from relational.migrate import upgrade
from relational.models import AuditRecord
from relational.uow import RequestMeta
from services import accounts
from services.accounts import AccountDraft
from services.identity import sessions
from services.stores import Stores
from settings import Settings

QUERY = "subscription { accountChanged { id kind } }"
_SUBSCRIBE_BATCH = 25


@dataclass(frozen=True)
class Figures:
    subscribers: int
    events: int
    p50_ms: float
    p99_ms: float
    lost: int
    rss_per_1000_mib: float


@contextlib.asynccontextmanager
async def _server(settings: Settings, workdir: Path) -> AsyncIterator[tuple[str, psutil.Process]]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "GRAPH_URL": settings.graph_url or "", "DATA_DIR": str(workdir),
           "SEED_DEMO": "false", "LOG_LEVEL": "WARNING", "SUBSCRIPTIONS_PER_IDENTITY": "100000",
           "SUBSCRIPTION_QUEUE_LIMIT": "100000", "RATE_LIMIT_PER_MINUTE": "1000000000",
           "ACCESS_TOKEN_MINUTES": "120", "DB_POOL_SIZE": "30", "WS_AUTH_RECHECK_SECONDS": "3600",
           "JWT_SECRET": settings.jwt_secret.get_secret_value()}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "--factory", "app:create_app", "--port", str(port),
        "--log-level", "warning", "--ws", "websockets-sansio", "--no-access-log", env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def _subscriber(url: str, token: str) -> ClientConnection:
    socket = await connect(url.replace("http://", "ws://") + "/graphql",
                           subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                           max_queue=None, ping_interval=None, open_timeout=120)
    await socket.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}"}}))
    await socket.recv()
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
    return socket


async def _collect(socket: ClientConnection, expected: int, arrivals: list[tuple[str, float]],
                   deadline: float) -> int:
    got = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
            while got < expected:
                message = json.loads(await socket.recv())
                if message.get("type") == "next":
                    arrivals.append((message["payload"]["data"]["accountChanged"]["id"],
                                     time.perf_counter()))
                    got += 1
    return got


async def _burst(stores: Stores, token: str, count: int) -> dict[str, float]:
    actor = await sessions.authenticate(stores.ledger, stores.settings, token)
    committed: dict[str, float] = {}
    for n in range(count):
        async with stores.uow(RequestMeta(actor="system:bench")) as uow:
            made = await accounts.create(uow, actor, AccountDraft(
                name=f"订阅压测{n}公司", uscc=_uscc(n), region="华东", industry="机械制造"))
        committed[_gid(made.id)] = time.perf_counter()
    return committed


def _gid(account_id: uuid.UUID) -> str:
    import base64

    return base64.b64encode(f"Account:{account_id}".encode()).decode()


def _uscc(n: int) -> str:
    import random

    from services.uscc import make_uscc

    return make_uscc(random.Random(10_000_000 + n + time.time_ns()), division="310000")


async def _round(url: str, server: psutil.Process, stores: Stores, token: str,
                 subscribers: int, events: int) -> Figures:
    before = server.memory_info().rss
    sockets: list[ClientConnection] = []
    audited = await _audited(stores)
    for start in range(0, subscribers, _SUBSCRIBE_BATCH):
        sockets += await asyncio.gather(*[_subscriber(url, token) for _ in range(
            min(_SUBSCRIBE_BATCH, subscribers - start))])
        while await _audited(stores) < audited + len(sockets):  # noqa: ASYNC110 - a DB poll
            await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # the last listeners register right after their audit record
    rss = (server.memory_info().rss - before) / (subscribers / 1000) / 2**20
    arrivals: list[list[tuple[str, float]]] = [[] for _ in sockets]
    deadline = time.monotonic() + 60 + events * subscribers / 5000
    collectors = [asyncio.create_task(_collect(one, events, arrivals[n], deadline))
                  for n, one in enumerate(sockets)]
    committed = await _burst(stores, token, events)
    received = await asyncio.gather(*collectors)
    latencies = sorted((at - committed[key]) * 1000 for one in arrivals for key, at in one
                       if key in committed)
    for one in sockets:
        await one.close()
    lost = subscribers * events - sum(received)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Figures(subscribers, events, quantiles[49], quantiles[98], lost, rss)


async def _audited(stores: Stores) -> int:
    async with stores.read() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditRecord).where(
            AuditRecord.operation == "subscription.accountChanged")) or 0)


class _Receiver:
    def __init__(self, expected: int) -> None:
        self.got, self.expected, self.done = 0, expected, asyncio.Event()

    async def hook(self, request: Request) -> Response:
        await request.body()
        self.got += 1
        if self.got >= self.expected:
            self.done.set()
        return Response(status_code=204)


async def _webhooks(url: str, client: httpx.AsyncClient, stores: Stores, token: str,
                    count: int) -> float:
    receiver = _Receiver(count)
    async with serve_asgi(Starlette(routes=[Route("/hook", receiver.hook,
                                                  methods=["POST"])])) as target:
        issued = (await client.post("/graphql", json={"query": """mutation {
          apiTokenCreate(input: {name: "bench", permissions: ["account:read"]}) {
            apiToken { id } } }"""})).json()["data"]["apiTokenCreate"]["apiToken"]["id"]
        await client.post("/graphql", json={"query": """mutation($i: WebhookEndpointCreateInput!) {
          webhookEndpointCreate(input: $i) { endpoint { id } } }""", "variables": {"i": {
            "url": f"{target}/hook", "eventTypes": ["account.created"],
            "secret": "bench-secret-0123456789", "apiTokenId": issued}}})
        started = time.perf_counter()
        await _burst(stores, token, count)
        await asyncio.wait_for(receiver.done.wait(), 300)
        return count / (time.perf_counter() - started)


async def measure(sizes: list[int], burst: int) -> list[str]:
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-subs-"))
    lines: list[str] = []
    with stores_up(BenchConfig.from_env(), workdir) as urls:
        upgrade(urls.database)
        settings = app_settings(urls, workdir)
        async with direct_stores(settings) as stores, _server(settings, workdir) as (
                url, server), httpx.AsyncClient(base_url=url, timeout=60) as client:
            await log_in_admin(stores, client)
            token = client.headers["Authorization"].removeprefix("Bearer ")
            for subscribers in sizes:
                progress(f"subscriptions: {subscribers:,} subscribers, a burst of {burst:,}")
                found = await _round(url, server, stores, token, subscribers, burst)
                lines.append(
                    f"{found.subscribers:>6,} subscribers × {found.events:,} events: "
                    f"p50 {found.p50_ms:.0f} ms, p99 {found.p99_ms:.0f} ms, lost "
                    f"{found.lost}, server RSS {found.rss_per_1000_mib:.1f} MiB / 1,000 "
                    "subscribers")
                progress(lines[-1])  # on record even if a later round fails
            progress("webhooks: deliveries to a local receiver")
            rate = await _webhooks(url, client, stores, token, burst)
            lines.append(f"webhooks: {rate:.0f} deliveries/s ({burst:,} events, signed, "
                         "one endpoint, worker in the app process)")
    return lines


def run() -> str:
    sizes = [int(one) for one in os.environ.get("BENCH_SUBSCRIBERS", "1000 5000").split()]
    burst = int(os.environ.get("BENCH_BURST", "1000"))
    return "\n".join(["", "=== subscriptions and webhooks ===", *asyncio.run(
        measure(sizes, burst))])


if __name__ == "__main__":
    print(run())
