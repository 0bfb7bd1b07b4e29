"""`crm serve` heals its embedded stores: a killed FalkorDB or PostgreSQL is restarted in place,
`/readyz` reports the outage and the recovery, writes made meanwhile reach the graph; a killed
app takes its store processes with it, and the next start finds its data.

One server is shared by the tests of this module, which run in order (the last one kills it).
Times to heal are printed (`pytest -s`), never asserted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from supervision import Supervisor, backoff
from tests.conftest import free_port
from tests.factories import account_input
from tests.test_serve import ROOT, login, start, stop, store_processes, wait_ready

CREATE = """mutation($input: AccountCreateInput!) {
  accountCreate(input: $input) { account { id name } } }"""
FIND = """query($name: String!) {
  accounts(first: 10, filter: {nameContains: $name}) { edges { node { name } } } }"""
MARK = "自愈测试"  # every account this module creates has it in its name


class Server:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir, self.port = data_dir, port or free_port()
        self.process = start(data_dir, self.port)
        wait_ready(self.process, self.port)
        wait_until(lambda: self.ready()[0] == 200, 60, "ready after start")
        self.token = login(self.port)

    def ready(self) -> tuple[int, dict[str, Any]]:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=5)
        except httpx.HTTPError:
            return 0, {}
        body: dict[str, Any] = response.json()
        return response.status_code, body

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"http://127.0.0.1:{self.port}/graphql", timeout=60,
                              json={"query": query, "variables": variables},
                              headers={"Authorization": f"Bearer {self.token}"})
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def create_account(self, name: str) -> None:
        self.graphql(CREATE, {"input": account_input(name=name, uscc=None)})

    def marked_accounts(self) -> set[str]:
        edges = self.graphql(FIND, {"name": MARK})["accounts"]["edges"]
        return {edge["node"]["name"] for edge in edges}

    def child(self, name: str) -> psutil.Process:
        """The store server this app started: a direct child of the app process."""
        children = [proc for proc in psutil.Process(self.process.pid).children()
                    if proc.name() == name]
        assert len(children) == 1, children
        return children[0]


READY = {"status": "ready", "ledger": "up", "graph": "up", "migrations": "current",
         "reasons": []}


def readiness(body: dict[str, Any]) -> dict[str, Any]:
    """/readyz without the lag figure, which moves with every write."""
    return {key: value for key, value in body.items() if key != "projectorLagSeconds"}


def wait_until(condition: Any, timeout: float, what: str) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, f"not {what} within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - began


def kill_and_heal(server: Server, store: str, process: psutil.Process) -> float:
    """SIGKILL a store's process, see /readyz report it down, then ready again; seconds."""
    killed = time.monotonic()
    process.kill()
    process.wait(10)
    seen: list[dict[str, Any]] = []

    def not_ready() -> bool:
        status, body = server.ready()
        seen.append(body)
        return status == 503

    try:
        wait_until(not_ready, 10, "reported down")
    except AssertionError as error:
        raise AssertionError(f"{error}; /readyz said {seen[-3:]}") from None
    assert seen[-1]["status"] == "not ready"
    assert seen[-1][store] == "down"
    wait_until(lambda: server.ready()[0] == 200, 60, "ready again")
    healed = time.monotonic() - killed
    assert readiness(server.ready()[1]) == READY
    print(f"\n{store} killed: ready again after {healed:.2f} s", flush=True)
    return healed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("heal") / "data")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            stop(running.process)


def crm(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "GRAPH_URL", "FIELD_KEYS", "BLIND_INDEX_KEY"}}
    env["DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,  # noqa: S603
                          text=True, capture_output=True, timeout=120, check=False)


def test_killed_graph_is_restarted_and_catches_up(server: Server) -> None:
    assert readiness(server.ready()[1]) == READY
    redis = server.child("redis-server")
    port = redis.net_connections("tcp")[0].laddr.port

    killed = time.monotonic()
    redis.kill()
    redis.wait(10)
    # The graph is down, the ledger is not: writes are acknowledged and wait in the outbox.
    server.create_account(f"{MARK}图谱宕机期间有限公司")
    status, body = server.ready()
    wait_until(lambda: server.ready()[0] == 200, 60, "ready again")
    print(f"\nFalkorDB killed: ready again after {time.monotonic() - killed:.2f} s", flush=True)
    if status == 503:  # usually; unless the restart beat the write's own wait
        assert body["graph"] in {"down", "catching up"}, body

    again = server.child("redis-server")
    assert again.pid != redis.pid
    assert again.net_connections("tcp")[0].laddr.port == port  # the URL the app holds
    verified = crm(server.data_dir, "graph", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "graph and ledger agree" in verified.stdout
    assert "not yet projected" not in verified.stdout
    # And once more, to see /readyz report the outage itself.
    kill_and_heal(server, "graph", server.child("redis-server"))


def test_killed_postgres_is_restarted_with_every_acknowledged_write(server: Server) -> None:
    server.create_account(f"{MARK}账本宕机之前有限公司")
    kill_and_heal(server, "ledger", server.child("postgres"))
    server.create_account(f"{MARK}账本恢复之后有限公司")
    assert server.marked_accounts() == {f"{MARK}图谱宕机期间有限公司",
                                        f"{MARK}账本宕机之前有限公司",
                                        f"{MARK}账本恢复之后有限公司"}
    verified = crm(server.data_dir, "graph", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_killed_app_takes_its_stores_along_and_the_next_start_has_the_data(
        server: Server) -> None:
    assert set(store_processes(server.data_dir)) == {"postgres", "redis-server"}
    killed = time.monotonic()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(30)
    output = server.process.output
    # Each death and each restart was logged as a warning.
    for store in ("graph", "graph", "ledger"):
        # One structured warning line each (crm.supervisor), JSON off a terminal.
        output = output.split(f"the embedded {store} store died", 1)[1]
        assert f"the embedded {store} store is back after" in output
    gone = wait_until(lambda: store_processes(server.data_dir) == [], 15, "stores gone")
    print(f"\napp killed: its store processes gone after {time.monotonic() - killed:.2f} s "
          f"({gone:.2f} s after the app)", flush=True)

    began = time.monotonic()
    again = Server(server.data_dir)
    try:
        print(f"restart on the same DATA_DIR ready after {time.monotonic() - began:.2f} s",
              flush=True)
        assert len(again.marked_accounts()) == 3
    finally:
        output = stop(again.process)
    assert "demo data: already present, left alone" in output
    assert again.process.returncode == 0
    assert store_processes(server.data_dir) == []


class Flaky:
    """A store that dies once and needs `failures` failed restarts before one works."""

    def __init__(self, failures: int) -> None:
        self.failures, self.restarts, self.up, self.stopped = failures, 0, False, False

    def alive(self) -> bool:
        return self.up

    def restart(self) -> None:
        self.restarts += 1
        if self.restarts <= self.failures:
            raise RuntimeError(f"still broken ({self.restarts})")
        self.up = True

    def stop(self) -> None:
        self.stopped = True


def test_backoff_doubles_up_to_its_cap() -> None:
    assert list(islice(backoff(0.5, 8.0), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_supervisor_retries_a_failing_restart_until_it_works(
        caplog: pytest.LogCaptureFixture) -> None:
    store = Flaky(failures=4)
    supervisor = Supervisor({"graph": store}, poll_seconds=0.01, backoff_first=0.01,
                            backoff_cap=0.04)
    with caplog.at_level("WARNING", logger="crm.supervisor"):
        supervisor.start()
        wait_until(lambda: store.up, 10, "restarted")
        assert supervisor.down() == frozenset()
        supervisor.close()
    assert store.restarts == 5
    assert store.stopped  # the supervisor stops what it supervised
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0] == "the embedded graph store died; restarting it"
    failures = messages[1:5]
    assert all(message.startswith(f"restart {n} of the embedded graph store failed, next in ")
               and message.endswith(f" s: still broken ({n})")
               for n, message in enumerate(failures, start=1)), failures
    assert messages[5].startswith("the embedded graph store is back after ")
    assert messages[5].endswith("(attempt 5)")
