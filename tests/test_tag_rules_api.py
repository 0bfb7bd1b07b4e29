"""Tag rules through GraphQL: validation with positions, preview, evaluation on save, on
events and in full, provenance on the account, the author's visibility, the tag filter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from composition import Runtime
from relational.uow import RequestMeta
from services import tag_rules
from tests.conftest import Api, Seed
from tests.factories import ledger_counts, make_account
from tests.jobs_helpers import RunJobs

CREATE = """mutation($input: TagRuleCreateInput!) { tagRuleCreate(input: $input) {
  tagRule { id name enabled } } }"""
PREVIEW = """query($e: String!) { tagRulePreview(expression: $e) {
  matchCount sample { id name } } }"""
TAGS = """query($id: ID!) { account(id: $id) { tags { name rule setAt } } }"""
BY_TAG = """query($tag: String!) { accounts(filter: {tag: $tag}) { totalCount
  edges { node { name } } } }"""


async def rule(api: Api, name: str, expression: str, *, enabled: bool = True) -> dict[str, Any]:
    data = await api.data(CREATE, {"input": {"name": name, "layer": "ATTRIBUTE",
                                             "expression": expression, "enabled": enabled}})
    made: dict[str, Any] = data["tagRuleCreate"]["tagRule"]
    return made


async def test_invalid_rules_are_refused_with_their_position(api: Api) -> None:
    before = await ledger_counts(api)
    cases = {
        'region = "华东" and revenue > 5': "unknown field `revenue` at position 19",
        "annualRevenue > \"many\"": "expected a number at position 17",
        'region = "火星"': "at position 10",
        "(region = \"华东\"": "expected `)`, found the end at position 15",
        "tickets(days: 0) > 1": "`days` must be a whole number of days, 1 to 3650 at position 15",
        'region = "华东"; DROP TABLE accounts': "unexpected character `;` at position 14",
        "interactions(channel: \"外星\", days: 30) >= 5": "unknown channel `外星` at position 23",
    }
    for expression, message in cases.items():
        error = await api.error(CREATE, {"input": {"name": "x", "layer": "ATTRIBUTE",
                                                   "expression": expression, "enabled": True}})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", expression
        assert error["extensions"]["field"] == "expression", expression
        assert message in error["message"], (expression, error["message"])
    assert await ledger_counts(api) == before


async def test_preview_counts_and_samples_what_would_match(api: Api) -> None:
    for name, region, revenue in (("甲电子", "华东", "2000000"), ("乙电子", "华东", "10"),
                                  ("丙电子", "华北", "5000000")):
        await make_account(api, name=name, region=region, annualRevenue=revenue)
    found = (await api.data(PREVIEW, {"e": 'region = "华东" and annualRevenue > 1000000 '
                                           'or not (region = "华东")'}))["tagRulePreview"]
    assert found["matchCount"] == 2
    assert [account["name"] for account in found["sample"]] == ["丙电子", "甲电子"]
    assert await api.scalar("SELECT count(*) FROM tag_rules") == 0


async def test_a_saved_rule_tags_its_matches_with_provenance(
        api: Api, run_jobs: RunJobs, runtime: Runtime) -> None:
    big = await make_account(api, name="大客户", annualRevenue="9000000", tags=["手工"])
    small = await make_account(api, name="小客户", annualRevenue="100")
    await rule(api, "高价值", "annualRevenue >= 1000000")
    assert await run_jobs() == 3  # the rule, and the two value tiers
    tags = (await api.data(TAGS, {"id": big}))["account"]["tags"]
    assert [(tag["name"], tag["rule"]) for tag in tags] == [("手工", None), ("高价值", "高价值")]
    assert tags[1]["setAt"] is not None
    assert (await api.data(BY_TAG, {"tag": "高价值"}))["accounts"]["totalCount"] == 1
    # The small account grows: its account.updated event re-evaluates the rules for it.
    await api.data("""mutation($id: ID!) { accountUpdate(input: {id: $id,
        annualRevenue: "2000000"}) { account { id } } }""", {"id": small})
    async with runtime.stores.uow(RequestMeta(actor="test")) as uow:
        assert await tag_rules.on_events(uow, runtime.stores.clock.now()) == 3
    listed = (await api.data(BY_TAG, {"tag": "高价值"}))["accounts"]
    assert sorted(edge["node"]["name"] for edge in listed["edges"]) == ["大客户", "小客户"]
    # And shrinks again: the per-account evaluation takes the tag and its provenance away.
    await api.data("""mutation($id: ID!) { accountUpdate(input: {id: $id,
        annualRevenue: "100", tags: ["手工"]}) { account { id } } }""", {"id": small})
    async with runtime.stores.uow(RequestMeta(actor="test")) as uow:
        assert await tag_rules.on_events(uow, runtime.stores.clock.now()) == 1
    assert [(tag["name"], tag["rule"]) for tag in (await api.data(TAGS, {"id": small}))[
        "account"]["tags"]] == [("手工", None)]
    assert await api.scalar("SELECT count(*) FROM account_tags WHERE rule_id IS NOT NULL") == 1
    await api.data("""mutation($id: ID!) { accountUpdate(input: {id: $id,
        annualRevenue: "1"}) { account { id } } }""", {"id": big})
    async with runtime.stores.uow(RequestMeta(actor="test")) as uow:
        await tag_rules.evaluate_all(uow, runtime.stores.clock.now())
    tags = (await api.data(TAGS, {"id": big}))["account"]["tags"]
    assert [tag["name"] for tag in tags] == ["手工"]


async def test_a_rule_never_tags_what_its_author_cannot_see(
        api: Api, run_jobs: RunJobs, seed: Seed) -> None:
    """A rule evaluates with its author's visibility: authored by `sales.east` (scope OWN),
    it tags that user's account only, though the admin's account matches it too."""
    await make_account(api, name="管理员的客户", annualRevenue="5")
    await make_account(api.as_user("sales.east"), name="自己的客户", annualRevenue="5")
    await rule(api, "自有", "annualRevenue > 1", enabled=False)
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text("UPDATE tag_rules SET author_id = :user, enabled = true"),
                              {"user": seed.user_ids["sales.east"]})
        await session.commit()
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        await tag_rules.evaluate_all(uow, api.stores.clock.now())
    listed = (await api.data(BY_TAG, {"tag": "自有"}))["accounts"]
    assert [edge["node"]["name"] for edge in listed["edges"]] == ["自己的客户"]
    assert await run_jobs() == 2  # the two value tiers


async def test_rule_tags_are_kept_apart_from_the_tags_set_by_hand(api: Api) -> None:
    """A rule's tags live in `account_tags` only: evaluating writes no account row, a hand
    edit of the tags neither drops nor copies them, and the tag filter finds both kinds.
    `tagCount` counts both, as they were before the run (one statement for every rule)."""
    account = await make_account(api, name="双标签", annualRevenue="9000000", tags=["手工"])
    await rule(api, "高价值", "annualRevenue >= 1000000", enabled=False)
    await rule(api, "多标签", "tagCount >= 2", enabled=False)
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text("UPDATE tag_rules SET enabled = true"))
        await session.commit()
    before = await api.scalar("SELECT updated_at FROM accounts WHERE name = '双标签'")
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        assert await tag_rules.evaluate_all(uow, api.stores.clock.now()) == 1
    assert await api.scalar("SELECT tags FROM accounts WHERE name = '双标签'") == ["手工"]
    assert await api.scalar("SELECT updated_at FROM accounts WHERE name = '双标签'") == before
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        assert await tag_rules.evaluate_all(uow, api.stores.clock.now()) == 1  # tagCount 2
    tags = (await api.data(TAGS, {"id": account}))["account"]["tags"]
    assert [(tag["name"], tag["rule"]) for tag in tags] == [
        ("手工", None), ("多标签", "多标签"), ("高价值", "高价值")]
    await api.data("""mutation($id: ID!) { accountUpdate(input: {id: $id, tags: ["新"]}) {
        account { id } } }""", {"id": account})
    assert await api.scalar("SELECT tags FROM accounts WHERE name = '双标签'") == ["新"]
    tags = (await api.data(TAGS, {"id": account}))["account"]["tags"]
    assert [tag["name"] for tag in tags] == ["新", "多标签", "高价值"]
    for name, count in (("高价值", 1), ("新", 1), ("手工", 0)):
        assert (await api.data(BY_TAG, {"tag": name}))["accounts"]["totalCount"] == count
