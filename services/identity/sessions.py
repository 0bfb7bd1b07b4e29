"""Identity use cases: log in and out, rotate refresh tokens, resolve bearer tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth import secrets as tokens
from auth.actor import ANONYMOUS, Actor, Clearance, DataScope
from auth.roles import widest
from relational.identity_models import RefreshToken, User
from relational.ledger import Ledger
from relational.repositories import identity as repo
from relational.uow import RequestMeta, UnitOfWork
from services import metrics, security_events
from services.errors import Unauthenticated
from services.identity.roles import applies_from
from settings import Settings

REFRESH_PREFIX = "crmr"
API_PREFIX = "crm"


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user_id: uuid.UUID


def _now() -> datetime:
    return datetime.now(UTC)


async def _issue(uow: UnitOfWork, settings: Settings, user: User, family: uuid.UUID) -> Session:
    refresh = tokens.new_opaque_token(REFRESH_PREFIX)
    uow.session.add(RefreshToken(
        id=uuid.uuid4(), user_id=user.id, family_id=family, token_hash=tokens.token_hash(refresh),
        expires_at=_now() + timedelta(days=settings.refresh_token_days)))
    ttl = timedelta(minutes=settings.access_token_minutes)
    access = tokens.issue_access_token(settings.jwt_secret.get_secret_value(),
                                       tokens.AccessClaims(user.id, family), ttl)
    return Session(access, refresh, _now() + ttl, user.id)


async def _failed_login(uow: UnitOfWork, settings: Settings, user: User | None,
                        username: str) -> None:
    settings = settings
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = _now() + timedelta(minutes=settings.login_lock_minutes)
            uow.audit("auth.lockout", [str(user.id)], after={
                "username": username, "failedLogins": user.failed_logins,
                "lockedUntil": user.locked_until.isoformat()})
    uow.audit("auth.loginFailed", [str(user.id)] if user else [], after={"username": username})


async def login(uow: UnitOfWork, settings: Settings, username: str, password: str) -> Session:
    """Failures raise an error that keeps their audit record and counters (see `_rejected`)."""
    user = await repo.user_by_name(uow.session, username, lock=True)
    if user is not None and user.failed_logins:
        # Each recent failure slows the next answer a little more.
        backoff = settings.login_backoff_seconds * min(user.failed_logins, 8)
        await asyncio.sleep(backoff)
    locked = user is not None and user.locked_until is not None and user.locked_until > _now()
    valid = tokens.verify_password(user.password_hash if user else None, password)
    if user is None or not user.active or locked or not valid:
        if locked and user is not None:
            uow.audit("auth.loginLocked", [str(user.id)], after={"username": username})
        else:
            await _failed_login(uow, settings, user, username)
        metrics.LOGIN_FAILURES.inc()
        raise _rejected("invalid username or password, or the account is locked")
    user.failed_logins, user.locked_until = 0, None
    family = uuid.uuid4()
    await security_events.check_login_address(uow, user.id, username, uow.meta.ip, family)
    uow.audit("auth.login", [str(user.id)], after={"username": username})
    return await _issue(uow, settings, user, family)


def _rejected(message: str) -> Unauthenticated:
    """The unit of work commits the attempt's audit record and counters, then lets this pass."""
    return Unauthenticated(message).keeping_changes()


async def refresh(uow: UnitOfWork, settings: Settings, refresh_token: str) -> Session:
    record = await repo.refresh_token(uow.session, tokens.token_hash(refresh_token))
    if record is None or record.revoked_at is not None or record.expires_at <= _now():
        raise _rejected("refresh token is invalid, expired or revoked")
    if record.used_at is not None:
        # A rotated token came back: someone holds a copy. End the whole session.
        await repo.revoke_family(uow.session, record.family_id)
        uow.audit("auth.refreshReuse", [str(record.user_id)],
                  after={"session": str(record.family_id)})
        raise _rejected("refresh token was already used; the session is revoked")
    user = await repo.user_by_id(uow.session, record.user_id)
    if user is None or not user.active:
        raise _rejected("the user is disabled")
    record.used_at = _now()
    return await _issue(uow, settings, user, record.family_id)


async def logout(uow: UnitOfWork, actor: Actor) -> None:
    if actor.session_id is None or actor.user_id is None:
        raise Unauthenticated("log in first")
    await repo.revoke_family(uow.session, actor.session_id)
    uow.audit("auth.logout", [str(actor.user_id)], after={"session": str(actor.session_id)})


def actor_of(user: User, grants: Iterable[tuple[Iterable[str], DataScope]],
             departments: Sequence[uuid.UUID], session_id: uuid.UUID | None = None) -> Actor:
    """A user's actor from the (permissions, scope) of the roles that apply to the request."""
    granted = list(grants)
    return Actor(
        kind="user", user_id=user.id, username=user.username, roles=tuple(user.roles),
        permissions=frozenset(p for permissions, _ in granted for p in permissions),
        scope=widest([scope for _, scope in granted]),
        clearance=Clearance[user.clearance], department_ids=tuple(departments),
        regions=tuple(user.regions), session_id=session_id,
        home_department=user.department_ids[0] if user.department_ids else None)


async def actor_for_user(session: AsyncSession, user: User, session_id: uuid.UUID | None,
                         ip: str | None = None) -> Actor:
    """The user's permissions, from the roles that apply from the client's address."""
    roles = [role for role in await repo.roles(session, user.roles) if applies_from(role, ip)]
    departments = await repo.department_subtree(session, user.department_ids)
    return actor_of(user, [(role.permissions, DataScope(role.data_scope)) for role in roles],
                    departments, session_id)


async def authenticate(ledger: Ledger, settings: Settings, bearer: str | None,
                       ip: str | None = None) -> Actor:
    """The actor behind an `Authorization: Bearer …` value; anonymous without one."""
    if not bearer:
        return ANONYMOUS
    if bearer.startswith(f"{API_PREFIX}_"):
        return await _api_token_actor(ledger, bearer, ip)
    try:
        claims = tokens.read_access_token(settings.jwt_secret.get_secret_value(), bearer)
    except tokens.InvalidToken as error:
        raise Unauthenticated("access token is invalid or expired") from error
    async with ledger.read() as session:
        user = await repo.user_by_id(session, claims.user_id)
        live, pending = await repo.family_state(session, claims.session_id, _now())
        if user is None or not user.active or not live:
            raise Unauthenticated("the session has ended")
        actor = await actor_for_user(session, user, claims.session_id, ip)
    return replace(actor, step_up_required=pending) if pending else actor


async def _api_token_actor(ledger: Ledger, bearer: str, ip: str | None) -> Actor:
    # A unit of work of its own: the token's last use is recorded even if the request fails.
    async with ledger.uow(RequestMeta(actor="system:apiToken", ip=ip)) as uow:
        session = uow.session
        token = await repo.api_token(session, tokens.token_hash(bearer))
        if token is None:
            raise Unauthenticated("API token is invalid or revoked")
        await repo.touch_api_token(session, token.id)
        user = await repo.user_by_id(session, token.user_id)
        if user is None or not user.active:
            raise Unauthenticated("the API token's user is disabled")
        actor = await actor_for_user(session, user, None, ip)
    # A token is scoped: it never carries more than its own permissions.
    return replace(actor, kind="api_token", username=token.name,
                   permissions=actor.permissions & frozenset(token.permissions))


async def api_token_owner(session: AsyncSession, token_id: uuid.UUID) -> Actor | None:
    """Whom an API token acts for, scoped to its permissions (None: revoked or disabled)."""
    token = await repo.api_token_by_id(session, token_id)
    user = None if token is None else await repo.user_by_id(session, token.user_id)
    if token is None or user is None or not user.active:
        return None
    actor = await actor_for_user(session, user, None, None)
    return replace(actor, kind="api_token", username=token.name,
                   permissions=actor.permissions & frozenset(token.permissions))
