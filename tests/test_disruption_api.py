"""Disruptions over HTTP: marked and cleared in the ledger with audit and outbox event,
projected onto the graph's Account node, refused with a typed error naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.graph_sync import verify
from tests.conftest import Api
from tests.factories import assert_error, ledger_counts, make_account, raw_id

MARK = """mutation($input: AccountMarkDisruptedInput!) { accountMarkDisrupted(input: $input) {
  projectionPending account { id disruption { reason since } } } }"""
CLEAR = """mutation($input: AccountClearDisruptionInput!) {
  accountClearDisruption(input: $input) { account { id disruption { reason since } } } }"""
READ = "query($id: ID!) { account(id: $id) { disruption { reason since } } }"
NODE = """MATCH (a:Account {id: $id})
RETURN a.disruptedReason AS reason, a.disruptedSince AS since"""


async def graph_node(api: Api, account: str) -> dict[str, Any]:
    rows = await api.stores.graph.read(NODE, {"id": raw_id(account)})
    assert len(rows) == 1
    return rows[0]


async def last_audit(api: Api) -> dict[str, Any]:
    row: dict[str, Any] = await api.scalar(
        "SELECT json_build_object('operation', operation, 'targets', target_ids, "
        "'before', before, 'after', after, 'actor', actor) FROM audit_log "
        "ORDER BY id DESC LIMIT 1")
    return row


async def test_mark_and_clear_reach_ledger_audit_outbox_and_graph(api: Api) -> None:
    account = await make_account(api, name="成都锐芯特种材料有限公司")
    data = await api.data(MARK, {"input": {"accountId": account, "reason": "火灾停产",
                                           "since": "2026-11-20"}})
    marked = data["accountMarkDisrupted"]
    assert marked == {"projectionPending": False, "account": {
        "id": account,
        "disruption": {"reason": "火灾停产", "since": "2026-11-20"}}}
    assert await last_audit(api) == {
        "operation": "account.markDisrupted", "targets": [raw_id(account)],
        "before": {"disruptedReason": None, "disruptedSince": None},
        "after": {"disruptedReason": "火灾停产", "disruptedSince": "2026-11-20"},
        "actor": "admin"}
    assert await api.scalar("SELECT topic FROM outbox ORDER BY id DESC LIMIT 1") == \
        "account.disrupted"
    assert await api.scalar("SELECT version FROM accounts") == 2
    # The payload answered after the projection: the graph shows it at once.
    assert await graph_node(api, account) == {"reason": "火灾停产", "since": "2026-11-20"}
    assert (await api.data(READ, {"id": account}))["account"]["disruption"] == {
        "reason": "火灾停产", "since": "2026-11-20"}

    changed = await api.data(MARK, {"input": {"accountId": account, "reason": "  洪水  ",
                                              "since": "2026-11-21"}})
    assert changed["accountMarkDisrupted"]["account"]["disruption"] == {
        "reason": "洪水", "since": "2026-11-21"}

    cleared = await api.data(CLEAR, {"input": {"accountId": account}})
    assert cleared["accountClearDisruption"]["account"] == {"id": account,
                                                            "disruption": None}
    audit = await last_audit(api)
    assert (audit["operation"], audit["after"]) == (
        "account.clearDisruption", {"disruptedReason": None, "disruptedSince": None})
    assert await graph_node(api, account) == {"reason": None, "since": None}
    report = await verify(api.stores.read, api.stores.graph)
    assert report.differences == []


async def test_since_defaults_to_today_and_clearing_twice_changes_nothing(api: Api) -> None:
    account = await make_account(api)
    data = await api.data(MARK, {"input": {"accountId": account, "reason": "停电"}})
    assert data["accountMarkDisrupted"]["account"]["disruption"]["since"] == \
        datetime.now(UTC).date().isoformat()
    await api.data(CLEAR, {"input": {"accountId": account}})
    before = await ledger_counts(api)
    again = await api.data(CLEAR, {"input": {"accountId": account}})
    assert again["accountClearDisruption"]["account"]["disruption"] is None
    assert await ledger_counts(api) == before


async def test_bad_input_names_the_field_and_writes_nothing(api: Api) -> None:
    account = await make_account(api)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    unknown = "QWNjb3VudDowMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDE="
    before = await ledger_counts(api)
    for given, code, field in (
        ({"accountId": account, "reason": "停产", "since": tomorrow}, "BAD_USER_INPUT",
         "since"),
        ({"accountId": account, "reason": "   "}, "BAD_USER_INPUT", "reason"),
        ({"accountId": account, "reason": "长" * 501}, "BAD_USER_INPUT", "reason"),
        ({"accountId": unknown, "reason": "停产"}, "NOT_FOUND", "accountId"),
        ({"accountId": "not-an-id", "reason": "停产"}, "BAD_USER_INPUT", "accountId"),
    ):
        assert_error(await api.error(MARK, {"input": given}), code, field)
    assert await ledger_counts(api) == before
    assert (await api.data(READ, {"id": account}))["account"]["disruption"] is None
    assert date.fromisoformat(tomorrow) > datetime.now(UTC).date()


async def test_an_account_out_of_scope_is_not_found_and_the_attempt_is_audited(
    api: Api,
) -> None:
    east = await make_account(api.as_user("sales.east"), region="华东")
    north = api.as_user("sales.north")
    for query, given in ((MARK, {"accountId": east, "reason": "停产"}),
                         (CLEAR, {"accountId": east})):
        before = await ledger_counts(api)
        assert_error(await north.error(query, {"input": given}), "NOT_FOUND", "accountId")
        after = await ledger_counts(api)
        assert after == {**before, "audit_log": before["audit_log"] + 1}
        audit = await last_audit(api)
        assert (audit["operation"], audit["targets"], audit["actor"]) == (
            "denied", [raw_id(east)], "sales.north")
    assert (await api.data(READ, {"id": east}))["account"]["disruption"] is None
