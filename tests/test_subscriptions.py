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
from tests.conftest import Api, serving
from tests.factories import UPDATE_ACCOUNT, make_account, make_contact
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
