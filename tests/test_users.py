"""User administration: admins create users, assign roles and clearance, lock them out."""

from __future__ import annotations

from tests.conftest import Api

CREATE = """mutation($input: UserCreateInput!) { userCreate(input: $input) {
  user { id username roles clearance regions active } } }"""
UPDATE = """mutation($input: UserUpdateInput!) { userUpdate(input: $input) {
  user { roles clearance active } } }"""
LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken } }"""
NEW = {"username": "sales.south", "password": "Strong#Pass2026", "displayName": "华南业务员",
       "roles": ["sales"], "clearance": "INTERNAL", "regions": ["华南"]}


async def test_admin_creates_a_user_who_can_sign_in(api: Api) -> None:
    created = (await api.data(CREATE, {"input": NEW}))["userCreate"]["user"]
    assert {key: created[key] for key in ("username", "roles", "clearance", "regions",
                                          "active")} == {
        "username": "sales.south", "roles": ["sales"], "clearance": "INTERNAL",
        "regions": ["华南"], "active": True}
    login = await api.anonymous.post(LOGIN, {"u": "sales.south", "p": "Strong#Pass2026"})
    token = login["data"]["login"]["accessToken"]
    me = await api.anonymous.post("{ me { username dataScope } }",
                                  Authorization=f"Bearer {token}")
    assert me["data"]["me"] == {"username": "sales.south", "dataScope": "OWN"}
    stored = await api.scalar("SELECT password_hash FROM users WHERE username = 'sales.south'")
    assert stored.startswith("$argon2id$") and "Strong" not in stored


async def test_rules_of_user_administration(api: Api) -> None:
    for user, code in (("manager.east", "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await api.as_user(user).post(CREATE, {"input": NEW})
        assert body["errors"][0]["extensions"]["code"] == code
    for change, field in (({"password": "short"}, "password"), ({"roles": ["boss"]}, "roles"),
                          ({"regions": ["火星"]}, "regions")):
        body = await api.post(CREATE, {"input": {**NEW, **change}})
        assert body["errors"][0]["extensions"]["field"] == field
    taken = await api.post(CREATE, {"input": {**NEW, "username": "finance"}})
    assert taken["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert await api.scalar("SELECT count(*) FROM users") == 7


async def test_deactivating_a_user_ends_their_sessions(api: Api) -> None:
    user_id = (await api.data(CREATE, {"input": NEW}))["userCreate"]["user"]["id"]
    token = (await api.anonymous.post(LOGIN, {"u": "sales.south", "p": "Strong#Pass2026"}))[
        "data"]["login"]["accessToken"]
    updated = await api.data(UPDATE, {"input": {"id": user_id, "active": False,
                                                "clearance": "SECRET"}})
    assert updated["userUpdate"]["user"] == {"roles": ["sales"], "clearance": "SECRET",
                                             "active": False}
    me = await api.anonymous.post("{ me { username } }", Authorization=f"Bearer {token}")
    assert me["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await api.anonymous.post(LOGIN, {"u": "sales.south", "p": "Strong#Pass2026"})
    assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    audited = await api.scalar(
        "SELECT after FROM audit_log WHERE operation = 'user.update' ORDER BY id DESC LIMIT 1")
    assert audited["active"] is False and audited["passwordChanged"] is False


async def test_departments_and_membership_drive_the_managers_scope(api: Api) -> None:
    created = await api.data("""mutation { departmentCreate(input: {name: "华南销售部"}) {
        department { id name parentId } } }""")
    south = created["departmentCreate"]["department"]
    assert (south["name"], south["parentId"]) == ("华南销售部", None)
    listed = await api.data("{ departments { name } }")
    assert sorted(item["name"] for item in listed["departments"]) == [
        "华东销售部", "华北销售部", "华南销售部", "总部"]
    boss = await api.data(CREATE, {"input": {**NEW, "username": "manager.south",
                                             "roles": ["manager"],
                                             "departmentIds": [south["id"]]}})
    seller = await api.data(CREATE, {"input": {**NEW, "departmentIds": [south["id"]]}})
    assert boss and seller
    login = await api.anonymous.post(LOGIN, {"u": "sales.south", "p": "Strong#Pass2026"})
    token = login["data"]["login"]["accessToken"]
    made = await api.anonymous.post(
        """mutation { accountCreate(input: {name: "广州华芯电子有限公司", region: "华南",
           industry: "国防电子", uscc: "91350100M000100Y43"}) { account { id } } }""",
        Authorization=f"Bearer {token}")
    assert "errors" not in made, made
    boss_login = await api.anonymous.post(LOGIN, {"u": "manager.south", "p": "Strong#Pass2026"})
    seen = await api.anonymous.post(
        "{ accounts { totalCount } }",
        Authorization=f"Bearer {boss_login['data']['login']['accessToken']}")
    assert seen["data"] == {"accounts": {"totalCount": 1}}
    assert (await api.as_user("manager.east").data("{ accounts { totalCount } }")) == {
        "accounts": {"totalCount": 0}}
    nowhere = "RGVwYXJ0bWVudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA="  # Department:0…
    unknown = await api.post(CREATE, {"input": {
        **NEW, "username": "x.y", "departmentIds": [nowhere]}})
    assert unknown["errors"][0]["extensions"] == {
        "code": "NOT_FOUND", "field": "departmentIds",
        "requestId": unknown["errors"][0]["extensions"]["requestId"]}
    denied = await api.as_user("manager.east").post("{ departments { name } }")
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
