"""Typed factories and probes for API tests: everything goes through GraphQL over HTTP, and the
ledger is only read (row counts, audit and outbox rows) to prove what a request wrote."""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.uscc import make_uscc
from tests.conftest import Api

ACCOUNT_FIELDS = (
    "id name uscc region industry lifecycleStage tags { name } annualRevenue createdAt updatedAt"
)
CONTACT_FIELDS = "id name title phone email createdAt updatedAt account { id }"

CREATE_ACCOUNT = (
    "mutation($input: AccountCreateInput!) { accountCreate(input: $input) { account { "
    + ACCOUNT_FIELDS + " } } }"
)
UPDATE_ACCOUNT = (
    "mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) { account { "
    + ACCOUNT_FIELDS + " } } }"
)
GET_ACCOUNT = "query($id: ID!) { account(id: $id) { " + ACCOUNT_FIELDS + " } }"

CREATE_CONTACT = (
    "mutation($input: ContactCreateInput!) { contactCreate(input: $input) { contact { "
    + CONTACT_FIELDS + " } } }"
)
UPDATE_CONTACT = (
    "mutation($input: ContactUpdateInput!) { contactUpdate(input: $input) { contact { "
    + CONTACT_FIELDS + " } } }"
)
DELETE_CONTACT = (
    "mutation($input: ContactDeleteInput!) { contactDelete(input: $input) { deletedContactId } }"
)
GET_CONTACT = "query($id: ID!) { contact(id: $id) { " + CONTACT_FIELDS + " } }"

LEDGER_TABLES = ("accounts", "contacts", "account_edges", "audit_log", "outbox")

_seeds = itertools.count(1)
_issued: set[str] = set()


def new_uscc(division: str = "310000") -> str:
    """A valid USCC never handed out before in this test session."""
    while True:
        rng = random.Random(next(_seeds))
        code = make_uscc(rng, division=division)
        if code not in _issued:
            _issued.add(code)
            return code


def global_id(type_name: str, raw: str) -> str:
    return base64.b64encode(f"{type_name}:{raw}".encode()).decode()


def raw_id(gid: str) -> str:
    """The database id inside a global id ("Type:uuid", base64)."""
    return base64.b64decode(gid).decode().split(":", 1)[1]


def account_input(
    *, name: str = "上海恒星精密机械有限公司", region: str = "华东", industry: str = "机械制造",
    uscc: str | None = None, **fields: Any,
) -> dict[str, Any]:
    return {"name": name, "uscc": new_uscc() if uscc is None else uscc, "region": region,
            "industry": industry, **fields}


async def create_account(
    api: Api, *, name: str = "上海恒星精密机械有限公司", region: str = "华东",
    industry: str = "机械制造", uscc: str | None = None, **fields: Any,
) -> dict[str, Any]:
    """Create an account through the API and return every scalar field of it."""
    variables = {"input": account_input(name=name, region=region, industry=industry,
                                        uscc=uscc, **fields)}
    data = await api.data(CREATE_ACCOUNT, variables)
    account: dict[str, Any] = data["accountCreate"]["account"]
    return account


async def make_account(
    api: Api, *, name: str = "上海恒星精密机械有限公司", region: str = "华东",
    industry: str = "机械制造", uscc: str | None = None, **fields: Any,
) -> str:
    """Create an account through the API and return its global id."""
    account = await create_account(api, name=name, region=region, industry=industry,
                                   uscc=uscc, **fields)
    account_id: str = account["id"]
    return account_id


async def create_contact(
    api: Api, account_id: str, *, name: str = "张伟", **fields: Any
) -> dict[str, Any]:
    data = await api.data(CREATE_CONTACT, {"input": {"accountId": account_id, "name": name,
                                                     **fields}})
    contact: dict[str, Any] = data["contactCreate"]["contact"]
    return contact


async def make_contact(api: Api, account_id: str, *, name: str = "张伟", **fields: Any) -> str:
    contact_id: str = (await create_contact(api, account_id, name=name, **fields))["id"]
    return contact_id


async def post_with_request_id(
    api: Api, query: str, variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """The response body and the `x-request-id` response header, as `api`'s user."""
    sent = dict(headers or {})
    if api.user is not None:
        sent.setdefault("Authorization", f"Bearer {await api.token(api.user)}")
    response = await api.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
    body: dict[str, Any] = response.json()
    return body, response.headers["x-request-id"]


# A refusal's own audit record is streamed to auditors (`securityEvents`) through the outbox:
# it is counted with audit_log, not as a change's event.
_COUNTED = {"outbox": "outbox WHERE topic <> 'audit.security'"}


async def ledger_counts(api: Api) -> dict[str, int]:
    """Row count of every ledger table; compare before/after a refused request."""
    return {table: int(await api.scalar(
        f"SELECT count(*) FROM {_COUNTED.get(table, table)}"))  # noqa: S608
        for table in LEDGER_TABLES}


async def audit_rows(api: Api) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await api.scalar(
        "SELECT coalesce(json_agg(a ORDER BY a.id), '[]'::json) FROM audit_log a")
    return rows


async def outbox_rows(api: Api) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await api.scalar(
        "SELECT coalesce(json_agg(o ORDER BY o.id), '[]'::json) FROM outbox o")
    return rows


def assert_error(error: dict[str, Any], code: str, field: str | None) -> None:
    """A typed error: its code, the input field it names (or none), and a request id."""
    extensions = error["extensions"]
    assert extensions["code"] == code, error
    assert extensions.get("field") == field, error
    assert isinstance(extensions["requestId"], str) and extensions["requestId"], error


class Statements:
    """The SQL statements the app sends while recording, whitespace folded; the background
    projector's and the subscription dispatcher's outbox reads and advisory locks are not a
    request's and are left out."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, *args: Any) -> None:
        statement = str(args[2])
        if not any(part in statement for part in ("outbox", "advisory", "pg_current_snapshot")):
            self.seen.append(" ".join(statement.split()))


@contextmanager
def recording() -> Iterator[Statements]:
    """Every statement any engine executes meanwhile (a `before_cursor_execute` listener)."""
    recorder = Statements()
    event.listen(Engine, "before_cursor_execute", recorder)
    try:
        yield recorder
    finally:
        event.remove(Engine, "before_cursor_execute", recorder)
