"""Error conventions and limits enforced before execution."""

from __future__ import annotations

from schema.root import sdl
from settings import Settings
from tests.conftest import Api
from tests.test_groups_api import company


async def test_query_depth_limit(api: Api, settings: Settings) -> None:
    nested = "parent { " * settings.max_query_depth + "id" + " }" * settings.max_query_depth
    body = await api.post(f'{{ account(id: "x") {{ {nested} }} }}')
    error = body["errors"][0]
    assert "exceeds maximum operation depth" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in body or body["data"] is None


async def test_alias_limit(api: Api, settings: Settings) -> None:
    aliases = " ".join(f"a{n}: accounts {{ totalCount }}" for n in range(settings.max_aliases + 1))
    body = await api.post(f"{{ {aliases} }}")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "aliases" in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_validation_errors_are_bad_user_input_with_request_id(api: Api) -> None:
    admin = {"Authorization": f"Bearer {await api.token('admin')}"}
    response = await api.client.post("/graphql", json={"query": "{ accounts { nope } }"},
                                     headers=admin)
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT",
                                   "requestId": response.headers["x-request-id"]}


async def test_malformed_scalar_names_the_field(api: Api) -> None:
    account = await company(api, "甲")
    body = await api.post(
        "mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) "
        "{ account { id } } }", {"input": {"id": account, "annualRevenue": "lots"}})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "annualRevenue" in error["message"]
    assert await api.scalar("SELECT count(*) FROM audit_log") == 1


async def test_revenue_as_json_number_keeps_its_decimal_value(api: Api) -> None:
    account = await company(api, "甲")
    data = await api.data(
        "mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) "
        "{ account { annualRevenue } } }", {"input": {"id": account, "annualRevenue": 0.1}})
    assert data["accountUpdate"]["account"]["annualRevenue"] == "0.10"


async def test_node_with_garbage_global_id(api: Api) -> None:
    body = await api.post('{ node(id: "%%%") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    other = await api.data('{ node(id: "VXNlcjox") { id } }')  # "User:1": no such type
    assert other == {"node": None}


async def test_node_resolves_accounts_by_global_id(api: Api) -> None:
    account = await company(api, "甲")
    data = await api.data("query($id: ID!) { node(id: $id) { __typename id } }", {"id": account})
    assert data["node"] == {"__typename": "Account", "id": account}


def test_committed_sdl_matches_the_code() -> None:
    from schema.root import SDL_PATH

    assert SDL_PATH.read_text() == sdl(), "run `make sdl` and commit schema/schema.graphql"
    assert '"""' in SDL_PATH.read_text()
