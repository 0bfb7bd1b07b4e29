"""The audit trail answers who accessed which data, when, from where: auditors only, over
GraphQL and as a CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from relational.repositories import rate_limits
from relational.uow import RequestMeta
from tests.conftest import Api
from tests.test_authorization import READ, World, make_world

TRAIL = """query($f: AuditTrailFilter, $first: Int, $after: String) {
  auditTrail(filter: $f, first: $first, after: $after) {
    totalCount
    edges { node { seq operation actor { username } targetId fields ip requestId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def world(api: Api) -> World:
    return await make_world(api)


async def test_auditors_see_who_read_which_field(api: Api, world: World) -> None:
    read = await api.as_user("finance").client.post(
        "/graphql", json={"query": READ, "variables": {"id": world.east}},
        headers={"Authorization": f"Bearer {await api.token('finance')}"})
    request_id = read.headers["x-request-id"]
    body = await api.as_user("auditor").data(
        TRAIL, {"f": {"actorUsername": "finance", "operation": "read.sensitive"}})
    trail = body["auditTrail"]
    assert trail["totalCount"] == 1
    node = trail["edges"][0]["node"]
    assert (node["operation"], node["actor"], node["fields"], node["ip"],
            node["requestId"]) == ("read.sensitive", {"username": "finance"},
                                   ["email", "idNumber", "phone"], "127.0.0.1", request_id)


async def test_trail_pages_and_filters(api: Api, world: World) -> None:
    auditor = api.as_user("auditor")
    everything = (await auditor.data(TRAIL, {"first": 100}))["auditTrail"]
    seqs = [edge["node"]["seq"] for edge in everything["edges"]]
    assert seqs == sorted(seqs, reverse=True) and everything["totalCount"] == len(seqs)
    walked: list[int] = []
    after = None
    while True:
        page = (await auditor.data(TRAIL, {"first": 2, "after": after}))["auditTrail"]
        walked += [edge["node"]["seq"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == seqs
    creates = (await auditor.data(TRAIL, {"f": {"operation": "account.create"}}))["auditTrail"]
    assert creates["totalCount"] == 3
    bad = await auditor.post(TRAIL, {"f": {"since": "2030-01-01T00:00:00Z",
                                           "until": "2020-01-01T00:00:00Z"}})
    assert bad["errors"][0]["extensions"]["field"] == "since"


async def test_only_auditors_read_the_trail(api: Api, world: World) -> None:
    for user, code in (("finance", "FORBIDDEN"), ("sales.east", "FORBIDDEN"),
                       (None, "UNAUTHENTICATED")):
        body = await api.as_user(user).post(TRAIL)
        assert body["errors"][0]["extensions"]["code"] == code
    response = await api.client.get("/audit/export.csv", headers={
        "Authorization": f"Bearer {await api.token('finance')}"})
    assert response.status_code == 403


async def test_csv_export(api: Api, world: World) -> None:
    response = await api.client.get(
        "/audit/export.csv", params={"operation": "account.create"},
        headers={"Authorization": f"Bearer {await api.token('auditor')}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["actor"] for row in rows] == ["admin", "sales.north", "sales.east"]
    assert {row["operation"] for row in rows} == {"account.create"}
    bad = await api.client.get("/audit/export.csv", params={"since": "yesterday"},
                               headers={"Authorization": f"Bearer {await api.token('auditor')}"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == \
        "BAD_USER_INPUT"


async def test_a_burst_of_sensitive_reads_is_a_security_event(api: Api, world: World) -> None:
    limit = api.stores.settings.sensitive_reads_per_minute
    epoch = int(datetime.now(UTC).timestamp())
    async with api.stores.ledger.sessionmaker() as session, session.begin():
        # finance already read `limit - 2` fields this minute; the next read passes the limit
        await rate_limits.hit(session, "reads:finance",
                              datetime.fromtimestamp(epoch - epoch % 60, UTC), limit - 2)
    await api.as_user("finance").data(READ, {"id": world.east})
    # The burst put finance's session behind step-up (tests/test_step_up.py); refused reads
    # count as reads too.
    refused = await api.as_user("finance").post(READ, {"id": world.east})
    assert {error["extensions"]["code"] for error in refused["errors"]} == {"STEP_UP_REQUIRED"}
    events = (await api.as_user("auditor").data(
        TRAIL, {"f": {"operation": "security.sensitiveReadBurst"}}))["auditTrail"]
    assert events["totalCount"] == 1  # flagged once per minute, not on every read
    assert events["edges"][0]["node"]["actor"] == {"username": "finance"}


async def test_a_login_from_a_new_address_is_a_security_event(api: Api) -> None:
    user_id = await api.scalar("SELECT id::text FROM users WHERE username = 'finance'")
    async with api.stores.uow(RequestMeta(actor="finance", ip="10.9.9.9")) as uow:
        uow.audit("auth.login", [user_id], after={"username": "finance"})
    login = """mutation { login(input: {username: "finance", password: "Demo#2026"}) {
        accessToken } }"""
    assert "errors" not in await api.anonymous.post(login)
    assert "errors" not in await api.anonymous.post(login)  # now a known address
    events = (await api.as_user("auditor").data(
        TRAIL, {"f": {"operation": "security.newAddress"}}))["auditTrail"]
    assert events["totalCount"] == 1
    assert events["edges"][0]["node"]["ip"] == "127.0.0.1"


async def test_a_stated_purpose_is_recorded_with_the_reads(api: Api, world: World) -> None:
    await api.as_user("finance").post(READ, {"id": world.east},
                                      **{"X-Audit-Reason": quote("季度对账 Q3")})
    reason = await api.scalar(
        "SELECT reason FROM audit_log WHERE operation = 'read.sensitive' ORDER BY id DESC LIMIT 1")
    assert reason == "季度对账 Q3"
