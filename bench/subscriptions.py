"""Subscriptions and webhooks under load (`make bench`, or alone: `python -m bench.subscriptions`).

The app runs in its own process (its RSS is measured alone) on fresh embedded stores; the N
graphql-transport-ws subscribers (`accountChanged`, as one admin) run in processes of their own
(`bench.subscribers`, `BENCH_CLIENT_PROCESSES`, default 2), so that a slow client does not pass
for a slow server; this process commits a burst of accounts straight through the use case, one
after another (each commit time noted), and measures each event's delivery latency to every
subscriber, the events lost (must be 0) and the server's RSS per 1,000 subscribers. Then a
webhook endpoint to a local receiver: a burst committed by 4 writers at once, and the
deliveries per second from its start to the last delivery.

`BENCH_SUBSCRIBERS` (default "1000 5000") and `BENCH_BURST` (default 1000) set the sizes."""

from __future__ import annotations

import array
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


async def _burst(stores: Stores, token: str, count: int, *, writers: int = 1,
                 offset: int = 0) -> dict[str, float]:
    if writers > 1:
        shares = await asyncio.gather(*[_burst(
            stores, token, count // writers + (1 if n < count % writers else 0),
            offset=offset + n * 1_000_000) for n in range(writers)])
        return {key: at for share in shares for key, at in share.items()}
    actor = await sessions.authenticate(stores.ledger, stores.settings, token)
    committed: dict[str, float] = {}
    for n in range(offset, offset + count):
        async with stores.uow(RequestMeta(actor="system:bench")) as uow:
            made = await accounts.create(uow, actor, AccountDraft(
                name=f"订阅压测{n}公司", uscc=_uscc(n), region="华东", industry="机械制造"))
        committed[_gid(made.id)] = time.monotonic()
    return committed


def _gid(account_id: uuid.UUID) -> str:
    import base64

    return base64.b64encode(f"Account:{account_id}".encode()).decode()


def _uscc(n: int) -> str:
    import random

    from services.uscc import make_uscc

    return make_uscc(random.Random(10_000_000 + n + time.time_ns()), division="310000")


async def _clients(url: str, token: str, subscribers: int, events: int,
                   workdir: Path) -> list[tuple[asyncio.subprocess.Process, Path]]:
    """The subscribers, in `BENCH_CLIENT_PROCESSES` processes of their own (bench.subscribers),
    each once it has printed `ready`."""
    processes = max(1, min(int(os.environ.get("BENCH_CLIENT_PROCESSES", "2")), subscribers))
    started: list[tuple[asyncio.subprocess.Process, Path]] = []
    for n in range(processes):
        share = subscribers // processes + (1 if n < subscribers % processes else 0)
        out = workdir / f"subscribers-{subscribers}-{n}.json"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.subscribers", url, str(share), str(events), str(out),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "BENCH_TOKEN": token})
        started.append((process, out))
    for process, _ in started:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 1800)
        if line.strip() != b"ready":
            raise RuntimeError(f"a subscriber process did not start: {line!r}")
    return started


async def _round(url: str, server: psutil.Process, stores: Stores, token: str,
                 subscribers: int, events: int, workdir: Path) -> Figures:
    before = server.memory_info().rss
    audited = await _audited(stores)
    clients = await _clients(url, token, subscribers, events, workdir)
    async with asyncio.timeout(600):  # a subscriber refused ten times would wait for ever
        while await _audited(stores) < audited + subscribers:  # noqa: ASYNC110 - a DB poll
            await asyncio.sleep(0.05)
    await asyncio.sleep(1)  # the last listeners register right after their audit record
    rss = (server.memory_info().rss - before) / (subscribers / 1000) / 2**20
    started = time.monotonic()
    committed = await _burst(stores, token, events)
    times = workdir / f"committed-{subscribers}.json"
    times.write_text(json.dumps(committed))
    grace = 60 + events * subscribers / 5000 - (time.monotonic() - started)
    received, latencies = 0, array.array("d")
    for process, _ in clients:
        assert process.stdin is not None
        process.stdin.write(f"{times}\n{max(grace, 10):.0f}\n".encode())
        await process.stdin.drain()
    for process, out in clients:
        await process.wait()
        received += sum(json.loads(out.read_text())["received"])
        latencies.frombytes(out.with_suffix(".lat").read_bytes())
    lost = subscribers * events - received
    ordered = sorted(latencies)
    quantiles = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else [0.0] * 99
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
                    count: int) -> tuple[float, float]:
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
        started = time.monotonic()
        await _burst(stores, token, count, writers=4)
        committed = time.monotonic() - started
        await asyncio.wait_for(receiver.done.wait(), 300)
        return count / committed, count / (time.monotonic() - started)


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
                found = await _round(url, server, stores, token, subscribers, burst, workdir)
                lines.append(
                    f"{found.subscribers:>6,} subscribers × {found.events:,} events: "
                    f"p50 {found.p50_ms:.0f} ms, p99 {found.p99_ms:.0f} ms, lost "
                    f"{found.lost}, server RSS {found.rss_per_1000_mib:.1f} MiB / 1,000 "
                    "subscribers")
                progress(lines[-1])  # on record even if a later round fails
            progress("webhooks: deliveries to a local receiver")
            commits, rate = await _webhooks(url, client, stores, token, burst)
            lines.append(f"webhooks: {rate:.0f} deliveries/s ({burst:,} events committed by 4 "
                         f"writers at {commits:.0f}/s, signed, one endpoint, worker in the app "
                         "process)")
    return lines


def run() -> str:
    sizes = [int(one) for one in os.environ.get("BENCH_SUBSCRIBERS", "1000 5000").split()]
    burst = int(os.environ.get("BENCH_BURST", "1000"))
    return "\n".join(["", "=== subscriptions and webhooks ===", *asyncio.run(
        measure(sizes, burst))])


if __name__ == "__main__":
    print(run())
