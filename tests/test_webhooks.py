"""Webhooks against a local receiver that fails on purpose: signature, retries with backoff
(driven by the clock, no sleeping), Retry-After, no retry on 4xx, dead letter after 72 hours,
replay by id and by time range, payloads within the API token's permissions."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth import crypto
from jobs.webhooks import send
from resolvers.ids import from_global_id
from services import accounts, webhooks
from services.accounts import AccountDraft
from services.clock import ShiftedClock
from services.identity import sessions
from services.stores import RequestMeta
from tests.conftest import Api, serving
from tests.factories import make_account
from tests.jobs_helpers import RunJobs
from tests.pipeline_helpers import deal, move

SECRET = "receiver-secret-0123456789"
CREATE = """mutation($input: WebhookEndpointCreateInput!) {
  webhookEndpointCreate(input: $input) { endpoint { id url eventTypes algorithm } } }"""
DELIVERIES = """query($id: ID!) { webhookDeliveries(endpointId: $id) {
  id eventId eventType status lastStatusCode attempts { statusCode retryInSeconds } } }"""
REPLAY = """mutation($input: WebhookReplayInput!) { webhookReplay(input: $input) { replayed } }"""
TOKEN = """mutation($p: [String!]!) { apiTokenCreate(input: {name: "erp", permissions: $p}) {
  apiToken { id } } }"""


@dataclass
class Receiver:
    """Answers with the scripted statuses in turn (then 200) and keeps what it got."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    got: list[tuple[dict[str, str], str]] = field(default_factory=list)
    url: str = ""

    async def hook(self, request: Request) -> Response:
        self.got.append((dict(request.headers), (await request.body()).decode()))
        status, headers = self.script.pop(0) if self.script else (200, {})
        return Response(status_code=status, headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    async with serving(Starlette(routes=[Route("/hook", found.hook, methods=["POST"])])) as url:
        found.url = f"{url}/hook"
        yield found


async def endpoint(api: Api, receiver: Receiver, permissions: list[str],
                   event_types: list[str], algorithm: str = "HMAC_SHA256") -> str:
    token = (await api.data(TOKEN, {"p": permissions}))["apiTokenCreate"]["apiToken"]["id"]
    made = await api.data(CREATE, {"input": {
        "url": receiver.url, "eventTypes": event_types, "secret": SECRET,
        "apiTokenId": token, "algorithm": algorithm}})
    endpoint_id: str = made["webhookEndpointCreate"]["endpoint"]["id"]
    return endpoint_id


async def deliveries(api: Api, endpoint_id: str, count: int) -> list[dict[str, Any]]:
    """The endpoint's deliveries once the dispatcher has made `count` of them."""
    async with asyncio.timeout(10):
        while True:
            found: list[dict[str, Any]] = (await api.data(
                DELIVERIES, {"id": endpoint_id}))["webhookDeliveries"]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)


def signed(headers: dict[str, str], body: str, algorithm: str = "sha256") -> bool:
    message = f"{headers['webhook-timestamp']}.{body}".encode()
    if algorithm == "sm3":
        digest = crypto.hmac_sm3(SECRET.encode(), message).hex()
    else:
        digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["webhook-signature"], f"v1={digest}")


async def test_signed_delivery_with_backoff_retry_after_and_replay(
        api: Api, receiver: Receiver, run_jobs: RunJobs, clock: ShiftedClock) -> None:
    hook = await endpoint(api, receiver, ["account:read"], ["account.created"])
    receiver.script = [(503, {}), (429, {"retry-after": "3600"})]
    made = await make_account(api, name="回调公司", annualRevenue="88.00")
    [pending] = await deliveries(api, hook, 1)
    assert pending["status"] == "PENDING"

    await run_jobs()
    [(headers, body)] = receiver.got
    assert signed(headers, body)
    event = json.loads(body)
    assert event["type"] == "account.created" and event["data"]["name"] == "回调公司"
    assert headers["webhook-id"] == event["id"] == pending["eventId"]
    [first] = (await deliveries(api, hook, 1))[0]["attempts"]
    assert first["statusCode"] == 503 and 30 <= first["retryInSeconds"] <= 37.5

    await run_jobs(now=clock.advance(timedelta(seconds=40)))  # the 429 asks for an hour
    [_, second] = (await deliveries(api, hook, 1))[0]["attempts"]
    assert second == {"statusCode": 429, "retryInSeconds": 3600.0}
    await run_jobs(now=clock.advance(timedelta(minutes=30)))
    assert len(receiver.got) == 2  # not before Retry-After
    await run_jobs(now=clock.advance(timedelta(minutes=31)))
    [done] = await deliveries(api, hook, 1)
    assert (done["status"], done["lastStatusCode"], len(receiver.got)) == ("DELIVERED", 200, 3)
    assert len({headers["webhook-id"] for headers, _ in receiver.got}) == 1  # stable id

    replayed = await api.data(REPLAY, {"input": {"endpointId": hook, "deliveryId": done["id"]}})
    assert replayed["webhookReplay"]["replayed"] == 1
    await run_jobs()
    assert receiver.got[-1][1] == body and len(receiver.got) == 4
    assert made


async def test_no_retry_on_4xx_and_dead_letter_after_72_hours(
        api: Api, receiver: Receiver, run_jobs: RunJobs, clock: ShiftedClock) -> None:
    hook = await endpoint(api, receiver, ["account:read"], ["account.created"],
                          algorithm="HMAC_SM3")
    none: dict[str, str] = {}
    receiver.script = [(400, none)] + [(500, none)] * 40
    await make_account(api, name="拒收公司")
    await make_account(api, name="宕机公司")
    await deliveries(api, hook, 2)
    await run_jobs()
    assert all(signed(headers, body, "sm3") for headers, body in receiver.got)
    for _ in range(30):
        await run_jobs(now=clock.advance(timedelta(hours=6, minutes=30)))
    refused, down = await deliveries(api, hook, 2)
    assert (refused["status"], len(refused["attempts"])) == ("DEAD", 1)
    assert down["status"] == "DEAD" and down["lastStatusCode"] == 500
    waits = [one["retryInSeconds"] for one in down["attempts"][:-1]]
    assert waits == sorted(waits) and waits[-1] <= 6 * 3600 * 1.25  # doubling, then capped
    assert down["attempts"][-1]["retryInSeconds"] is None

    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()  # the events' commit time
    replayed = await api.data(REPLAY, {"input": {"endpointId": hook, "since": since}})
    assert replayed["webhookReplay"]["replayed"] == 2
    receiver.script = []
    await run_jobs()
    assert [one["status"] for one in await deliveries(api, hook, 2)] == ["DELIVERED"] * 2


async def test_payloads_obey_the_tokens_permissions(api: Api, receiver: Receiver) -> None:
    blind = await endpoint(api, receiver, ["contact:read"], ["account.created"])
    seeing = await endpoint(api, receiver, ["account:read"], ["account.created"])
    await make_account(api, name="权限公司", annualRevenue="5.00")
    [delivered] = await deliveries(api, seeing, 1)  # decided in the same pass as `blind`
    assert delivered["eventType"] == "account.created"
    assert await api.data(DELIVERIES, {"id": blind}) == {"webhookDeliveries": []}


async def test_deal_events_carry_the_amount_only_for_a_token_that_may_read_it(
        api: Api, receiver: Receiver, run_jobs: RunJobs) -> None:
    masked = await endpoint(api, receiver, ["opportunity:read"], ["opportunity.stage_changed"])
    await endpoint(api, receiver, ["opportunity:read", "amount:read"],
                   ["opportunity.stage_changed"])
    made = await deal(api, amount="70000.00")
    await move(api, made, "QUALIFICATION")
    await deliveries(api, masked, 1)
    await run_jobs()
    bodies = sorted((json.loads(body) for _, body in receiver.got),
                    key=lambda event: event["data"]["amount"] or "")
    assert [(event["type"], event["data"]["stage"], event["data"]["amount"])
            for event in bodies] == [("opportunity.stage_changed", "QUALIFICATION", None),
                                     ("opportunity.stage_changed", "QUALIFICATION", "70000.00")]


async def test_only_admins_register_endpoints(api: Api, receiver: Receiver) -> None:
    error = await api.as_user("manager.east").error(CREATE, {"input": {
        "url": receiver.url, "eventTypes": ["account.created"], "secret": SECRET,
        "apiTokenId": "QXBpVG9rZW46MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"}})
    assert error["extensions"]["code"] == "FORBIDDEN"
    bad = await api.error(CREATE, {"input": {
        "url": "ftp://x", "eventTypes": ["account.created"], "secret": SECRET,
        "apiTokenId": "QXBpVG9rZW46MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"}})
    assert (bad["extensions"]["code"], bad["extensions"]["field"]) == ("BAD_USER_INPUT", "url")


async def test_a_failing_endpoint_leaves_the_rest_of_a_batch_to_their_own_jobs(
        api: Api, receiver: Receiver, run_jobs: RunJobs, clock: ShiftedClock) -> None:
    hook = await endpoint(api, receiver, ["account:read"], ["account.created"])
    receiver.script = [(503, {})]
    for n in range(3):
        await make_account(api, name=f"批量{n}公司")
    found = await deliveries(api, hook, 3)
    ids = [from_global_id(one["id"], "WebhookDelivery", "id") for one in found]
    sent = await webhooks.attempt_batch(
        lambda: api.stores.uow(RequestMeta(actor="system:test")), api.stores.cipher, ids,
        clock.now, send, random.Random(1))
    assert (sent, len(receiver.got)) == (1, 1)  # the endpoint failed: the batch stopped

    await run_jobs()  # the rest, each in its own job (a batch job finds them attempted)
    assert len(receiver.got) == 3
    assert sorted(json.loads(body)["id"] for _, body in receiver.got) == sorted(
        one["eventId"] for one in found)
    after = await deliveries(api, hook, 3)
    assert [(one["status"], len(one["attempts"])) for one in after] == [
        ("PENDING", 1), ("DELIVERED", 1), ("DELIVERED", 1)]


async def test_events_committed_out_of_id_order_all_reach_the_webhooks(
        api: Api, receiver: Receiver) -> None:
    hook = await endpoint(api, receiver, ["account:read"], ["account.created"])
    stores = api.stores
    actor = await sessions.authenticate(stores.ledger, stores.settings,
                                        await api.token("admin"))
    async with stores.uow(RequestMeta(actor="admin")) as first:
        await accounts.create(first, actor, AccountDraft(
            name="先取号后提交公司", uscc="9131000058073021XL", region="华东",
            industry="机械制造"))
        await first.session.flush()  # its event id is taken: the next commit passes it
        await make_account(api, name="后取号先提交公司")
        await asyncio.sleep(0.3)  # the dispatcher meets the missing id and waits for it
    await deliveries(api, hook, 2)
    # Past the gap, the fan-out goes on with the next events.
    await make_account(api, name="其后公司")
    assert len(await deliveries(api, hook, 3)) == 3
