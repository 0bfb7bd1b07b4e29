"""Relationship edges over HTTP: every kind's rules, the ledger row, the graph edge, history by
validity period, and refusals that name their field and write nothing."""

from __future__ import annotations

from typing import Any

from services import graph_sync
from tests.conftest import Api
from tests.factories import assert_error, global_id, ledger_counts, make_account, make_contact

CREATE = """
mutation($input: RelationshipCreateInput!) {
  relationshipCreate(input: $input) {
    relationship { id kind fromId toId weight manual criticality share products annualVolume
                   evidence validFrom validTo version }
  }
}
"""
UPDATE = """
mutation($input: RelationshipUpdateInput!) {
  relationshipUpdate(input: $input) { relationship { id weight manual validFrom validTo version } }
}
"""
END = """
mutation($input: RelationshipEndInput!) {
  relationshipEnd(input: $input) { relationship { id validTo version } }
}
"""
ME = "{ me { id } }"


async def me(api: Api) -> str:
    user_id: str = (await api.data(ME))["me"]["id"]
    return user_id


async def relate(api: Api, **fields: Any) -> dict[str, Any]:
    data = await api.data(CREATE, {"input": fields})
    relationship: dict[str, Any] = data["relationshipCreate"]["relationship"]
    return relationship


async def counts(api: Api) -> dict[str, int]:
    return {**await ledger_counts(api),
            "relationships": await api.scalar("SELECT count(*) FROM relationships")}


async def test_each_kind_is_written_to_the_ledger_and_projected(api: Api) -> None:
    account = await make_account(api)
    boss, deputy = await make_contact(api, account, name="李总"), await make_contact(
        api, account, name="王副总")
    influences = await relate(api, kind="INFLUENCES", fromId=deputy, toId=boss, weight=0.8,
                              evidence="周会上意见常被采纳", validFrom="2026-01-01")
    assert influences["weight"] == 0.8 and influences["manual"] is False
    assert (influences["fromId"], influences["toId"]) == (deputy, boss)
    reports = await relate(api, kind="REPORTS_TO", fromId=deputy, toId=boss,
                           validFrom="2025-06-01", validTo="2026-12-31")
    assert reports["weight"] is None and reports["validTo"] == "2026-12-31"
    staff = await me(api)
    knows = await relate(api, kind="KNOWS", fromId=staff, toId=boss, weight=0.6)
    assert knows["manual"] is True and knows["weight"] == 0.6
    supplier = await make_account(api, name="成都航宇材料有限公司", region="西南")
    supplies = await relate(api, kind="SUPPLIES", fromId=supplier, toId=account,
                            criticality="SOLE_SOURCE", share="35.5", products=["钛合金板"],
                            annualVolume="1200000.00")
    assert supplies["share"] == "35.50" and supplies["criticality"] == "SOLE_SOURCE"
    assert supplies["products"] == ["钛合金板"] and supplies["annualVolume"] == "1200000.00"
    await api.projector.drain()
    rows = await api.stores.graph.read(
        "MATCH (a)-[r]->(b) WHERE r.id IS NOT NULL "
        "RETURN type(r) AS kind, r.weight AS weight, r.strength AS strength, "
        "r.manual AS manual, r.share AS share, r.validFrom AS validFrom, r.validTo AS validTo "
        "ORDER BY kind")
    assert rows == [
        {"kind": "INFLUENCES", "weight": 0.8, "strength": None, "manual": None, "share": None,
         "validFrom": "2026-01-01", "validTo": None},
        {"kind": "KNOWS", "weight": None, "strength": 0.6, "manual": True, "share": None,
         "validFrom": rows[1]["validFrom"], "validTo": None},
        {"kind": "REPORTS_TO", "weight": None, "strength": None, "manual": None, "share": None,
         "validFrom": "2025-06-01", "validTo": "2026-12-31"},
        {"kind": "SUPPLIES", "weight": None, "strength": None, "manual": None, "share": "35.50",
         "validFrom": rows[3]["validFrom"], "validTo": None},
    ]
    report = await graph_sync.verify(api.stores.read, api.stores.graph)
    assert report.differences == [] and report.counts["relationship"] == 4
    await api.stores.graph.write("MATCH ()-[r:KNOWS]->() SET r.strength = 0.1")
    assert len((await graph_sync.verify(api.stores.read, api.stores.graph)).differences) == 1
    counted = await graph_sync.rebuild(api.stores.ledger, api.stores.graph)
    assert counted["relationships"] == 4
    assert (await graph_sync.verify(api.stores.read, api.stores.graph)).differences == []


async def test_update_and_end_rewrite_the_same_edge(api: Api) -> None:
    account = await make_account(api)
    first, second = await make_contact(api, account), await make_contact(api, account, name="赵")
    edge = await relate(api, kind="INFLUENCES", fromId=first, toId=second, weight=0.3,
                        validFrom="2026-01-01")
    updated = (await api.data(UPDATE, {"input": {"relationshipId": edge["id"], "weight": 0.9}})
               )["relationshipUpdate"]["relationship"]
    assert updated == {"id": edge["id"], "weight": 0.9, "manual": False,
                       "validFrom": "2026-01-01", "validTo": None, "version": 2}
    ended = (await api.data(END, {"input": {"relationshipId": edge["id"],
                                            "validTo": "2026-03-31"}}))["relationshipEnd"]
    assert ended["relationship"] == {"id": edge["id"], "validTo": "2026-03-31", "version": 3}
    await api.projector.drain()
    rows = await api.stores.graph.read(
        "MATCH ()-[r:INFLUENCES]->() RETURN r.weight AS weight, r.validTo AS validTo")
    assert rows == [{"weight": 0.9, "validTo": "2026-03-31"}]
    bad = await api.error(END, {"input": {"relationshipId": edge["id"],
                                          "validTo": "2025-12-31"}})
    assert_error(bad, "BAD_USER_INPUT", "validTo")


async def test_bad_input_names_the_field_and_writes_nothing(api: Api) -> None:
    account = await make_account(api)
    a, b = await make_contact(api, account), await make_contact(api, account, name="钱")
    c = await make_contact(api, account, name="孙")
    await relate(api, kind="REPORTS_TO", fromId=a, toId=b)
    await relate(api, kind="REPORTS_TO", fromId=b, toId=c)
    before = await counts(api)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"kind": "INFLUENCES", "fromId": a, "toId": b, "weight": 1.5}, "BAD_USER_INPUT",
         "weight"),
        ({"kind": "INFLUENCES", "fromId": a, "toId": b, "weight": -0.1}, "BAD_USER_INPUT",
         "weight"),
        ({"kind": "INFLUENCES", "fromId": a, "toId": b}, "BAD_USER_INPUT", "weight"),
        ({"kind": "INFLUENCES", "fromId": a, "toId": a, "weight": 0.5}, "BAD_USER_INPUT",
         "toId"),
        ({"kind": "INFLUENCES", "fromId": a, "toId": b, "weight": 0.5,
          "validFrom": "2026-05-01", "validTo": "2026-04-30"}, "BAD_USER_INPUT", "validTo"),
        ({"kind": "REPORTS_TO", "fromId": c, "toId": a}, "CONFLICT", "toId"),
        ({"kind": "INFLUENCES", "fromId": a, "toId": global_id(
            "Contact", "00000000-0000-0000-0000-000000000001"), "weight": 0.5},
         "NOT_FOUND", "toId"),
        ({"kind": "INFLUENCES", "fromId": a, "toId": account, "weight": 0.5}, "NOT_FOUND",
         "toId"),
        ({"kind": "SUPPLIES", "fromId": account, "toId": account, "criticality": "LOW"},
         "BAD_USER_INPUT", "toId"),
        ({"kind": "SUPPLIES", "fromId": account, "toId": await make_account(api, name="乙"),
          "criticality": "LOW", "share": "100.5"}, "BAD_USER_INPUT", "share"),
        ({"kind": "SUPPLIES", "fromId": account, "toId": await make_account(api, name="丙")},
         "BAD_USER_INPUT", "criticality"),
    ]
    before = await counts(api)
    for given, code, field in cases:
        assert_error(await api.error(CREATE, {"input": given}), code, field)
    assert await counts(api) == before


async def test_an_out_of_scope_end_answers_like_a_missing_one_and_is_audited(api: Api) -> None:
    mine = await make_account(api.as_user("sales.east"))
    theirs = await make_account(api.as_user("sales.north"), name="北方重工", region="华北")
    me_contact = await make_contact(api.as_user("sales.east"), mine)
    hidden = await make_contact(api.as_user("sales.north"), theirs, name="周")
    sales = api.as_user("sales.east")
    before = await counts(api)
    error = await sales.error(CREATE, {"input": {"kind": "INFLUENCES", "fromId": me_contact,
                                                 "toId": hidden, "weight": 0.5}})
    assert_error(error, "NOT_FOUND", "toId")
    assert error["message"] == "no contact with this id"
    after = await counts(api)
    assert after["relationships"] == before["relationships"]
    denied = await api.scalar("SELECT count(*) FROM audit_log WHERE operation = 'denied'")
    assert denied == 1
    edge = await relate(api, kind="INFLUENCES", fromId=me_contact, toId=hidden, weight=0.5)
    refused = await sales.error(END, {"input": {"relationshipId": edge["id"]}})
    assert_error(refused, "NOT_FOUND", "relationshipId")
    refused_update = await api.as_user("finance").error(
        UPDATE, {"input": {"relationshipId": edge["id"], "weight": 0.1}})
    assert refused_update["extensions"]["code"] == "FORBIDDEN"


async def test_knows_pairs_are_unique_and_a_deleted_contact_takes_its_edges(api: Api) -> None:
    account = await make_account(api)
    contact = await make_contact(api, account)
    staff = await me(api)
    await relate(api, kind="KNOWS", fromId=staff, toId=contact, weight=0.4)
    again = await api.error(CREATE, {"input": {"kind": "KNOWS", "fromId": staff,
                                               "toId": contact, "weight": 0.5}})
    assert_error(again, "CONFLICT", "toId")
    await api.data("mutation($id: ID!) { contactDelete(input: {id: $id}) { deletedContactId } }",
                   {"id": contact})
    assert await api.scalar("SELECT count(*) FROM relationships") == 0
    await api.projector.drain()
    report = await graph_sync.verify(api.stores.read, api.stores.graph)
    assert report.differences == []
