"""Interactions over HTTP: logging (sealed notes, audit, outbox event), the lists per account,
contact and staff user with channel and period filters and sealed cursors, scope hiding, and
the KNOWS strength they derive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from analytics.ties import Touch, strength
from services import clock
from tests.conftest import Api
from tests.factories import assert_error, global_id, ledger_counts, make_account, make_contact
from tests.test_relationships_api import CREATE as RELATE
from tests.test_relationships_api import UPDATE as RELATE_UPDATE
from tests.test_relationships_api import me

LOG = """
mutation($input: InteractionLogInput!) {
  interactionLog(input: $input) {
    interaction { id channel channelLabel direction occurredAt subject notes
                  staff { id name } contacts { id restricted } account { id } }
  }
}
"""
ACCOUNT_LIST = """
query($id: ID!, $first: Int, $after: String, $channel: InteractionChannel, $since: Date,
      $until: Date) {
  account(id: $id) {
    interactions(first: $first, after: $after, channel: $channel, since: $since,
                 until: $until) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { subject channel notes } }
    }
  }
}
"""
CONTACT_LIST = """
query($id: ID!) { contact(id: $id) { interactions { totalCount edges { node { subject } } } } }
"""
USER_LIST = """
query($user: ID) { interactions(userId: $user) { totalCount edges { node { subject } } } }
"""


def day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).replace(microsecond=0).isoformat()


async def log(api: Api, account: str, contacts: list[str], **fields: Any) -> dict[str, Any]:
    given = {"accountId": account, "contactIds": contacts, "channel": "VISIT",
             "direction": "OUTBOUND", "occurredAt": day(1), "subject": "技术交流", **fields}
    data = await api.data(LOG, {"input": given})
    interaction: dict[str, Any] = data["interactionLog"]["interaction"]
    return interaction


async def test_a_logged_interaction_is_sealed_audited_and_announced(api: Api) -> None:
    account = await make_account(api)
    contact = await make_contact(api, account)
    logged = await log(api, account, [contact], channel="TENDER_QA", notes="对方关注交付周期")
    assert logged["channel"] == "TENDER_QA" and logged["channelLabel"] == "投标答疑"
    assert logged["notes"] == "对方关注交付周期"
    assert logged["staff"] == {"id": await me(api), "name": "系统管理员"}
    assert logged["contacts"] == [{"id": contact, "restricted": False}]
    stored = await api.scalar("SELECT notes FROM interactions")
    assert stored.startswith("sm4gcm:v") and "交付" not in stored
    event = await api.scalar("SELECT payload FROM outbox WHERE topic = 'interaction.logged'")
    assert event["channel"] == "TENDER_QA" and event["contact_ids"] == [
        (await api.scalar("SELECT contact_id::text FROM interaction_contacts"))]
    audit = await api.scalar("SELECT after FROM audit_log WHERE operation = 'interaction.log'")
    assert audit["hasNotes"] is True and "notes" not in audit


async def test_lists_filter_by_channel_and_period_and_page_with_sealed_cursors(
    api: Api
) -> None:
    account = await make_account(api)
    first, second = await make_contact(api, account), await make_contact(api, account, name="赵")
    await log(api, account, [first], subject="A", occurredAt=day(40), channel="CALL")
    await log(api, account, [first, second], subject="B", occurredAt=day(20))
    await log(api, account, [second], subject="C", occurredAt=day(5), channel="CALL")
    page = (await api.data(ACCOUNT_LIST, {"id": account, "first": 2}))["account"]["interactions"]
    assert [edge["node"]["subject"] for edge in page["edges"]] == ["C", "B"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    rest = (await api.data(ACCOUNT_LIST, {"id": account, "first": 2,
                                          "after": page["pageInfo"]["endCursor"]}))
    assert [edge["node"]["subject"] for edge in rest["account"]["interactions"]["edges"]] == ["A"]
    calls = (await api.data(ACCOUNT_LIST, {"id": account, "channel": "CALL"}))
    assert [e["node"]["subject"] for e in calls["account"]["interactions"]["edges"]] == ["C", "A"]
    since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    until = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    period = await api.data(ACCOUNT_LIST, {"id": account, "since": since, "until": until})
    assert [e["node"]["subject"] for e in period["account"]["interactions"]["edges"]] == ["B"]
    by_contact = (await api.data(CONTACT_LIST, {"id": first}))["contact"]["interactions"]
    assert [edge["node"]["subject"] for edge in by_contact["edges"]] == ["B", "A"]
    mine = (await api.data(USER_LIST))["interactions"]
    assert mine["totalCount"] == 3
    other = await api.error(ACCOUNT_LIST, {"id": account, "channel": "CALL",
                                           "after": page["pageInfo"]["endCursor"]})
    assert_error(other, "BAD_USER_INPUT", "after")


async def test_other_peoples_accounts_stay_hidden_in_every_list(api: Api) -> None:
    east = api.as_user("sales.east")
    north = api.as_user("sales.north")
    account = await make_account(east)
    contact = await make_contact(east, account)
    await log(east, account, [contact], subject="华东拜访")
    theirs = await make_account(north, name="北方重工", region="华北")
    their_contact = await make_contact(north, theirs, name="周")
    await log(north, theirs, [their_contact], subject="华北拜访")
    east_id = await me(east)
    seen_by_north = (await north.data(USER_LIST, {"user": east_id}))["interactions"]
    assert seen_by_north == {"totalCount": 0, "edges": []}
    seen_by_admin = (await api.data(USER_LIST, {"user": east_id}))["interactions"]
    assert [edge["node"]["subject"] for edge in seen_by_admin["edges"]] == ["华东拜访"]
    before = await ledger_counts(api)
    refused = await north.error(LOG, {"input": {
        "accountId": account, "contactIds": [contact], "channel": "CALL",
        "direction": "INBOUND", "occurredAt": day(0), "subject": "x"}})
    assert_error(refused, "NOT_FOUND", "accountId")
    assert (await ledger_counts(api))["outbox"] == before["outbox"]


async def test_bad_input_names_the_field(api: Api) -> None:
    account = await make_account(api)
    other = await make_account(api, name="乙公司")
    contact, stranger = await make_contact(api, account), await make_contact(api, other)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"contactIds": []}, "contactIds"),
        ({"contactIds": [stranger]}, "contactIds"),
        ({"contactIds": [global_id("Contact", "00000000-0000-0000-0000-0000000000aa")]},
         "contactIds"),
        ({"subject": "  "}, "subject"),
        ({"occurredAt": (datetime.now(UTC) + timedelta(days=9)).isoformat()}, "occurredAt"),
    ]
    before = await ledger_counts(api)
    for change, field in cases:
        given = {"accountId": account, "contactIds": [contact], "channel": "CALL",
                 "direction": "INBOUND", "occurredAt": day(0), "subject": "x", **change}
        error = await api.error(LOG, {"input": given})
        assert error["extensions"]["field"] == field, error
    assert await ledger_counts(api) == before


async def test_knows_strength_is_derived_from_interactions_unless_set_by_hand(
    api: Api
) -> None:
    account = await make_account(api)
    contact = await make_contact(api, account)
    await log(api, account, [contact], occurredAt=day(200), direction="OUTBOUND")
    await log(api, account, [contact], occurredAt=day(30), direction="INBOUND")
    await log(api, account, [contact], occurredAt=day(3), direction="OUTBOUND")
    today = clock.today()
    touches = [Touch((datetime.now(UTC) - timedelta(days=ago)).date(), inbound)
               for ago, inbound in ((200, False), (30, True), (3, False))]
    expected = strength(touches, today)
    assert 0.3 < expected < 0.9
    await api.projector.drain()
    rows = await api.stores.graph.read(
        "MATCH (:User)-[k:KNOWS]->(:Contact) RETURN k.id AS id, k.strength AS strength, "
        "k.manual AS manual, k.validFrom AS validFrom")
    assert [(row["strength"], row["manual"]) for row in rows] == [(expected, False)]
    assert rows[0]["validFrom"] == touches[0].day.isoformat()
    one_way = strength([Touch(touch.day, False) for touch in touches], today)
    assert one_way < expected  # reciprocity: one-way contact counts for little
    edge = global_id("Relationship", rows[0]["id"])
    set_by_hand = await api.data(RELATE_UPDATE, {"input": {"relationshipId": edge,
                                                           "weight": 0.95}})
    assert set_by_hand["relationshipUpdate"]["relationship"]["manual"] is True
    await log(api, account, [contact], occurredAt=day(1), direction="INBOUND")
    await api.projector.drain()
    kept = await api.stores.graph.read("MATCH ()-[k:KNOWS]->() RETURN k.strength AS s, "
                                       "k.manual AS manual")
    assert kept == [{"s": 0.95, "manual": True}]
    back = await api.data(RELATE_UPDATE, {"input": {"relationshipId": edge, "weight": None}})
    derived = strength([*touches, Touch((datetime.now(UTC) - timedelta(days=1)).date(), True)],
                       today)
    assert back["relationshipUpdate"]["relationship"]["weight"] == derived
    assert back["relationshipUpdate"]["relationship"]["manual"] is False
    duplicate = await api.error(RELATE, {"input": {"kind": "KNOWS", "fromId": await me(api),
                                                   "toId": contact}})
    assert_error(duplicate, "CONFLICT", "toId")
