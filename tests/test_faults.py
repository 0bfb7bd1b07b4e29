"""The fault proof: one `crm serve` under a load of concurrent clients while, in turn, its
embedded FalkorDB, its PostgreSQL postmaster and then the app itself are killed with SIGKILL.

Clients write with an idempotency key per logical write and retry the same write after
`Retry-After` whenever the answer is UNAVAILABLE or OUTCOME_UNKNOWN (or, while the app is dead,
when nothing answers). Every answer is typed; a killed store comes back by itself; afterwards
every acknowledged write is there exactly once and both verifiers pass. The tests of this module
share one data directory and run in order. Figures are printed (`pytest -s`), never asserted."""

from __future__ import annotations

import asyncio
import itertools
import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from json import JSONDecodeError
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.factories import account_input
from tests.test_self_healing import Server, crm, wait_until
from tests.test_serve import store_processes

MARK = "故障证明"  # every account this module creates has it in its name
CLIENTS = 8
BEFORE_FAULT = 2.5  # seconds of load before the fault
AFTER_HEAL = 1.5  # seconds of load after /readyz answers 200 again
PATIENCE = 90.0  # generous bound on waiting for a recovery or an acknowledgement
OUTAGE_CODES = {"UNAVAILABLE", "OUTCOME_UNKNOWN"}
# Eight busy clients must not trip the per-user limits, and tokens must survive a restart.
ENV = {"RATE_LIMIT_PER_MINUTE": "1000000", "SENSITIVE_READS_PER_MINUTE": "1000000",
       "JWT_SECRET": "fault-proof-jwt-secret-0123456789abcdef"}

CREATE = """mutation($input: AccountCreateInput!) {
  accountCreate(input: $input) { account { id name } } }"""
COUNT = "{ accounts(first: 5) { totalCount } }"
TREE = """{ accounts(first: 2, filter: {nameContains: "集团有限公司"}) {
  edges { node { name groupTree(depth: 3) { descendants { depth effectiveOwnership } } } } } }"""
MARKED = """query($name: String!, $after: String) {
  accounts(first: 100, after: $after, filter: {nameContains: $name}) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id name } } } }"""


@dataclass
class Write:
    """One logical write: sent again, unchanged and under the same key, until acknowledged."""

    key: str
    input: dict[str, Any]
    attempts: int = 0
    account_id: str | None = None


@dataclass
class Load:
    """Everything the clients of one phase sent and received."""

    phase: str
    responses: list[httpx.Response] = field(default_factory=list)
    connection_errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    stop_at: float = math.inf  # clients start nothing new after this (time.monotonic())
    healed_after: float = math.nan

    @property
    def acknowledged(self) -> dict[str, str]:
        """Name → id of every acknowledged write."""
        return {write.input["name"]: write.account_id for write in self.writes
                if write.account_id is not None}


@dataclass
class Deployment:
    data_dir: Path
    server: Server
    loads: list[Load] = field(default_factory=list)
    earlier: list[Server] = field(default_factory=list)  # servers replaced by a new start

    @property
    def log(self) -> list[str]:
        """Every line the app printed, across its starts (`Served` reads it as it comes)."""
        return [line for server in [*self.earlier, self.server] for line in server.process.lines]


def body_of(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = response.json()
    except (JSONDecodeError, UnicodeDecodeError):
        return None
    return body


def retry_after(response: httpx.Response, body: dict[str, Any]) -> float:
    if "retry-after" in response.headers:
        return float(response.headers["retry-after"])
    for error in body.get("errors") or []:
        if "retryAfter" in error.get("extensions", {}):
            return float(error["extensions"]["retryAfter"])
    return 0.5


async def send(load: Load, http: httpx.AsyncClient, query: str,
               variables: dict[str, Any] | None = None) -> httpx.Response | None:
    """POST one operation and record what came back; None when nothing answered."""
    began = time.monotonic()
    try:
        response = await http.post("/graphql", json={"query": query, "variables": variables})
    except httpx.TransportError as error:
        load.connection_errors.append(type(error).__name__)
        return None
    finally:
        load.latencies.append(time.monotonic() - began)
    load.responses.append(response)
    return response


async def write(load: Load, http: httpx.AsyncClient, given: Write) -> None:
    load.writes.append(given)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        given.attempts += 1
        response = await send(load, http, CREATE, {"input": given.input})
        wait = 0.5
        if response is not None and (body := body_of(response)) is not None:
            account = ((body.get("data") or {}).get("accountCreate") or {}).get("account")
            if account is not None:
                given.account_id = account["id"]
                return
            codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
            if not codes <= OUTAGE_CODES:
                return  # not retryable; the checks of the phase report it
            wait = retry_after(response, body)
        await asyncio.sleep(wait)


async def client(load: Load, http: httpx.AsyncClient, number: int) -> None:
    for n in itertools.count():
        if time.monotonic() >= load.stop_at:
            return
        if n % 2 == 0:
            name = f"{MARK}{load.phase}客户{number}第{n}号有限公司"
            key = f"{load.phase}-{number}-{n}"
            await write(load, http, Write(key, account_input(name=name, uscc=None,
                                                             idempotencyKey=key)))
        else:
            await send(load, http, COUNT if n % 4 == 1 else TREE)


async def ready(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def until_ready(port: int) -> None:
    async with asyncio.timeout(PATIENCE):
        for _ in itertools.count():
            if await ready(port):
                return
            await asyncio.sleep(0.1)


async def under_load(deployment: Deployment, phase: str, fault: Callable[[], None]) -> Load:
    """Load, `fault()` in the middle (in a thread: the clients go on), load until a while
    after /readyz answers 200 again; then each client finishes the write it is retrying."""
    load, server = Load(phase), deployment.server
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30,
                                 headers={"Authorization": f"Bearer {server.token}"}) as http:
        clients = [asyncio.create_task(client(load, http, number)) for number in range(CLIENTS)]
        try:
            await asyncio.sleep(BEFORE_FAULT)
            faulted = time.monotonic()
            await asyncio.to_thread(fault)
            await until_ready(server.port)
            load.healed_after = time.monotonic() - faulted
            load.stop_at = time.monotonic() + AFTER_HEAL
            await asyncio.gather(*clients)
        finally:
            for task in clients:
                task.cancel()
    deployment.loads.append(load)
    return load


def marked(server: Server, name: str) -> tuple[int, list[tuple[str, str]]]:
    """totalCount and (id, name) of every account whose name contains `name`, all pages."""
    found: list[tuple[str, str]] = []
    after: str | None = None
    while True:
        page = server.graphql(MARKED, {"name": name, "after": after})["accounts"]
        found += [(edge["node"]["id"], edge["node"]["name"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return int(page["totalCount"]), found
        after = page["pageInfo"]["endCursor"]


def check_answers(load: Load, *, app_killed: bool) -> set[str]:
    """Every answer is JSON with a request id; every error is typed, with its request id, and
    an outage code. Returns the error codes seen."""
    codes: set[str] = set()
    for response in load.responses:
        assert response.headers.get("x-request-id"), response.headers
        body = body_of(response)
        assert body is not None, (response.status_code, response.text)
        for error in body.get("errors", []):
            extensions = error.get("extensions", {})
            assert extensions.get("requestId"), error
            codes.add(extensions.get("code"))
        if response.status_code == 503:
            assert response.headers.get("retry-after"), response.headers
    assert codes <= OUTAGE_CODES, codes
    if not app_killed:
        assert load.connection_errors == []
    return codes


def check_writes(deployment: Deployment, load: Load) -> int:
    """Every logical write was acknowledged and is present exactly once; so is every write of
    the earlier phases. Returns how many acknowledged writes are missing (must be 0)."""
    server = deployment.server
    assert all(write.account_id is not None for write in load.writes), [
        write.key for write in load.writes if write.account_id is None]
    acknowledged = load.acknowledged
    assert len(set(acknowledged.values())) == len(acknowledged) == len(load.writes)
    total, found = marked(server, f"{MARK}{load.phase}")
    lost = len(set(acknowledged.items()) - {(name, gid) for gid, name in found})
    assert sorted((name, gid) for gid, name in found) == sorted(acknowledged.items())
    assert total == len(found) == len(acknowledged)
    everything, _ = marked(server, MARK)
    assert everything == sum(len(each.writes) for each in deployment.loads)
    return lost


def check_retry_applies_once(server: Server, load: Load) -> int:
    """Retries of this phase; when none was needed, retry an acknowledged write by hand: the
    same key answers the same account (check_writes, after it, shows nothing was added)."""
    retries = sum(write.attempts - 1 for write in load.writes)
    if retries == 0:
        first = load.writes[0]
        again = server.graphql(CREATE, {"input": first.input})["accountCreate"]["account"]
        assert again["id"] == first.account_id
    return retries


def check_verifiers(data_dir: Path) -> None:
    graph = crm(data_dir, "graph", "verify")
    assert graph.returncode == 0, graph.stdout + graph.stderr
    assert "graph and ledger agree" in graph.stdout
    assert "not yet projected" not in graph.stdout
    audit = crm(data_dir, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "audit chain intact" in audit.stdout


def report(load: Load, lost: int, retries: int, codes: set[str]) -> None:
    attempted = len(load.responses) + len(load.connection_errors)
    print(f"\n{'fault':<10} {'attempted':>9} {'writes':>6} {'acked':>5} {'lost':>4} "
          f"{'retries':>7} {'conn.err':>8} {'worst s':>7} {'heal s':>6}  codes\n"
          f"{load.phase:<10} {attempted:>9} {len(load.writes):>6} {len(load.acknowledged):>5} "
          f"{lost:>4} {retries:>7} {len(load.connection_errors):>8} "
          f"{max(load.latencies):>7.2f} {load.healed_after:>6.2f}  {sorted(codes)}", flush=True)


def prove(deployment: Deployment, load: Load, *, app_killed: bool = False) -> None:
    codes = check_answers(load, app_killed=app_killed)
    wait_until(lambda: deployment.server.ready()[0] == 200, PATIENCE, "ready")
    retries = check_retry_applies_once(deployment.server, load)
    lost = check_writes(deployment, load)
    check_verifiers(deployment.data_dir)
    assert not [line for line in deployment.log if "unexpected error" in line]
    report(load, lost, retries, codes)
    assert lost == 0


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("faults") / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        running = Deployment(data_dir, Server(data_dir))
        try:
            yield running
        finally:
            if running.server.process.poll() is None:
                running.server.process.send_signal(signal.SIGINT)
                running.server.process.wait(60)


def kill_store(server: Server, name: str) -> Callable[[], None]:
    def fault() -> None:
        store = server.child(name)
        store.kill()
        store.wait(10)

    return fault


def assert_healed_in_place(server: Server, name: str, before: psutil.Process) -> None:
    """The store was restarted by the app (a new process, the same app), not by the test."""
    assert server.process.poll() is None
    assert server.child(name).pid != before.pid


async def test_killed_falkordb_under_load(deployment: Deployment) -> None:
    server = deployment.server
    before = server.child("redis-server")
    load = await under_load(deployment, "图谱", kill_store(server, "redis-server"))
    assert_healed_in_place(server, "redis-server", before)
    prove(deployment, load)


async def test_killed_postgres_under_load(deployment: Deployment) -> None:
    server = deployment.server
    before = server.child("postgres")
    load = await under_load(deployment, "账本", kill_store(server, "postgres"))
    assert_healed_in_place(server, "postgres", before)
    prove(deployment, load)


async def test_killed_app_under_load_then_a_new_start(deployment: Deployment) -> None:
    killed = deployment.server

    def fault() -> None:
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait(30)
        wait_until(lambda: store_processes(deployment.data_dir) == [], 15, "stores gone")
        deployment.earlier.append(killed)
        deployment.server = Server(deployment.data_dir, killed.port)

    load = await under_load(deployment, "应用", fault)
    assert deployment.server.process.pid != killed.process.pid
    prove(deployment, load, app_killed=True)
    assert load.connection_errors  # clients did see the app gone
