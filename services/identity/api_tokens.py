"""API tokens for integrators: created by an admin, shown once, scoped, revocable."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from auth import secrets as tokens
from auth.actor import Actor
from auth.roles import PERMISSIONS
from relational.identity_models import ApiToken
from relational.repositories import identity as repo
from relational.uow import UnitOfWork
from services import validation as check
from services.errors import BadUserInput, NotFound, Unauthenticated
from services.identity.sessions import API_PREFIX


@dataclass(frozen=True)
class ApiTokenRecord:
    """An API token's record (the secret is never kept)."""

    id: uuid.UUID
    name: str
    prefix: str
    permissions: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> ApiTokenRecord:
        return cls(id=row.id, name=row.name, prefix=row.prefix,
                   permissions=tuple(row.permissions), created_at=row.created_at,
                   last_used_at=row.last_used_at, revoked_at=row.revoked_at)

_MANAGE = "apiToken:manage"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiTokenRecord
    secret: str  # shown once, never stored


async def create(
    uow: UnitOfWork, actor: Actor, name: str, permissions: Sequence[str]
) -> IssuedToken:
    label = check.text(name, "name", max_length=100)
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown or not permissions:
        raise BadUserInput(f"unknown or missing permissions: {', '.join(unknown) or 'none'}",
                           field="permissions")
    if actor.user_id is None:
        raise Unauthenticated("API tokens are issued by users")
    secret = tokens.new_opaque_token(API_PREFIX)
    token = ApiToken(id=uuid.uuid4(), name=label, prefix=secret[:10],
                     token_hash=tokens.token_hash(secret), user_id=actor.user_id,
                     permissions=sorted(set(permissions)), created_by=actor.user_id)
    uow.session.add(token)
    await uow.session.flush()
    uow.audit("apiToken.create", [str(token.id)],
              after={"name": label, "permissions": token.permissions, "prefix": token.prefix})
    return IssuedToken(ApiTokenRecord.of(token), secret)


async def revoke(uow: UnitOfWork, actor: Actor, token_id: uuid.UUID) -> ApiTokenRecord:
    token = await repo.api_token_for_update(uow.session, token_id)
    if token is None:
        raise NotFound("no API token with this id", field="id")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        uow.audit("apiToken.revoke", [str(token.id)], before={"name": token.name})
    return ApiTokenRecord.of(token)


async def listing(uow: UnitOfWork, actor: Actor) -> list[ApiTokenRecord]:
    return [ApiTokenRecord.of(row) for row in await repo.api_tokens(uow.session)]

