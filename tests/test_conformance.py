"""Conformance with the published protocols, checked by their reference implementations: the
`graphql-http` server audits (every MUST and SHOULD) against the served app, and a
subscription through the `graphql-ws` client (Node packages pinned in tests/conformance,
installed by `make install` with `npm ci`)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from app import create_app
from settings import Settings
from tests.conftest import Api, serving
from tests.factories import make_account
from tests.ws_client import wait_subscribed

HERE = Path(__file__).resolve().parent / "conformance"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (HERE / "node_modules").exists(),
    reason="Node and tests/conformance/node_modules (make install) are needed")


async def _node(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        "node", *args, cwd=HERE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)


async def test_graphql_http_audits_all_pass(settings: Settings) -> None:
    # The audits ask for `__type` (introspection): what is audited is the transport.
    async with serving(create_app(settings.model_copy(update={"introspection": True}))) as url:
        process = await _node("audit.mjs", f"{url}/graphql")
        out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    results = [json.loads(line) for line in out.decode().splitlines()]
    failed = [result for result in results if result["status"] != "ok"]
    assert len(results) >= 60
    assert failed == [], "\n".join(json.dumps(one) for one in failed)


async def test_graphql_ws_client_receives_a_change(server: str, api: Api) -> None:
    url = server.replace("http://", "ws://") + "/graphql"
    query = "subscription { accountChanged { kind account { name } } }"
    process = await _node("subscribe.mjs", url, await api.token("admin"), query)
    assert process.stdout is not None
    ready = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
    assert ready == {"subscribed": True}
    await wait_subscribed(api.stores, "accountChanged")
    await make_account(api, name="节点客户端公司")
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    assert json.loads(out.decode().splitlines()[0]) == {
        "data": {"accountChanged": {"kind": "CREATED", "account": {"name": "节点客户端公司"}}}}
