"""Who the measured requests come from: users created for the run with a random password,
logged in over GraphQL, sending their bearer token as the SPA does. An administrator (every
record, highest clearance, every protected field in clear) for most scenarios; a finance user
(the built-in role: every record, contact data masked) cleared for INTERNAL, the seeded
accounts' and contacts' classification (the columns' default), for the security scenario."""

from __future__ import annotations

import secrets

import httpx

from auth.actor import Clearance
from bench.runner import call
from relational.uow import RequestMeta
from services.identity import users
from services.stores import Stores

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken }
}"""


async def log_in(stores: Stores, client: httpx.AsyncClient, role: str,
                 clearance: Clearance) -> str:
    """Create a user holding the built-in `role`, log in over GraphQL, and make `client` send
    the access token; returns the user name."""
    username = f"bench-{role}-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    async with stores.uow(RequestMeta(actor="system:bench", reason="benchmark user")) as uow:
        await users.ensure_builtin_roles(uow)
        await users.create_user(uow, username, password, display_name=f"Benchmark {role}",
                                roles=[role], clearance=clearance)
    data = await call(client, LOGIN, {"input": {"username": username, "password": password}})
    client.headers["Authorization"] = f"Bearer {data['login']['accessToken']}"
    return username


async def log_in_admin(stores: Stores, client: httpx.AsyncClient) -> str:
    return await log_in(stores, client, "admin", max(Clearance))


async def log_in_finance(stores: Stores, client: httpx.AsyncClient) -> str:
    """Like the demo's `finance` user: role finance (data scope ALL), clearance INTERNAL."""
    return await log_in(stores, client, "finance", Clearance.INTERNAL)
