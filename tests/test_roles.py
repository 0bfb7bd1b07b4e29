"""Role administration and per-role client address allowlists."""

from __future__ import annotations

from tests.conftest import Api

UPSERT = """mutation($input: RoleUpsertInput!) { roleUpsert(input: $input) {
  role { name permissions dataScope ipAllowlist builtin } } }"""
ME = "{ me { permissions } }"
FINANCE_PERMISSIONS = sorted(["account:read", "amount:read", "contact:read", "opportunity:read",
                              "payment:write", "relationship:read", "interaction:read",
                              "campaign:read"])
FINANCE = {"name": "finance", "permissions": FINANCE_PERMISSIONS, "dataScope": "ALL"}


async def test_admins_define_roles(api: Api) -> None:
    body = await api.post(UPSERT, {"input": {
        "name": "key.account", "description": "大客户经理", "dataScope": "REGION",
        "permissions": ["contact:read", "account:read"], "ipAllowlist": ["10.1.2.3/16"]}})
    assert body["data"]["roleUpsert"]["role"] == {
        "name": "key.account", "permissions": ["account:read", "contact:read"],
        "dataScope": "REGION", "ipAllowlist": ["10.1.0.0/16"], "builtin": False}
    audited = await api.scalar("SELECT after FROM audit_log WHERE operation = 'role.upsert'")
    assert audited["ipAllowlist"] == ["10.1.0.0/16"]


async def test_role_rules(api: Api) -> None:
    denied = await api.as_user("sales.east").post(UPSERT, {"input": {
        "name": "x", "permissions": [], "dataScope": "OWN"}})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    unknown = await api.post(UPSERT, {"input": {
        "name": "x", "permissions": ["root"], "dataScope": "OWN"}})
    assert unknown["errors"][0]["extensions"]["field"] == "permissions"
    bad_network = await api.post(UPSERT, {"input": {
        "name": "x", "permissions": [], "dataScope": "OWN", "ipAllowlist": ["nope"]}})
    assert bad_network["errors"][0]["extensions"]["field"] == "ipAllowlist"
    builtin = await api.post(UPSERT, {"input": {**FINANCE, "permissions": ["audit:read"]}})
    assert builtin["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await api.scalar("SELECT count(*) FROM roles WHERE name = 'x'") == 0


async def test_an_allowlisted_role_applies_only_from_its_networks(api: Api) -> None:
    finance = api.as_user("finance")
    assert (await finance.data(ME))["me"]["permissions"] == FINANCE_PERMISSIONS
    assert "errors" not in await api.post(UPSERT, {"input": {**FINANCE,
                                                             "ipAllowlist": ["10.0.0.0/8"]}})
    assert (await finance.data(ME))["me"]["permissions"] == []
    refused = await finance.post("{ accounts { totalCount } }")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "errors" not in await api.post(UPSERT, {"input": {**FINANCE,
                                                             "ipAllowlist": ["127.0.0.0/8"]}})
    assert (await finance.data("{ accounts { totalCount } }")) == {"accounts": {"totalCount": 0}}
    assert "errors" not in await api.post(UPSERT, {"input": {**FINANCE, "ipAllowlist": []}})
