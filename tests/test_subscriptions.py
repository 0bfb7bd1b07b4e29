"""Subscriptions over graphql-transport-ws against the served app: per-subscriber scope,
REVOKED, resume without gap or duplicate, two instances, socket auth and its close codes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from gql import Client, gql
from gql.transport.websockets import WebsocketsTransport

from app import create_app
from auth import secrets
from settings import Settings
from tests.conftest import Api, Seed, serving
from tests.factories import DELETE_CONTACT, UPDATE_ACCOUNT, make_account, make_contact
from tests.operations_helpers import TRANSITION, add_engineer, customer, open_ticket
from tests.pipeline_helpers import deal, move
from tests.ws_client import Socket, wait_subscribed

ACCOUNTS = """subscription($after: String) {
  accountChanged(after: $after) { cursor kind id account { id name region annualRevenue } } }"""


async def socket_for(server: str, api: Api, user: str) -> Socket:
    socket = await Socket.open(server, await api.token(user))
    await socket.acknowledged()
    return socket


async def test_each_subscriber_sees_its_scope_and_one_revoked(server: str, api: Api) -> None:
    east = await socket_for(server, api, "sales.east")
    north = await socket_for(server, api, "sales.north")
    finance = await socket_for(server, api, "finance")
    for socket in (east, north, finance):
        await socket.subscribe("1", ACCOUNTS)
    await wait_subscribed(api.stores, "accountChanged", 3)

    seller = api.as_user("sales.east")
    own = await make_account(seller, name="华东甲公司", region="华东", annualRevenue="1200.00")
    got = (await east.next())["accountChanged"]
    assert (got["kind"], got["id"], got["account"]["name"]) == ("CREATED", own, "华东甲公司")
    seen = (await finance.next())["accountChanged"]
    assert (seen["id"], seen["account"]["annualRevenue"]) == (own, "1200.00")

    # Classified above the salesperson's clearance: one REVOKED, then nothing about it.
    await api.data(UPDATE_ACCOUNT, {"input": {"id": own, "classification": "SECRET"}})
    revoked = (await east.next())["accountChanged"]
    assert (revoked["kind"], revoked["id"], revoked["account"]) == ("REVOKED", own, None)
    assert (await finance.next())["accountChanged"]["kind"] == "REVOKED"
    await api.data(UPDATE_ACCOUNT, {"input": {"id": own, "name": "华东乙公司"}})
    later = await make_account(seller, name="华东丙公司", region="华东")
    after_revoked = (await east.next())["accountChanged"]
    assert (after_revoked["kind"], after_revoked["id"]) == ("CREATED", later)

    # The salesperson of another region saw none of it: their first event is their own.
    theirs = await make_account(api.as_user("sales.north"), name="华北丁公司", region="华北")
    assert (await north.next())["accountChanged"]["id"] == theirs
    for socket in (east, north, finance):
        await socket.close()


async def test_resume_replays_without_gap_or_duplicate(server: str, api: Api) -> None:
    socket = await socket_for(server, api, "admin")
    await socket.subscribe("a", ACCOUNTS)
    await wait_subscribed(api.stores, "accountChanged")
    first = [await make_account(api, name=f"续传{n}公司") for n in range(2)]
    seen = [(await socket.next())["accountChanged"] for _ in first]
    assert [event["id"] for event in seen] == first
    await socket.close()

    missed = [await make_account(api, name=f"断开{n}公司") for n in range(3)]
    again = await socket_for(server, api, "admin")
    await again.subscribe("b", ACCOUNTS, {"after": seen[-1]["cursor"]})
    # Writes keep arriving while the replay runs: each arrives once, in order.
    writer = asyncio.create_task(_make_accounts(api, 3))
    received = [(await again.next())["accountChanged"]["id"] for _ in range(6)]
    live = await writer
    assert received == missed + live
    with pytest.raises(TimeoutError):
        await again.next(0.5)
    await again.close()


async def _make_accounts(api: Api, count: int) -> list[str]:
    return [await make_account(api, name=f"实时{n}公司") for n in range(count)]


async def test_a_foreign_or_tampered_cursor_is_refused(server: str, api: Api) -> None:
    socket = await socket_for(server, api, "admin")
    await socket.subscribe("x", ACCOUNTS, {"after": "bm90LWEtY3Vyc29y"})
    message = await socket.receive()
    assert message["type"] in {"error", "next"}, message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    await socket.close()


@pytest.fixture
async def second_instance(settings: Settings) -> AsyncIterator[str]:
    quick = settings.model_copy(update={"ws_auth_recheck_seconds": 0.2,
                                        "ws_init_timeout_seconds": 0.5})
    async with serving(create_app(quick)) as url:
        yield url


async def test_two_instances_both_deliver_every_event(server: str, second_instance: str,
                                                      api: Api) -> None:
    one = await socket_for(server, api, "admin")
    two = await socket_for(second_instance, api, "admin")
    await one.subscribe("1", ACCOUNTS)
    await two.subscribe("1", ACCOUNTS)
    await wait_subscribed(api.stores, "accountChanged", 2)
    made = [await make_account(api, name=f"双实例{n}公司") for n in range(3)]
    assert [(await one.next())["accountChanged"]["id"] for _ in made] == made
    assert [(await two.next())["accountChanged"]["id"] for _ in made] == made
    await one.close()
    await two.close()


async def test_socket_auth_and_protocol_codes(second_instance: str, api: Api) -> None:
    bad = await Socket.open(second_instance, "not-a-token")
    assert await bad.closed_with() == 4403
    silent = await Socket.open(second_instance, None)
    assert await silent.closed_with() == 4403  # anonymous: no subscriptions
    legacy = await Socket.open(second_instance, await api.token("admin"), protocol="graphql-ws")
    assert await legacy.closed_with() == 4406


async def test_revoked_session_closes_the_socket(second_instance: str, api: Api) -> None:
    token = await api.token("sales.east")
    socket = await Socket.open(second_instance, token)
    await socket.acknowledged()
    await socket.subscribe("1", ACCOUNTS)
    await wait_subscribed(api.stores, "accountChanged")
    await api.as_user("sales.east").data("mutation { logout { ok } }")
    assert await socket.closed_with() == 4403


async def test_subscribe_attempts_are_audited_and_refusals_too(server: str, api: Api) -> None:
    socket = await socket_for(server, api, "sales.east")
    await socket.subscribe("s", "subscription { securityEvents { operation } }")
    message = await socket.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    denied = await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation = 'denied' "
        "AND after->>'operation' = 'securityEvents'")
    assert denied == 1
    await socket.close()


async def test_auditor_streams_security_events(server: str, api: Api) -> None:
    auditor = await socket_for(server, api, "auditor")
    await auditor.subscribe("s", "subscription { securityEvents { kind operation actor } }")
    await wait_subscribed(api.stores, "securityEvents")
    refused = await api.as_user("sales.east").post(
        'mutation { apiTokenCreate(input: {name: "x", permissions: ["account:read"]}) '
        "{ apiToken { id } } }")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    event = (await auditor.next())["securityEvents"]
    assert event == {"kind": "CREATED", "operation": "denied", "actor": "sales.east"}
    await auditor.close()


async def test_python_gql_client_over_websockets(server: str, api: Api) -> None:
    url = server.replace("http://", "ws://") + "/graphql"
    transport = WebsocketsTransport(
        url=url, init_payload={"authorization": f"Bearer {await api.token('admin')}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    async with Client(transport=transport) as session:
        stream = session.subscribe(gql(ACCOUNTS))
        first = asyncio.ensure_future(anext(stream))
        await wait_subscribed(api.stores, "accountChanged")
        made = await make_account(api, name="客户端公司")
        result = await asyncio.wait_for(first, 5)
        assert result["accountChanged"]["id"] == made
        await stream.aclose()


async def test_token_expiry_closes_the_socket(second_instance: str, api: Api) -> None:
    key = api.stores.settings.jwt_secret.get_secret_value()
    claims = secrets.read_access_token(key, await api.token("sales.east"))
    short = secrets.issue_access_token(key, claims, timedelta(seconds=1))
    socket = await Socket.open(second_instance, short)
    await socket.acknowledged()
    await socket.subscribe("1", ACCOUNTS)
    assert await socket.closed_with(10) == 4403


async def test_contact_fields_are_masked_per_subscriber(server: str, api: Api) -> None:
    query = "subscription { contactChanged { kind contact { name phone } } }"
    admin = await socket_for(server, api, "admin")
    finance = await socket_for(server, api, "finance")
    for socket in (admin, finance):
        await socket.subscribe("c", query)
    await wait_subscribed(api.stores, "contactChanged", 2)
    account = await make_account(api, name="掩码公司")
    await make_contact(api, account, name="李雷", phone="13812345678")
    clear = (await admin.next())["contactChanged"]
    assert clear == {"kind": "CREATED", "contact": {"name": "李雷", "phone": "13812345678"}}
    masked = (await finance.next())["contactChanged"]
    assert masked == {"kind": "CREATED", "contact": {"name": "李雷", "phone": "138****5678"}}
    for socket in (admin, finance):
        await socket.close()


DEALS = """subscription { opportunityChanged {
  kind topic id opportunity { id stage status amount } } }"""


async def test_a_stage_change_reaches_finance_with_the_amount_and_no_other_region(
        server: str, api: Api) -> None:
    finance = await socket_for(server, api, "finance")
    north = await socket_for(server, api, "sales.north")
    desk = await socket_for(server, api, "service")  # the region's deals, amounts masked
    for socket in (finance, north, desk):
        await socket.subscribe("d", DEALS)
    await wait_subscribed(api.stores, "opportunityChanged", 3)

    seller = api.as_user("sales.east")
    made = await deal(seller, amount="250000.00",
                      account=await make_account(seller, name="华东商机公司", region="华东"))
    await move(seller, made, "QUALIFICATION")
    created = (await finance.next())["opportunityChanged"]
    assert (created["kind"], created["topic"], created["id"]) == (
        "CREATED", "opportunity.created", made["id"])
    moved = (await finance.next())["opportunityChanged"]
    assert moved == {"kind": "UPDATED", "topic": "opportunity.stage_changed", "id": made["id"],
                     "opportunity": {"id": made["id"], "stage": "QUALIFICATION",
                                     "status": "OPEN", "amount": "250000.00"}}
    await desk.next()
    masked = (await desk.next())["opportunityChanged"]
    assert (masked["topic"], masked["opportunity"]["amount"]) == ("opportunity.stage_changed",
                                                              "********")

    # The salesperson of another region saw neither event: their first one is their own deal.
    northern = api.as_user("sales.north")
    theirs = await deal(northern, account=await make_account(northern, name="华北商机公司",
                                                             region="华北"))
    first = (await north.next())["opportunityChanged"]
    assert (first["kind"], first["id"]) == ("CREATED", theirs["id"])
    for socket in (finance, north, desk):
        await socket.close()


async def test_a_ticket_transition_arrives(server: str, api: Api, seed: Seed) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"])
    admin = await socket_for(server, api, "admin")
    await admin.subscribe("t", "subscription { ticketChanged { kind topic id ticket { state } } }")
    await wait_subscribed(api.stores, "ticketChanged")
    ticket = await open_ticket(api, await customer(api))
    await api.data(TRANSITION, {"input": {"ticketId": ticket["id"], "to": "IN_PROGRESS",
                                          "version": ticket["version"]}})
    seen = [(await admin.next())["ticketChanged"] for _ in range(3)]
    assert [(event["kind"], event["topic"], event["id"]) for event in seen] == [
        ("CREATED", "ticket.created", ticket["id"]), ("UPDATED", "ticket.assigned", ticket["id"]),
        ("UPDATED", "ticket.transitioned", ticket["id"])]
    assert seen[-1]["ticket"] == {"state": "IN_PROGRESS"}
    await admin.close()


RELATE = """mutation($input: RelationshipCreateInput!) {
  relationshipCreate(input: $input) { relationship { id } } }"""
EDGES = """subscription { relationshipChanged {
  kind id relationship { kind } edge { kind fromId toId weight } } }"""


async def _influence(api: Api, account_name: str) -> tuple[str, str, str]:
    """Two contacts of a new account of the caller and an INFLUENCES edge between them."""
    account = await make_account(api, name=account_name, region="华东")
    deputy = await make_contact(api, account, name="王副总")
    boss = await make_contact(api, account, name="赵总")
    body = await api.data(RELATE, {"input": {"kind": "INFLUENCES", "fromId": deputy,
                                             "toId": boss, "weight": 0.7}})
    return body["relationshipCreate"]["relationship"]["id"], deputy, boss


async def test_an_influences_edge_reaches_only_who_sees_both_contacts(
        server: str, api: Api) -> None:
    admin = await socket_for(server, api, "admin")
    north = await socket_for(server, api, "sales.north")
    for socket in (admin, north):
        await socket.subscribe("r", EDGES)
    await wait_subscribed(api.stores, "relationshipChanged", 2)

    edge, deputy, boss = await _influence(api, "决策图公司")
    linked = (await admin.next())["relationshipChanged"]
    assert linked == {"kind": "LINKED", "id": edge, "relationship": None, "edge": {
        "kind": "INFLUENCES", "fromId": deputy, "toId": boss, "weight": 0.7}}

    # The salesperson sees none of the admin's contacts: their first edge is their own.
    theirs, _, _ = await _influence(api.as_user("sales.north"), "华北决策图公司")
    first = (await north.next())["relationshipChanged"]
    assert (first["kind"], first["id"]) == ("LINKED", theirs)
    for socket in (admin, north):
        await socket.close()


AMOUNT = """mutation($input: OpportunityUpdateInput!) {
  opportunityUpdate(input: $input) { opportunity { id version } } }"""


async def test_a_deal_leaving_the_scope_sends_one_revoked_and_amount_changes_arrive(
        server: str, api: Api) -> None:
    east = await socket_for(server, api, "sales.east")
    finance = await socket_for(server, api, "finance")
    for socket in (east, finance):
        await socket.subscribe("d", DEALS)
    await wait_subscribed(api.stores, "opportunityChanged", 2)

    seller = api.as_user("sales.east")
    account = await make_account(seller, name="华东保密商机公司", region="华东")
    made = await deal(seller, amount="100.00", account=account)
    assert (await east.next())["opportunityChanged"]["kind"] == "CREATED"
    assert (await finance.next())["opportunityChanged"]["kind"] == "CREATED"
    changed = await api.data(AMOUNT, {"input": {"opportunityId": made["id"],
                                                "version": made["version"],
                                                "amount": "150.00"}})
    amount = (await east.next())["opportunityChanged"]
    assert (amount["kind"], amount["topic"], amount["opportunity"]["amount"]) == (
        "UPDATED", "opportunity.updated", "150.00")
    assert (await finance.next())["opportunityChanged"]["opportunity"]["amount"] == "150.00"

    # The account is classified above the salesperson's clearance: the deal's next event is
    # one REVOKED for them (the finance reader, cleared INTERNAL too, loses it alike).
    await api.data(UPDATE_ACCOUNT, {"input": {"id": account, "classification": "SECRET"}})
    moved = await move(api, {**made, **changed["opportunityUpdate"]["opportunity"]},
                       "QUALIFICATION")
    revoked = (await east.next())["opportunityChanged"]
    assert (revoked["kind"], revoked["id"], revoked["opportunity"]) == (
        "REVOKED", made["id"], None)
    assert (await finance.next())["opportunityChanged"]["kind"] == "REVOKED"
    await api.data(AMOUNT, {"input": {"opportunityId": made["id"], "version": moved["version"],
                                      "amount": "175.00"}})
    later = await deal(seller, account=await make_account(seller, name="华东后续公司",
                                                          region="华东"))
    after = (await east.next())["opportunityChanged"]
    assert (after["kind"], after["id"]) == ("CREATED", later["id"])
    for socket in (east, finance):
        await socket.close()


async def test_a_ticket_leaving_the_scope_sends_one_revoked(
        server: str, api: Api, seed: Seed) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"])
    desk = await socket_for(server, api, "service")
    await desk.subscribe("t", "subscription { ticketChanged { kind topic id ticket { state } } }")
    await wait_subscribed(api.stores, "ticketChanged")
    account = await customer(api)
    ticket = await open_ticket(api, account)
    first = [(await desk.next())["ticketChanged"] for _ in range(2)]
    assert [(event["kind"], event["topic"]) for event in first] == [
        ("CREATED", "ticket.created"), ("UPDATED", "ticket.assigned")]

    await api.data(UPDATE_ACCOUNT, {"input": {"id": account, "classification": "SECRET"}})
    await api.data(TRANSITION, {"input": {"ticketId": ticket["id"], "to": "IN_PROGRESS",
                                          "version": ticket["version"]}})
    revoked = (await desk.next())["ticketChanged"]
    assert revoked == {"kind": "REVOKED", "topic": "ticket.transitioned", "id": ticket["id"],
                       "ticket": None}
    other = await open_ticket(api, await customer(api, name="上海后续电子有限公司"))
    after = (await desk.next())["ticketChanged"]
    assert (after["kind"], after["id"]) == ("CREATED", other["id"])
    await desk.close()


async def test_deleting_a_contact_deletes_its_edges_for_who_was_shown_them(
        server: str, api: Api) -> None:
    admin = await socket_for(server, api, "admin")
    north = await socket_for(server, api, "sales.north")
    for socket in (admin, north):
        await socket.subscribe("r", EDGES)
    await wait_subscribed(api.stores, "relationshipChanged", 2)
    edge, deputy, _ = await _influence(api, "删除联系人公司")
    assert (await admin.next())["relationshipChanged"]["kind"] == "LINKED"

    await api.data(DELETE_CONTACT, {"input": {"id": deputy}})
    deleted = (await admin.next())["relationshipChanged"]
    assert deleted == {"kind": "DELETED", "id": edge, "relationship": None, "edge": None}
    # The salesperson was never shown the edge: nothing about it, their first is their own.
    theirs, _, _ = await _influence(api.as_user("sales.north"), "华北删除公司")
    first = (await north.next())["relationshipChanged"]
    assert (first["kind"], first["id"]) == ("LINKED", theirs)
    for socket in (admin, north):
        await socket.close()


async def test_subscribers_sharing_a_rendering_each_get_their_own_operation_id(
        server: str, api: Api) -> None:
    one = await socket_for(server, api, "sales.east")
    two = await socket_for(server, api, "sales.east")
    await one.subscribe("first", ACCOUNTS)
    await one.subscribe("second", ACCOUNTS)
    await two.subscribe("third", ACCOUNTS)
    await wait_subscribed(api.stores, "accountChanged", 3)
    made = await make_account(api.as_user("sales.east"), name="共享渲染公司", region="华东")
    got = [await one.receive(), await one.receive(), await two.receive()]
    assert sorted(message["id"] for message in got) == ["first", "second", "third"]
    assert {message["type"] for message in got} == {"next"}
    assert [message["payload"]["data"]["accountChanged"]["id"] for message in got] == [made] * 3
    for socket in (one, two):
        await socket.close()


async def test_each_member_of_a_group_records_its_own_sensitive_reads(
        server: str, api: Api) -> None:
    query = "subscription { contactChanged { kind contact { name phone } } }"
    sockets = [await socket_for(server, api, "admin") for _ in range(2)]
    for socket in sockets:
        await socket.subscribe("c", query)
    await wait_subscribed(api.stores, "contactChanged", 2)
    reads = ("SELECT count(*) FROM audit_log WHERE operation = 'read.sensitive' "
             "AND actor = 'admin'")
    before = await api.scalar(reads)
    seller = api.as_user("sales.east")  # the writes' own reads are not the admin's
    account = await make_account(seller, name="读审计公司", region="华东")
    await make_contact(seller, account, name="韩梅梅", phone="13912345678")
    for socket in sockets:
        got = (await socket.next())["contactChanged"]
        assert got["contact"] == {"name": "韩梅梅", "phone": "13912345678"}
    async with asyncio.timeout(5):
        while await api.scalar(reads) < before + 2:  # noqa: ASYNC110 - a DB poll
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert await api.scalar(reads) == before + 2  # one per subscriber, none for the group
    for socket in sockets:
        await socket.close()
