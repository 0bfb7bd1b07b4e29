"""Identity over HTTP: login, lock-out, refresh rotation with reuse detection, logout, expiry,
API tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from services.identity.users import DEMO_PASSWORD
from settings import Settings
from tests.conftest import Api

LOGIN = """mutation($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { accessToken refreshToken expiresAt } }"""
REFRESH = """mutation($t: String!) {
  tokenRefresh(input: {refreshToken: $t}) { accessToken refreshToken } }"""
ME = "{ me { username kind roles permissions dataScope clearance regions } }"
CREATE_TOKEN = """mutation($name: String!, $perms: [String!]!) {
  apiTokenCreate(input: {name: $name, permissions: $perms}) {
    secret apiToken { id name prefix permissions lastUsedAt revokedAt } } }"""


@pytest.fixture
def users(api: Api) -> None:
    """The demo users: the `api` fixture seeds them for every test."""


async def login(api: Api, username: str, password: str = DEMO_PASSWORD) -> dict[str, Any]:
    return await api.anonymous.post(LOGIN, {"u": username, "p": password})


async def token_of(api: Api, username: str) -> str:
    body = await login(api, username)
    token: str = body["data"]["login"]["accessToken"]
    return token


async def as_user(api: Api, token: str, query: str,
                  variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return await api.anonymous.post(query, variables, Authorization=f"Bearer {token}")


def code(body: dict[str, Any]) -> str:
    value: str = body["errors"][0]["extensions"]["code"]
    return value


async def audit_ops(api: Api) -> list[str]:
    async with api.stores.read() as session:
        from sqlalchemy import text

        rows = await session.scalars(text("SELECT operation FROM audit_log ORDER BY id"))
        return list(rows)


async def test_login_and_me(api: Api, users: None) -> None:
    body = await login(api, "sales.east")
    assert "errors" not in body
    me = await as_user(api, body["data"]["login"]["accessToken"], ME)
    assert me["data"]["me"] == {
        "username": "sales.east", "kind": "user", "roles": ["sales"],
        "permissions": sorted(["account:read", "account:write", "contact:read", "contact:write",
                               "group:write", "contact.phone:read", "contact.email:read",
                               "contact.idNumber:read", "contact.importantDates:read",
                               "opportunity:read", "opportunity:write", "amount:read",
                               "quote:write", "contract:write", "relationship:read",
                               "relationship:write", "interaction:read", "interaction:write",
                               "ticket:read", "ticket:write", "campaign:read",
                               "lifecycle:write"]),
        "dataScope": "OWN", "clearance": "INTERNAL", "regions": ["华东"]}
    assert (await api.anonymous.data(ME)) == {"me": None}
    assert (await audit_ops(api))[-1] == "auth.login"
    stored = await api.scalar("SELECT password_hash FROM users WHERE username = 'sales.east'")
    assert stored.startswith("$argon2id$")


async def test_wrong_password_and_unknown_user_look_the_same(api: Api, users: None) -> None:
    wrong = await login(api, "finance", "nope")
    unknown = await login(api, "nobody", "nope")
    assert code(wrong) == code(unknown) == "UNAUTHENTICATED"
    assert wrong["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert (await audit_ops(api))[-2:] == ["auth.loginFailed", "auth.loginFailed"]


async def test_repeated_failures_lock_the_account(api: Api, users: None,
                                                  settings: Settings) -> None:
    for _ in range(settings.login_max_failures):
        assert code(await login(api, "finance", "wrong")) == "UNAUTHENTICATED"
    assert "auth.lockout" in await audit_ops(api)
    locked = await login(api, "finance")  # the right password does not help now
    assert code(locked) == "UNAUTHENTICATED"
    assert (await audit_ops(api))[-1] == "auth.loginLocked"
    async with api.stores.ledger.sessionmaker() as session:
        from sqlalchemy import text

        await session.execute(text(
            "UPDATE users SET locked_until = now() - interval '1 second' "
            "WHERE username = 'finance'"))
        await session.commit()
    assert "errors" not in await login(api, "finance")
    assert await api.scalar("SELECT failed_logins FROM users WHERE username = 'finance'") == 0


async def test_refresh_rotates_and_reuse_revokes_the_session(api: Api, users: None) -> None:
    first = (await login(api, "auditor"))["data"]["login"]
    second = (await api.data(REFRESH, {"t": first["refreshToken"]}))["tokenRefresh"]
    assert second["refreshToken"] != first["refreshToken"]
    assert "errors" not in await as_user(api, second["accessToken"], ME)

    replay = await api.post(REFRESH, {"t": first["refreshToken"]})
    assert code(replay) == "UNAUTHENTICATED"
    assert "auth.refreshReuse" in await audit_ops(api)
    # The whole session is gone: the newest tokens stop working too.
    assert code(await api.post(REFRESH, {"t": second["refreshToken"]})) == "UNAUTHENTICATED"
    assert code(await as_user(api, second["accessToken"], ME)) == "UNAUTHENTICATED"
    stored = await api.scalar("SELECT count(*) FROM refresh_tokens WHERE token_hash = :t",
                              t=second["refreshToken"])
    assert stored == 0  # only hashes are stored


async def test_logout_ends_the_session(api: Api, users: None) -> None:
    tokens = (await login(api, "admin"))["data"]["login"]
    body = await as_user(api, tokens["accessToken"], "mutation { logout { ok } }")
    assert body == {"data": {"logout": {"ok": True}}}
    assert code(await as_user(api, tokens["accessToken"], ME)) == "UNAUTHENTICATED"
    assert code(await api.post(REFRESH, {"t": tokens["refreshToken"]})) == "UNAUTHENTICATED"
    assert code(await api.anonymous.post("mutation { logout { ok } }")) == "UNAUTHENTICATED"


async def test_expired_and_forged_access_tokens(api: Api, users: None,
                                                settings: Settings) -> None:
    valid = await token_of(api, "admin")
    claims = jwt.decode(valid, options={"verify_signature": False})
    past = datetime.now(UTC) - timedelta(minutes=1)
    expired = jwt.encode({**claims, "exp": past}, settings.jwt_secret.get_secret_value(),
                         algorithm="HS256")
    forged = jwt.encode({**claims, "sub": str(uuid.uuid4())},
                        "not-the-secret-but-long-enough-for-hs256!", algorithm="HS256")
    for token in (expired, forged, "garbage"):
        assert code(await as_user(api, token, ME)) == "UNAUTHENTICATED"


async def test_api_tokens_are_scoped_shown_once_and_revocable(api: Api, users: None) -> None:
    admin = await token_of(api, "admin")
    created = (await as_user(api, admin, CREATE_TOKEN,
                             {"name": "ERP 同步", "perms": ["account:read"]}))
    payload = created["data"]["apiTokenCreate"]
    secret = payload["secret"]
    assert secret.startswith("crm_") and payload["apiToken"]["prefix"] == secret[:10]
    assert await api.scalar("SELECT count(*) FROM api_tokens WHERE token_hash = :s", s=secret) == 0

    me = (await as_user(api, secret, ME))["data"]["me"]
    assert (me["kind"], me["username"], me["permissions"]) == (
        "api_token", "ERP 同步", ["account:read"])
    listed = (await as_user(api, admin, "{ apiTokens { name lastUsedAt revokedAt } }"))
    assert listed["data"]["apiTokens"][0]["lastUsedAt"] is not None

    revoke = "mutation($id: ID!) { apiTokenRevoke(input: {id: $id}) { apiToken { revokedAt } } }"
    revoked = await as_user(api, admin, revoke, {"id": payload["apiToken"]["id"]})
    assert revoked["data"]["apiTokenRevoke"]["apiToken"]["revokedAt"] is not None
    assert code(await as_user(api, secret, ME)) == "UNAUTHENTICATED"


async def test_only_admins_manage_api_tokens_and_refusals_are_audited(
    api: Api, users: None
) -> None:
    sales = await token_of(api, "sales.east")
    denied = await as_user(api, sales, CREATE_TOKEN, {"name": "x", "perms": ["account:read"]})
    assert code(denied) == "FORBIDDEN"
    anonymous = await api.anonymous.post(CREATE_TOKEN, {"name": "x", "perms": ["account:read"]})
    assert code(anonymous) == "UNAUTHENTICATED"
    assert await api.scalar("SELECT count(*) FROM api_tokens") == 0
    assert (await audit_ops(api))[-2:] == ["denied", "denied"]
    admin = await token_of(api, "admin")
    bad = await as_user(api, admin, CREATE_TOKEN, {"name": "x", "perms": ["root"]})
    assert (code(bad), bad["errors"][0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "permissions")
