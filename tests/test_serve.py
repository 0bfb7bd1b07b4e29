"""`crm serve` (what `make run` runs) on a machine with nothing running: embedded stores, demo
data, GraphQL on the port; Ctrl-C stops everything; a second start keeps the data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from services.identity.users import DEMO_PASSWORD
from tests.conftest import LOGIN, free_port

ROOT = Path(__file__).resolve().parent.parent
QUERY = """{
  accounts(first: 100, filter: {nameContains: "集团有限公司"}) {
    totalCount
    edges { node { name ultimateParent { id } groupTree(depth: 5) {
      descendants { depth effectiveOwnership } }
      contacts(first: 2) { edges { node { phone email idNumber } } } } }
  }
  all: accounts { totalCount }
}"""


class Served(subprocess.Popen[str]):
    """`crm serve` as a child process whose output is read as it comes, into `lines`: nobody
    reading the pipe would let it fill (the job worker logs every job), and a full pipe blocks
    the app's event loop inside a logging call, which looks like a hung server."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        super().__init__(args, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        stream = self.stdout
        assert stream is not None
        self._reader = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        """Everything the app printed so far (all of it once it has exited)."""
        if self.poll() is not None:
            self._reader.join(10)
        return "".join(self.lines)


def start(data_dir: Path, port: int, **extra: str) -> Served:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "GRAPH_URL", "FIELD_KEYS", "BLIND_INDEX_KEY"}}
    env.update(DATA_DIR=str(data_dir), PORT=str(port), **extra)
    return Served([sys.executable, "-m", "cli", "serve"], env)


def wait_ready(server: Served, port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, server.output
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("crm serve did not come up")


def login(port: int) -> str:
    """An access token of the demo admin, whom the demo seed creates."""
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=30, json={
        "query": LOGIN, "variables": {"u": "admin", "p": DEMO_PASSWORD}})
    token: str = response.json()["data"]["login"]["accessToken"]
    return token


def query(port: int) -> dict[str, Any]:
    """QUERY as the demo admin (every operation needs a login; the admin sees every account)."""
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=30,
                          headers={"Authorization": f"Bearer {login(port)}"})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def store_processes(data_dir: Path) -> list[str]:
    """Store servers working in `data_dir` (both chdir into their data directory)."""
    found = []
    for proc in psutil.process_iter(["name", "cwd"]):
        cwd = proc.info["cwd"] or ""
        if cwd.startswith(str(data_dir)) and proc.info["name"] in {"postgres", "redis-server"}:
            found.append(proc.info["name"])
    return found


def stop(server: Served) -> str:
    """Ctrl-C, and what the app printed until it exited."""
    server.send_signal(signal.SIGINT)
    server.wait(60)
    return server.output


def test_serve_from_nothing_then_restart_keeps_data(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    server = start(data_dir, port)
    try:
        wait_ready(server, port)
        first = query(port)
        explorer = httpx.get(f"http://127.0.0.1:{port}/explore/", timeout=30)
        running = set(store_processes(data_dir))
    finally:
        output = stop(server)
    assert "demo data: seeded (225 accounts, 826 contacts, 197 shareholdings)" in output
    # `make run` serves the explorer page too, and says where.
    assert f"(explorer: http://127.0.0.1:{port}/explore)" in output
    assert explorer.status_code == 200 and "关系图谱浏览器" in explorer.text
    assert first["all"]["totalCount"] == 225
    holdings = first["accounts"]["edges"]
    assert first["accounts"]["totalCount"] == len(holdings) == 10
    assert all(item["node"]["ultimateParent"] is None for item in holdings)
    depths = [max(member["depth"] for member in item["node"]["groupTree"]["descendants"])
              for item in holdings]
    assert sorted(depths) == [2, 2, 2, 3, 3, 3, 3, 4, 4, 4]
    assert server.returncode == 0
    assert running == {"postgres", "redis-server"}
    assert store_processes(data_dir) == []
    # Field keys were generated once; the restart must read the same ones (the query compares
    # decrypted phones, e-mails and ID-card numbers).
    assert (data_dir / "keys.env").stat().st_mode & 0o777 == 0o600
    assert all(any(node["node"]["phone"] for node in item["node"]["contacts"]["edges"])
               for item in holdings)

    again = start(data_dir, port)
    try:
        wait_ready(again, port)
        assert query(port) == first
    finally:
        output = stop(again)
    assert "demo data: already present, left alone" in output
    assert store_processes(data_dir) == []
