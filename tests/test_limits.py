"""GraphQL hardening with production defaults: no introspection, no suggestions, no GraphiQL,
a cost limit that multiplies page sizes by nesting, security headers."""

from __future__ import annotations

from strawberry.extensions import AddValidationRules

from schema.root import extensions
from settings import Settings
from tests.conftest import Api

NESTED = """query($inner: Int) {
  accounts(first: %d) { edges { node { contacts(first: $inner) { edges { node { name } } } } } }
}"""


async def test_introspection_is_off_by_default(api: Api) -> None:
    body = await api.post("{ __schema { types { name } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "introspection" in body["errors"][0]["message"].lower()
    assert body.get("data") is None
    typename = await api.data("{ __typename }")
    assert typename == {"__typename": "Query"}


async def test_no_field_suggestions_without_introspection(api: Api) -> None:
    body = await api.post("{ acounts { totalCount } }")
    message = body["errors"][0]["message"]
    assert message == "Cannot query field 'acounts' on type 'Query'."


async def test_graphiql_is_off_by_default(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_cost_multiplies_nested_page_sizes(api: Api) -> None:
    small = await api.post(NESTED % 50, {"inner": 50})
    assert "errors" not in small, small
    # A variable page size counts as the maximum (100): 100 × 100 nested rows is refused.
    big = await api.post(NESTED % 100, {"inner": 1})
    error = big["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Query cost 30301 exceeds the limit of 20000")
    assert big.get("data") is None


async def test_security_headers(api: Api) -> None:
    response = await api.client.post("/graphql", json={"query": "{ __typename }"},
                                     headers={"origin": "https://evil.example"})
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in response.headers


def test_every_request_gets_the_same_validation_rules(settings: Settings) -> None:
    """Validation is cached per (document, rules): rule classes made per request (as
    QueryDepthLimiter and MaxAliasesLimiter make them) would validate every request anew."""

    factories = extensions(settings)  # once per schema, as build_schema does

    def rules() -> list[type[object]]:
        made = [factory() for factory in factories]
        return [rule for extension in made if isinstance(extension, AddValidationRules)
                for rule in extension.validation_rules]

    first, second = rules(), rules()
    assert len(first) >= 3
    assert first == second
