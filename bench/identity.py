"""Who the measured requests come from: a logged-in administrator (every record, highest
clearance, every protected field in clear), sending its bearer token as the SPA does."""

from __future__ import annotations

import secrets

import httpx

from auth.actor import Clearance
from bench.runner import call
from relational.uow import RequestMeta
from services import users
from services.stores import Stores

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken }
}"""


async def log_in_admin(stores: Stores, client: httpx.AsyncClient) -> str:
    """Create an administrator with a random password, log in over GraphQL, and make `client`
    send the access token; returns the user name."""
    username = f"bench-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    async with stores.uow(RequestMeta(actor="system:bench", reason="benchmark user")) as uow:
        await users.ensure_builtin_roles(uow)
        await users.create_user(uow, username, password, display_name="Benchmark",
                                roles=["admin"], clearance=max(Clearance))
    data = await call(client, LOGIN, {"input": {"username": username, "password": password}})
    client.headers["Authorization"] = f"Bearer {data['login']['accessToken']}"
    return username
