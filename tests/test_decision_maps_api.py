"""Decision maps over HTTP: committees, stored influence recomputed from outbox events, the
contract-D shape, asOf, coverage and gaps, and restricted stubs for what a reader may not see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from analytics.influence import Member, Tie, score
from services import clock
from tests.conftest import Api
from tests.factories import (
    assert_error,
    global_id,
    ledger_counts,
    make_account,
    make_contact,
    raw_id,
)
from tests.test_interactions_api import log
from tests.test_relationships_api import END, me, relate

ADD = """
mutation($input: CommitteeMemberAddInput!) {
  committeeMemberAdd(input: $input) { member { id role roles stance } }
}
"""
UPDATE = """
mutation($input: CommitteeMemberUpdateInput!) {
  committeeMemberUpdate(input: $input) { member { id role roles stance } }
}
"""
REMOVE = """
mutation($id: ID!) { committeeMemberRemove(input: {memberId: $id}) { member { id } } }
"""
MAP = """
query($id: ID!, $asOf: Date) {
  account(id: $id) {
    decisionMap(asOf: $asOf) {
      asOf computedAt
      nodes { id kind name title accountId influence role roles stance lastContactAt restricted
              explanation { fromId toId kind weight share path } }
      edges { id fromId toId kind weight validFrom validTo manual }
      brokers { id betweenness }
      gaps { id reason }
      coverage { completeness filledRoles missingRoles unreachableDecisionMakers }
    }
    committee(asOf: $asOf) { id role roles stance lastContactAt influence
                             contact { id restricted } }
  }
}
"""
YEAR_AGO = (clock.today() - timedelta(days=365)).isoformat()


async def member(api: Api, account: str, contact: str, role: str, **fields: Any) -> str:
    data = await api.data(ADD, {"input": {"accountId": account, "contactId": contact,
                                          "role": role, "validFrom": YEAR_AGO, **fields}})
    member_id: str = data["committeeMemberAdd"]["member"]["id"]
    return member_id


async def drawn(api: Api, account: str, as_of: str | None = None) -> dict[str, Any]:
    await api.projector.drain()
    data = await api.data(MAP, {"id": account, "asOf": as_of})
    result: dict[str, Any] = data["account"]
    return result


async def committee(api: Api) -> dict[str, str]:
    account = await make_account(api)
    people = {name: await make_contact(api, account, name=name, title=title) for name, title in
              (("李总", "总经理"), ("王工", "总工程师"), ("赵经理", "技术部经理"),
               ("钱主任", "采购部主任"))}
    await member(api, account, people["李总"], "DECISION_MAKER", stance="NEUTRAL")
    await member(api, account, people["王工"], "CHAMPION", roles=["INFLUENCER"],
                 stance="SUPPORTER")
    await member(api, account, people["赵经理"], "TECHNICAL_EVALUATOR")
    await member(api, account, people["钱主任"], "PROCUREMENT", stance="OPPONENT")
    await relate(api, kind="INFLUENCES", fromId=people["王工"], toId=people["李总"],
                 weight=0.8, validFrom=YEAR_AGO)
    await relate(api, kind="INFLUENCES", fromId=people["钱主任"], toId=people["李总"],
                 weight=0.4, validFrom=YEAR_AGO)
    await relate(api, kind="REPORTS_TO", fromId=people["赵经理"], toId=people["李总"],
                 validFrom=YEAR_AGO)
    return {"account": account, **people}


def expected_scores(people: dict[str, str]) -> dict[str, Any]:
    ids = {name: raw_id(gid) for name, gid in people.items() if name != "account"}
    members = [Member(ids["李总"], ("DECISION_MAKER",)),
               Member(ids["王工"], ("CHAMPION", "INFLUENCER")),
               Member(ids["赵经理"], ("TECHNICAL_EVALUATOR",)),
               Member(ids["钱主任"], ("PROCUREMENT",))]
    ties = [Tie("1", "INFLUENCES", ids["王工"], ids["李总"], 0.8),
            Tie("2", "INFLUENCES", ids["钱主任"], ids["李总"], 0.4),
            Tie("3", "REPORTS_TO", ids["赵经理"], ids["李总"])]
    return {global_id("Contact", key): value for key, value in score(members, ties).items()}


async def test_the_map_has_the_contract_shape_and_stored_scores(api: Api) -> None:
    people = await committee(api)
    found = await drawn(api, people["account"])
    decision = found["decisionMap"]
    assert decision["asOf"] == clock.today().isoformat() and decision["computedAt"]
    expected = expected_scores(people)
    nodes = {node["id"]: node for node in decision["nodes"]}
    assert set(nodes) == set(expected)
    for gid, value in expected.items():
        assert nodes[gid]["influence"] == value.influence
        assert nodes[gid]["kind"] == "CONTACT" and nodes[gid]["restricted"] is False
    champion = nodes[people["王工"]]
    assert champion["role"] == "CHAMPION" and champion["roles"] == ["CHAMPION", "INFLUENCER"]
    assert champion["stance"] == "SUPPORTER" and champion["title"] == "总工程师"
    assert champion["explanation"] == [{
        "fromId": people["王工"], "toId": people["李总"], "kind": "INFLUENCES", "weight": 0.8,
        "share": 1.0, "path": [people["王工"], people["李总"]]}]
    assert nodes[people["李总"]]["influence"] == 1.0
    assert sorted((e["kind"], e["weight"]) for e in decision["edges"]) == [
        ("INFLUENCES", 0.4), ("INFLUENCES", 0.8), ("REPORTS_TO", 0.5)]
    assert decision["brokers"] == [{"id": people["李总"], "betweenness": 1.0}]
    # No one on our staff knows anyone yet: the decision maker is a gap.
    assert decision["gaps"] == [{"id": people["李总"], "reason":
                                 "no one on our staff knows this decision maker or anyone "
                                 "tied to them"}]
    assert decision["coverage"] == {
        "completeness": 80.0,
        "filledRoles": ["DECISION_MAKER", "TECHNICAL_EVALUATOR", "PROCUREMENT", "CHAMPION"],
        "missingRoles": ["BUSINESS_EVALUATOR"],
        "unreachableDecisionMakers": [people["李总"]]}
    assert [(m["role"], m["influence"]) for m in found["committee"]] == [
        (nodes[m["contact"]["id"]]["role"], nodes[m["contact"]["id"]]["influence"])
        for m in found["committee"]]


async def test_an_interaction_closes_the_gap_and_changes_recompute_the_scores(
    api: Api
) -> None:
    people = await committee(api)
    first = await drawn(api, people["account"])
    await log(api, people["account"], [people["王工"]], direction="INBOUND")
    after = await drawn(api, people["account"])
    decision = after["decisionMap"]
    assert decision["gaps"] == [] and decision["coverage"]["unreachableDecisionMakers"] == []
    staff = [node for node in decision["nodes"] if node["kind"] == "STAFF"]
    assert staff == [{**staff[0], "id": await me(api), "name": "系统管理员", "influence": None,
                      "restricted": False}]
    knows = [edge for edge in decision["edges"] if edge["kind"] == "KNOWS"]
    assert len(knows) == 1 and knows[0]["manual"] is False and 0 < knows[0]["weight"] < 1
    champion = next(n for n in decision["nodes"] if n["id"] == people["王工"])
    logged = await api.scalar("SELECT (occurred_at AT TIME ZONE 'UTC')::date::text "
                              "FROM interactions")
    assert champion["lastContactAt"] == logged
    assert decision["computedAt"] >= first["decisionMap"]["computedAt"]
    # The evaluator now also sways the blocker: the evaluator's reach grows.
    await relate(api, kind="INFLUENCES", fromId=people["赵经理"], toId=people["钱主任"],
                 weight=0.9, validFrom=YEAR_AGO)
    changed = await drawn(api, people["account"])
    evaluator = next(n for n in changed["decisionMap"]["nodes"] if n["id"] == people["赵经理"])
    before = next(n for n in decision["nodes"] if n["id"] == people["赵经理"])
    assert evaluator["influence"] > before["influence"]
    assert [c["toId"] for c in evaluator["explanation"]] == [people["李总"], people["钱主任"]]


async def test_as_of_shows_the_map_as_it_was(api: Api) -> None:
    people = await committee(api)
    extra = await relate(api, kind="INFLUENCES", fromId=people["赵经理"], toId=people["王工"],
                         weight=0.6, validFrom=YEAR_AGO)
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    await api.data(END, {"input": {"relationshipId": extra["id"], "validTo": yesterday}})
    today = await drawn(api, people["account"])
    past = await drawn(api, people["account"], yesterday)
    assert extra["id"] not in {e["id"] for e in today["decisionMap"]["edges"]}
    assert extra["id"] in {e["id"] for e in past["decisionMap"]["edges"]}
    assert past["decisionMap"]["computedAt"] is None and past["decisionMap"]["asOf"] == yesterday
    long_ago = (clock.today() - timedelta(days=400)).isoformat()
    empty = await drawn(api, people["account"], long_ago)
    assert empty["decisionMap"]["nodes"] == [] and empty["committee"] == []
    assert empty["decisionMap"]["coverage"]["completeness"] == 0.0


async def test_people_out_of_scope_are_restricted_stubs(api: Api) -> None:
    east, north = api.as_user("sales.east"), api.as_user("sales.north")
    account = await make_account(east)
    boss = await make_contact(east, account, name="李总")
    await member(east, account, boss, "DECISION_MAKER")
    theirs = await make_account(north, name="北方重工", region="华北")
    outsider = await make_contact(north, theirs, name="周秘密")
    await relate(api, kind="INFLUENCES", fromId=outsider, toId=boss, weight=0.7)
    found = await drawn(east, account)
    nodes = {node["id"]: node for node in found["decisionMap"]["nodes"]}
    assert nodes[outsider] == {
        "id": outsider, "kind": "RESTRICTED", "name": None, "title": None, "accountId": None,
        "influence": None, "role": None, "roles": [], "stance": None, "lastContactAt": None,
        "restricted": True, "explanation": []}
    assert "周秘密" not in str(found)
    admin_view = await drawn(api, account)
    assert {n["id"]: n["kind"] for n in admin_view["decisionMap"]["nodes"]}[outsider] == \
        "CONTACT"
    refused = await north.post(MAP, {"id": account})
    assert refused["data"] == {"account": None}


async def test_committee_writes_are_checked_and_audited(api: Api) -> None:
    account = await make_account(api)
    contact = await make_contact(api, account)
    member_id = await member(api, account, contact, "GATEKEEPER")
    before = await ledger_counts(api)
    cases = [
        ({"accountId": account, "contactId": contact, "role": "USER"}, "CONFLICT", "contactId"),
        ({"accountId": account, "contactId": contact, "role": "USER",
          "opportunityId": global_id("Opportunity", "00000000-0000-0000-0000-000000000009")},
         "NOT_FOUND", "opportunityId"),
        ({"accountId": account, "contactId": global_id(
            "Contact", "00000000-0000-0000-0000-000000000008"), "role": "USER"},
         "NOT_FOUND", "contactId"),
    ]
    for given, code, field in cases:
        assert_error(await api.error(ADD, {"input": given}), code, field)
    assert await ledger_counts(api) == before
    updated = await api.data(UPDATE, {"input": {"memberId": member_id,
                                                "roles": ["DECISION_MAKER", "USER"],
                                                "stance": "SUPPORTER"}})
    assert updated["committeeMemberUpdate"]["member"] == {
        "id": member_id, "role": "GATEKEEPER", "roles": ["GATEKEEPER", "DECISION_MAKER", "USER"],
        "stance": "SUPPORTER"}
    await api.data(REMOVE, {"id": member_id})
    assert (await drawn(api, account))["committee"] == []
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    assert len((await drawn(api, account, yesterday))["committee"]) == 1
