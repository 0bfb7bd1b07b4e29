"""Real stores for the whole session: embedded PostgreSQL, embedded FalkorDB (and Neo4j when
NEO4J_TEST_URL is set), the app served by uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from app import create_app
from auth import secrets
from composition import Runtime, open_stores
from graph.embedded import EmbeddedFalkorDB
from graph.projection import Projector
from relational.embedded import EmbeddedPostgres, create_database
from relational.identity_models import RefreshToken
from relational.migrate import upgrade
from relational.uow import RequestMeta
from services.clock import ShiftedClock
from services.identity.sessions import REFRESH_PREFIX
from services.identity.users import DEMO_PASSWORD, seed_demo_users
from services.stores import Stores
from settings import Settings
from tests.jobs_helpers import RunJobs, run_jobs_until_idle

# Fixed test keys (never used outside tests): key version 1 of the session, and the blind-index
# key that rotation tests keep when they add version 2.
FIELD_KEY_V1 = "1:" + "a1" * 16
BLIND_INDEX_KEY = "b2" * 32

ENGINES = ["falkordb"] + (["neo4j"] if os.environ.get("NEO4J_TEST_URL") else [])
# webhook_position stays: like the outbox ids, the fan-out's position runs on.
TABLES = ", ".join((
    "accounts", "contacts", "account_edges", "audit_log", "users", "refresh_tokens",
    "rate_counters", "session_step_ups", "step_up_challenges", "totp_credentials", "api_tokens",
    "departments", "idempotency_keys", "relationships", "interactions", "interaction_contacts",
    "committee_members", "influence_scores", "pipelines", "leads", "opportunities",
    "opportunity_stage_history", "quotes", "quote_lines", "quote_approvals", "signing_keys",
    "contracts", "orders", "deliveries", "payments", "returns", "tenders", "tender_milestones",
    "forecast_snapshots", "win_models", "procrastinate_jobs", "procrastinate_periodic_defers",
    "procrastinate_workers", "lifecycle_transitions", "tag_rules", "account_tags",
    "outbox_positions", "service_engineers", "calendar_days", "tickets", "ticket_history",
    "user_tasks", "notifications", "campaigns", "campaign_members", "webhook_endpoints",
    "webhook_deliveries", "webhook_attempts", "care_preferences", "contact_dates",
))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session", autouse=True)
def field_keys_env() -> Iterator[None]:
    """`crm` subprocesses get the session's keys too: no test may generate a key file in the
    developer's ./.data."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIELD_KEYS", FIELD_KEY_V1)
        patch.setenv("BLIND_INDEX_KEY", BLIND_INDEX_KEY)
        yield


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", port=free_port())
    url = create_database(server.start(), "crm_test")
    upgrade(url)
    yield url
    server.stop()


@pytest.fixture(scope="session")
def falkor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedFalkorDB]:
    server = EmbeddedFalkorDB(tmp_path_factory.mktemp("graph"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=ENGINES)
def graph_url(request: pytest.FixtureRequest, falkor: EmbeddedFalkorDB) -> str:
    if request.param == "neo4j":
        return os.environ["NEO4J_TEST_URL"]
    return falkor.start()


@pytest.fixture(scope="session")
def settings(pg_url: str, graph_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        database_url=pg_url, graph_url=graph_url, projector_retry_seconds=0.2, seed_demo=False,
        # Jobs run when a test says so (`run_jobs_until_idle`), never behind its back.
        worker_in_process=False,
        login_backoff_seconds=0.01, data_dir=Path(".data-test"), _env_file=None,
        # Cheap password hashes: the suite logs in thousands of times.
        password_hash_memory_kib=1024, password_hash_time_cost=1,
        field_keys=SecretStr(FIELD_KEY_V1), blind_index_key=SecretStr(BLIND_INDEX_KEY))


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` served by uvicorn in this process on a free loopback port; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                            lifespan="on", ws="websockets-sansio")
    served = uvicorn.Server(config)
    task = asyncio.create_task(served.serve())
    while not served.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        served.should_exit = True
        await task


@pytest.fixture(scope="session")
def clock() -> ShiftedClock:
    """The clock of the test app and of the jobs the tests run: `clock.advance(...)` moves
    time on; every test starts at wall-clock time (`api` resets it)."""
    return ShiftedClock()


@pytest.fixture(scope="session")
async def server(settings: Settings, clock: ShiftedClock) -> AsyncIterator[str]:
    async with serving(create_app(settings, clock=clock)) as url:
        yield url


@pytest.fixture(scope="session")
async def runtime(settings: Settings, clock: ShiftedClock) -> AsyncIterator[Runtime]:
    async with open_stores(settings, pool_size=4, clock=clock) as opened:
        await opened.stores.graph.ensure_schema()
        yield opened


@pytest.fixture(scope="session")
def stores(runtime: Runtime) -> Stores:
    return runtime.stores


@pytest.fixture(scope="session")
def projector(runtime: Runtime) -> Projector:
    return runtime.projector


async def empty(session: AsyncSession) -> None:
    await session.execute(text(f"TRUNCATE {TABLES}, roles RESTART IDENTITY CASCADE"))
    # Event ids are never reused in a live ledger, and the app's projector remembers the
    # recent ones it applied (writers wait on them): the outbox keeps counting.
    await session.execute(text("TRUNCATE outbox CONTINUE IDENTITY"))


async def reset(stores: Stores, projector: Projector) -> None:
    await projector.drain()
    async with stores.ledger.sessionmaker() as session:
        await empty(session)
        await session.commit()
    await stores.graph.clear()


DEMO_USERS = ("admin", "manager.east", "sales.east", "sales.north", "finance", "service",
              "auditor")
LOGIN = """mutation($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { accessToken } }"""
# The seeded identity tables, in foreign-key order, copied once into this schema.
SEED_SCHEMA = "test_seed"
SEEDED = ("departments", "roles", "users")


@dataclass(frozen=True)
class Seed:
    """The demo users as seeded once per session (ids by username)."""

    user_ids: dict[str, uuid.UUID]


@pytest.fixture(scope="session")
async def seed(stores: Stores, projector: Projector) -> Seed:
    """Hashing seven passwords and logging seven users in costs more than most tests: seed
    once, keep a copy of the rows next to the tables, and `restore` them for every test."""
    await reset(stores, projector)
    async with stores.uow(RequestMeta(actor="test:setup")) as uow:
        users = await seed_demo_users(uow)
    async with stores.ledger.sessionmaker() as session:
        await session.execute(text(f"DROP SCHEMA IF EXISTS {SEED_SCHEMA} CASCADE"))
        await session.execute(text(f"CREATE SCHEMA {SEED_SCHEMA}"))
        for table in SEEDED:
            await session.execute(text(f"CREATE TABLE {SEED_SCHEMA}.{table} AS TABLE {table}"))
        await session.commit()
    return Seed({username: user.id for username, user in users.items()})


async def restore(stores: Stores, projector: Projector, seed: Seed) -> dict[str, str]:
    """Empty ledger and graph, the demo users, roles and departments exactly as seeded, and one
    live login session per demo user; returns their access tokens."""
    await projector.drain()
    families = {username: uuid.uuid4() for username in seed.user_ids}
    ttl = timedelta(minutes=stores.settings.access_token_minutes)
    async with stores.ledger.sessionmaker() as session:
        await empty(session)
        for table in SEEDED:
            await session.execute(text(
                f"INSERT INTO {table} SELECT * FROM {SEED_SCHEMA}.{table}"))  # noqa: S608
        # What services/identity.py `_issue` writes for a login: the session's refresh token.
        session.add_all([RefreshToken(
            id=uuid.uuid4(), user_id=seed.user_ids[username], family_id=family,
            token_hash=secrets.token_hash(secrets.new_opaque_token(REFRESH_PREFIX)),
            expires_at=datetime.now(UTC) + timedelta(days=stores.settings.refresh_token_days))
            for username, family in families.items()])
        await session.commit()
    await stores.graph.clear()
    key = stores.settings.jwt_secret.get_secret_value()
    return {username: secrets.issue_access_token(
        key, secrets.AccessClaims(seed.user_ids[username], family), ttl)
        for username, family in families.items()}


@dataclass
class Api:
    """GraphQL over real HTTP, as the demo `admin` unless told otherwise (`as_user`,
    `anonymous`); the demo users (README) exist in every test."""

    client: httpx.AsyncClient
    stores: Stores
    projector: Projector
    tokens: dict[str, str] = field(default_factory=dict)
    user: str | None = "admin"

    async def token(self, username: str) -> str:
        if username not in self.tokens:
            response = await self.client.post("/graphql", json={
                "query": LOGIN, "variables": {"u": username, "p": DEMO_PASSWORD}})
            self.tokens[username] = response.json()["data"]["login"]["accessToken"]
        return self.tokens[username]

    def as_user(self, username: str | None) -> Api:
        """The same client acting as another demo user (None: anonymous)."""
        return Api(self.client, self.stores, self.projector, self.tokens, username)

    @property
    def anonymous(self) -> Api:
        return self.as_user(None)

    async def post(self, query: str, variables: dict[str, Any] | None = None,
                   **headers: str) -> dict[str, Any]:
        if self.user is not None and not any(key.lower() == "authorization" for key in headers):
            headers["Authorization"] = f"Bearer {await self.token(self.user)}"
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The single error of a failing operation."""
        body = await self.post(query, variables)
        assert len(body.get("errors", [])) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.stores.read() as session:
            return await session.scalar(text(sql), params)


@pytest.fixture
async def api(server: str, stores: Stores, projector: Projector, seed: Seed,
              clock: ShiftedClock) -> AsyncIterator[Api]:
    clock.reset()
    tokens = await restore(stores, projector, seed)
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield Api(client, stores, projector, tokens)


@pytest.fixture
def run_jobs(runtime: Runtime) -> RunJobs:
    """`await run_jobs()` runs the queued jobs to completion (`await run_jobs(now=...)`: also
    those due by then); see tests/jobs_helpers.py."""
    return partial(run_jobs_until_idle, runtime)
