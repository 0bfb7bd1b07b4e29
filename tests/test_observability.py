"""What an operator watches, through real HTTP: `/metrics` values moving under requests (and
refused from other hosts without the token), one JSON log line per operation without secrets
or personal fields, and `/readyz` turning false while the graph is stopped (with the reason)
and true again."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import Receive, Scope, Send

from app import create_app
from graph.embedded import EmbeddedFalkorDB
from observability import configure_logging
from services.identity.users import DEMO_PASSWORD
from settings import Settings
from tests.conftest import LOGIN, Api, serving
from tests.factories import make_account, make_contact

PHONE = "+86 139-1234-5678"
EMAIL = "li.na@example.cn"
READ_PHONE = "query($id: ID!) { node(id: $id) { ... on Contact { phone email } } }"


async def scrape(api: Api) -> dict[str, float]:
    """`/metrics` as {series: value}."""
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            values[series] = float(value)
    return values


def moved(before: dict[str, float], after: dict[str, float], series: str) -> float:
    return after.get(series, 0.0) - before.get(series, 0.0)


async def test_metrics_move_under_real_requests(api: Api) -> None:
    account = await make_account(api)
    contact = await make_contact(api, account, phone=PHONE, email=EMAIL)
    await api.projector.drain()
    before = await scrape(api)
    await api.post("query Dashboard { me { id } }")
    await api.post("query Dashboard { me { id } }")
    await api.as_user("finance").post("query ReadPhone($id: ID!) { node(id: $id) { "
                                      "... on Contact { phone email } } }", {"id": contact})
    await api.anonymous.post("mutation Login($u: String!, $p: String!) { login(input: "
                             "{username: $u, password: $p}) { accessToken } }",
                             {"u": "sales.east", "p": "wrong password"})
    await api.post("query Broken { nothing }")
    after = await scrape(api)
    ok = 'operation="Dashboard",outcome="OK"'
    assert moved(before, after, f"crm_graphql_requests_total{{{ok}}}") == 2
    assert moved(before, after, f"crm_graphql_request_seconds_count{{{ok}}}") == 2
    assert moved(before, after, 'crm_graphql_requests_total{operation="Login",'
                                'outcome="UNAUTHENTICATED"}') == 1
    assert moved(before, after, 'crm_graphql_requests_total{operation="Broken",'
                                'outcome="BAD_USER_INPUT"}') == 1
    assert moved(before, after, "crm_login_failures_total") == 1
    # finance reads phone and email of one contact: two protected fields (masked or not).
    assert moved(before, after, 'crm_sensitive_reads_total{role="finance"}') == 2
    assert after["crm_outbox_backlog"] == 0
    assert after["crm_projector_lag_seconds"] == 0
    assert after["crm_db_pool_in_use"] >= 0
    assert "crm_db_pool_waiting" in after
    assert "crm_graph_round_trips_total" in after
    buckets = [series for series in after
               if series.startswith("crm_graphql_request_seconds_bucket") and ok in series]
    assert len(buckets) == 12  # eleven bounds and +Inf


@pytest.fixture
async def lifespan_app(settings: Settings) -> AsyncIterator[
        tuple[object, dict[str, object]]]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("s3cret-metrics"),
                                                 "anonymous_rate_limit_per_minute": 2}))
    async with app.router.lifespan_context(app) as state:
        yield app, dict(state or {})


async def test_metrics_from_another_host_need_the_token_and_count_rate_limits(
        api: Api, lifespan_app: tuple[object, dict[str, object]]) -> None:
    app, state = lifespan_app

    async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await app(scope, receive, send)  # type: ignore[operator]

    transport = httpx.ASGITransport(with_state, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as remote:
        before = await scrape(api)
        codes = [(await remote.post("/graphql", json={"query": "{ me { id } }"})).status_code
                 for _ in range(3)]
        after = await scrape(api)
        refused = await remote.get("/metrics")
        wrong = await remote.get("/metrics", headers={"authorization": "Bearer nope"})
        allowed = await remote.get("/metrics",
                                   headers={"authorization": "Bearer s3cret-metrics"})
    # A minute boundary may reset the window once between the three requests.
    assert moved(before, after, "crm_rate_limit_refusals_total") == codes.count(429)
    assert codes.count(429) in {0, 1} and codes[0] == 200
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert wrong.status_code == 403
    assert allowed.status_code == 200
    assert "crm_graphql_requests_total" in allowed.text


@pytest.fixture
def captured_log(settings: Settings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(settings.model_copy(update={"log_format": "auto"}), stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def test_one_json_line_per_request_and_no_secrets(api: Api,
                                                        captured_log: io.StringIO) -> None:
    token = await api.token("admin")
    account = await make_account(api, name="华东保密客户有限公司")
    contact = await make_contact(api, account, name="王秘书", phone=PHONE, email=EMAIL)
    response = await api.client.post("/graphql", json={
        "query": READ_PHONE, "variables": {"id": contact}},
        headers={"authorization": f"Bearer {token}", "x-request-id": "req42"})
    assert response.json()["data"]["node"]["phone"] == PHONE
    await api.anonymous.post(LOGIN, {"u": "admin", "p": DEMO_PASSWORD})
    await api.anonymous.post(LOGIN, {"u": "admin", "p": "Wrong-Passw0rd!"})
    text = captured_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    requests = [line for line in lines if line.get("event") == "graphql"]
    mine = [line for line in requests if line["request_id"] == "req42"]
    assert len(mine) == 1
    assert {key: mine[0][key] for key in ("actor", "outcome", "kind", "level", "logger")} == {
        "actor": "admin", "outcome": "OK", "kind": "query", "level": "info",
        "logger": "crm.request"}
    assert isinstance(mine[0]["duration_ms"], float)
    assert mine[0]["graph_round_trips"] >= 0
    assert [line["outcome"] for line in requests[-2:]] == ["OK", "UNAUTHENTICATED"]
    digits = re.sub(r"\D", "", PHONE)
    for secret in (PHONE, digits, digits[-8:], EMAIL, "li.na", DEMO_PASSWORD,
                   "Wrong-Passw0rd!", token, token.split(".")[-1], "王秘书",
                   "华东保密客户有限公司"):
        assert secret not in text, secret


@pytest.fixture
async def own_graph(tmp_path: Path) -> AsyncIterator[EmbeddedFalkorDB]:
    server = EmbeddedFalkorDB(tmp_path / "graph")
    server.start()
    yield server
    server.stop()


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    response = await client.get("/readyz")
    body: dict[str, object] = response.json()
    return response.status_code, body


async def test_readiness_turns_false_while_the_graph_is_stopped_and_true_again(
        api: Api, settings: Settings, own_graph: EmbeddedFalkorDB) -> None:
    app = create_app(settings.model_copy(update={
        "graph_url": own_graph.start(), "graph_name": "readiness",
        "ready_max_projector_lag_seconds": 0.5}))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert await _ready(client) == (200, {
            "status": "ready", "ledger": "up", "graph": "up", "migrations": "current",
            "projectorLagSeconds": 0.0, "reasons": []})
        own_graph.stop()
        status, body = await _ready(client)
        assert status == 503
        assert body["graph"] == "down"
        assert body["reasons"] == ["the graph does not answer"]
        own_graph.restart()
        status, body = await _ready(client)
        assert (status, body["graph"], body["reasons"]) == (200, "up", [])


async def test_readiness_names_migrations_behind(api: Api) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        from sqlalchemy import text

        revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        await session.commit()
        try:
            response = await api.client.get("/readyz")
        finally:
            await session.execute(text("UPDATE alembic_version SET version_num = :v"),
                                  {"v": revision})
            await session.commit()
    assert response.status_code == 503
    body = response.json()
    assert body["migrations"] == "behind"
    assert body["reasons"] == [f"the ledger is at migration 0001, the code needs {revision}: "
                               "run `crm migrate`"]
