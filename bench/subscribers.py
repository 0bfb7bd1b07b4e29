"""The subscriber side of bench/subscriptions.py, in processes of its own so that the figures
are the server's, not the client's: `python -m bench.subscribers URL N EVENTS OUT`, the access
token in `BENCH_TOKEN` (not on the command line, where `ps` shows it).

It opens N graphql-transport-ws sockets with one `accountChanged` subscription each, prints
`ready` once all are acknowledged and subscribed, and notes when each `next` arrives
(CLOCK_MONOTONIC, the same clock in every process of the machine). Given the path of the
commit times on stdin (`{global id: monotonic seconds}` as JSON), it writes OUT: the count
received per socket and every delivery latency in milliseconds."""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

QUERY = "subscription { accountChanged { id kind } }"
_OPEN_BATCH = 25


async def _subscriber(url: str, token: str) -> ClientConnection:
    socket = await connect(url.replace("http://", "ws://") + "/graphql",
                           subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                           max_queue=None, ping_interval=None, open_timeout=300)
    await socket.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}"}}))
    await socket.recv()
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
    return socket


async def _collect(socket: ClientConnection, expected: int,
                   arrivals: list[tuple[str, float]]) -> None:
    retries = 0
    with contextlib.suppress(Exception):  # a close ends the count: what arrived is counted
        while len(arrivals) < expected:
            message = json.loads(await socket.recv())
            data = (message.get("payload") or {}).get("data") if isinstance(
                message.get("payload"), dict) else None
            if message.get("type") == "next" and data:
                arrivals.append((data["accountChanged"]["id"], time.monotonic()))
            elif (message.get("type") in {"error", "next"} and not arrivals
                  and retries < 10):
                # Refused before any event (a loaded server answers UNAVAILABLE): again.
                retries += 1
                await asyncio.sleep(1)
                await socket.send(json.dumps({"id": f"retry{retries}", "type": "subscribe",
                                              "payload": {"query": QUERY}}))


async def main(url: str, token: str, count: int, events: int, out: Path) -> None:
    sockets: list[ClientConnection] = []
    for start in range(0, count, _OPEN_BATCH):
        sockets += await asyncio.gather(*[_subscriber(url, token) for _ in range(
            min(_OPEN_BATCH, count - start))])
    arrivals: list[list[tuple[str, float]]] = [[] for _ in sockets]
    collectors = [asyncio.create_task(_collect(one, events, arrivals[n]))
                  for n, one in enumerate(sockets)]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    committed_at = Path((await loop.run_in_executor(None, sys.stdin.readline)).strip())
    grace = float((await loop.run_in_executor(None, sys.stdin.readline)).strip() or "60")
    await asyncio.wait(collectors, timeout=grace)
    for task in collectors:
        task.cancel()
    await loop.run_in_executor(None, _write, arrivals, committed_at, out)
    for socket in sockets:
        with contextlib.suppress(Exception):
            await socket.close()


def _write(arrivals: list[list[tuple[str, float]]], committed_at: Path, out: Path) -> None:
    committed: dict[str, float] = json.loads(committed_at.read_text())
    latencies = array.array("d", ((at - committed[key]) * 1000 for one in arrivals
                                  for key, at in one if key in committed))
    out.write_text(json.dumps({"received": [len(one) for one in arrivals]}))
    out.with_suffix(".lat").write_bytes(latencies.tobytes())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], os.environ["BENCH_TOKEN"], int(sys.argv[2]),
                     int(sys.argv[3]), Path(sys.argv[4])))
