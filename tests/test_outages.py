"""Store outages: every answer is typed, UNAVAILABLE with Retry-After while a store is down."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from logging import WARNING
from typing import Any

import httpx
import pytest
import websockets
from psycopg import OperationalError as PsycopgOperationalError
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from app import create_app
from graph.embedded import EmbeddedFalkorDB
from relational.database import make_engine
from relational.uow import UnitOfWork
from settings import Settings
from tests.conftest import Api, free_port, serving
from tests.factories import account_input

ACCOUNTS = "{ accounts(first: 5) { totalCount } }"
PROTOCOL: Any = "graphql-transport-ws"


class Proxy:
    """A TCP relay in front of the session's PostgreSQL that can cut every connection and
    refuse new ones: a ledger outage without stopping the shared server."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.close()
        self.writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            writer.close()
            return
        self.writers.update({writer, up_writer})

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, RuntimeError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def ledger_behind_proxy(settings: Settings) -> AsyncIterator[tuple[Proxy, str]]:
    url = make_url(settings.database_url or "")
    # The embedded server listens on a unix socket only (`?host=<dir>&port=<n>`).
    socket_dir, port = str(url.query["host"]), str(url.query["port"])
    proxy = Proxy(f"{socket_dir}/.s.PGSQL.{port}")
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port, query={}).render_as_string(
        hide_password=False)
    second = settings.model_copy(update={"database_url": proxied, "db_pool_timeout_seconds": 1,
                                         "db_connect_timeout_seconds": 1})
    try:
        async with serving(create_app(second)) as base:
            yield proxy, base
            await proxy.start()  # shut down against a reachable ledger
    finally:
        await proxy.cut()


def assert_unavailable(response: httpx.Response, request_id: str | None = None) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"].startswith("application/json")
    header_id = response.headers["x-request-id"]
    body: dict[str, Any] = response.json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UNAVAILABLE", "retryAfter": 2,
                                   "requestId": request_id or header_id}
    assert error["message"] == "the ledger is unavailable; retry after 2 s"
    assert header_id == (request_id or header_id)


async def test_every_path_answers_unavailable_while_the_ledger_is_down(
    api: Api, settings: Settings
) -> None:
    token = await api.token("admin")
    async with (ledger_behind_proxy(settings) as (proxy, base),
                httpx.AsyncClient(base_url=base, timeout=30) as client):
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200, healthy.text
        await proxy.cut()
        auth = {"authorization": f"Bearer {token}"}
        assert_unavailable(await client.post(
            "/graphql", json={"query": ACCOUNTS}, headers={**auth, "x-request-id": "pg1"}),
            "pg1")
        assert_unavailable(await client.get("/healthz"))
        assert_unavailable(await client.get("/audit/export.csv", headers=auth))
        answers = await asyncio.gather(*[
            client.post("/graphql", json={"query": ACCOUNTS}, headers=auth)
            for _ in range(20)])
        for answer in answers:
            assert_unavailable(answer)


TREE = """query($id: ID!) { account(id: $id) { groupTree(depth: 2) { ancestors { depth } } } }"""
CREATE = """mutation($input: AccountCreateInput!) {
  accountCreate(input: $input) { account { id } projectionPending } }"""


async def test_graph_down_reads_answer_unavailable_and_writes_are_kept(
    api: Api, settings: Settings, falkor: EmbeddedFalkorDB, caplog: pytest.LogCaptureFixture
) -> None:
    if not (settings.graph_url or "").startswith("falkordb://"):
        pytest.skip("stopping the graph is only possible for the embedded engine")
    created = await api.data(CREATE, {"input": account_input(name="甲")})
    account_id = created["accountCreate"]["account"]["id"]
    await api.projector.drain()
    falkor.stop()
    try:
        body = await api.post(TREE, {"id": account_id}, **{"x-request-id": "gd1"})
        [error] = body["errors"]
        assert error["extensions"] == {"code": "UNAVAILABLE", "retryAfter": 2,
                                       "requestId": "gd1"}
        assert error["message"] == "the relationship graph is unavailable; retry after 2 s"
        [logged] = [record for record in caplog.records if "gd1" in record.getMessage()]
        assert (logged.name, logged.levelno, logged.exc_info) == ("crm.graphql", WARNING, None)
        assert logged.getMessage().startswith("UNAVAILABLE (request gd1): GraphUnavailable")
        written = await api.data(CREATE, {"input": account_input(name="乙")})
        assert written["accountCreate"]["projectionPending"] is True
        assert await api.scalar("SELECT count(*) FROM accounts") == 2
    finally:
        falkor.start()
    await api.projector.drain()
    assert await api.scalar("SELECT count(*) FROM outbox WHERE projected_at IS NULL") == 0


async def test_an_operation_over_websocket_answers_unavailable_while_the_ledger_is_down(
    api: Api, settings: Settings
) -> None:
    token = await api.token("admin")
    async with ledger_behind_proxy(settings) as (proxy, base):
        await proxy.cut()
        async with websockets.connect(
            base.replace("http://", "ws://") + "/graphql", subprotocols=[PROTOCOL],
            additional_headers={"authorization": f"Bearer {token}", "x-request-id": "ws1"},
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await socket.recv()) == {"type": "connection_ack"}
            await socket.send(json.dumps({"type": "subscribe", "id": "1",
                                          "payload": {"query": ACCOUNTS}}))
            answer = json.loads(await socket.recv())
    assert answer["type"] == "next" and answer["id"] == "1", answer
    [error] = answer["payload"]["errors"]
    assert error["extensions"] == {"code": "UNAVAILABLE", "retryAfter": 2, "requestId": "ws1"}
    assert error["message"] == "the ledger is unavailable; retry after 2 s"


async def test_a_rate_counter_commit_cut_short_is_unavailable_not_outcome_unknown(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = UnitOfWork._send_commit

    async def flaky(self: UnitOfWork) -> None:
        await original(self)
        if self.meta.actor == "system:rateLimit":
            raise OperationalError("COMMIT", None, PsycopgOperationalError("connection lost"))

    monkeypatch.setattr(UnitOfWork, "_send_commit", flaky)
    response = await api.client.post("/graphql", json={"query": ACCOUNTS},
                                     headers={"x-request-id": "rl1"})
    assert_unavailable(response, "rl1")


async def test_waits_on_the_ledger_are_bounded_by_the_settings(settings: Settings) -> None:
    engine = make_engine(settings.database_url or "", pool_size=2, connect_timeout=4,
                         pool_timeout=1.5)
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.timeout() == 1.5
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            dsn = raw.driver_connection.info.get_parameters()  # type: ignore[union-attr]
            assert dsn["connect_timeout"] == "4"
    finally:
        await engine.dispose()
    assert (settings.db_connect_timeout_seconds, settings.db_pool_timeout_seconds) == (3, 3.0)
