"""Scenario (e)'s yardstick: `account(id)` as a hand-written Starlette + SQLAlchemy JSON endpoint,
served beside the app on its own port (never part of the app). It authenticates the bearer
token exactly as `services.identity.authenticate` does (JWT signature and expiry, the user
active, the session family live, the roles that apply from the client's address, the
department subtree), applies the same visibility to the same row, and answers the fields the
GraphQL query selects, in the same JSON shape; but without GraphQL parsing, validation, the
field-permission hook, the rate limiter, middleware or DataLoaders, and in one session."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth import secrets as tokens
from auth.actor import Clearance
from composition import open_stores
from relational.models import Account
from relational.repositories import identity as identity_repo
from relational.repositories.visibility import accounts_readable
from resolvers.ids import to_global_id
from services import policy
from services.identity import sessions
from services.stores import Stores
from settings import Settings

GRAPHQL = """
query Account($id: ID!) {
  account(id: $id) {
    id name uscc region industry lifecycleStage tags annualRevenue classification
    createdAt updatedAt
  }
}"""


def _json(row: Account) -> dict[str, Any]:
    return {
        "id": to_global_id("Account", row.id), "name": row.name, "uscc": row.uscc,
        "region": row.region, "industry": row.industry, "lifecycleStage": row.lifecycle_stage,
        "tags": list(row.tags),
        "annualRevenue": None if row.annual_revenue is None else str(row.annual_revenue),
        "classification": Clearance(row.classification).name,
        "createdAt": row.created_at.isoformat(), "updatedAt": row.updated_at.isoformat(),
    }


def _unauthenticated(message: str) -> Response:
    return JSONResponse({"errors": [{"message": message,
                                     "extensions": {"code": "UNAUTHENTICATED"}}]}, 401)


async def _account(request: Request) -> Response:
    stores: Stores = request.state.stores
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        return _unauthenticated("log in first")
    try:
        claims = tokens.read_access_token(stores.settings.jwt_secret.get_secret_value(),
                                          bearer.strip())
        account_id = uuid.UUID(request.path_params["id"])
    except tokens.InvalidToken:
        return _unauthenticated("access token is invalid or expired")
    except ValueError:
        return JSONResponse({"data": {"account": None}})
    ip = request.client.host if request.client else None
    async with stores.read() as session:
        user = await identity_repo.user_by_id(session, claims.user_id)
        live, _ = await identity_repo.family_state(session, claims.session_id,
                                                   datetime.now(UTC))
        if user is None or not user.active or not live:
            return _unauthenticated("the session has ended")
        actor = await sessions.actor_for_user(session, user, claims.session_id, ip)
        policy.check(actor, "account:read")
        row = await session.scalar(select(Account).where(
            Account.id == account_id, accounts_readable(policy.visibility(actor))))
    return JSONResponse({"data": {"account": None if row is None else _json(row)}})


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with open_stores(settings, pool_size=settings.db_pool_size) as runtime:
            yield {"stores": runtime.stores}

    return Starlette(routes=[Route("/accounts/{id}", _account)], lifespan=lifespan)
