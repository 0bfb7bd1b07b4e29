"""Idempotency keys of creates, and writes whose commit was cut short (OUTCOME_UNKNOWN)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from psycopg import OperationalError as PsycopgOperationalError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from relational.uow import UnitOfWork
from tests.conftest import Api
from tests.factories import account_input, make_account, raw_id

CREATE = """mutation($input: AccountCreateInput!) {
  accountCreate(input: $input) { account { id name uscc } } }"""
CONTACT = """mutation($input: ContactCreateInput!) {
  contactCreate(input: $input) { contact { id name phone } } }"""
LINK = """mutation($input: AccountLinkParentInput!) {
  accountLinkParent(input: $input) { sharePct } }"""


async def accounts(api: Api) -> int:
    return int(await api.scalar("SELECT count(*) FROM accounts"))


async def test_the_same_create_twice_with_one_key_writes_once(api: Api) -> None:
    given = account_input(name="幂等机械有限公司", idempotencyKey="k-1")
    first = await api.data(CREATE, {"input": given})
    again = await api.data(CREATE, {"input": given})
    assert again == first
    assert await accounts(api) == 1
    assert await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation = 'account.create'") == 1
    assert await api.scalar("SELECT count(*) FROM outbox WHERE topic = 'account.created'") == 1
    stored = await api.scalar("SELECT json_build_object('operation', operation, 'result', result)"
                              " FROM idempotency_keys WHERE key = 'k-1'")
    assert stored["operation"] == "account.create"
    assert stored["result"] == {"id": raw_id(first["accountCreate"]["account"]["id"])}


async def test_the_same_key_with_another_input_is_refused(api: Api) -> None:
    await api.data(CREATE, {"input": account_input(name="甲公司", idempotencyKey="k-2")})
    error = await api.error(CREATE, {"input": account_input(name="乙公司", idempotencyKey="k-2")})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "idempotencyKey"
    assert error["message"] == "this `idempotencyKey` was already used for a different request"
    assert await accounts(api) == 1


async def test_keys_of_other_users_are_independent(api: Api) -> None:
    mine = await api.data(CREATE, {"input": account_input(idempotencyKey="shared")})
    theirs = await api.as_user("sales.east").data(
        CREATE, {"input": account_input(idempotencyKey="shared")})
    assert mine["accountCreate"]["account"]["id"] != theirs["accountCreate"]["account"]["id"]
    assert await accounts(api) == 2


async def test_without_a_key_two_creates_make_two_rows(api: Api) -> None:
    first = await api.data(CREATE, {"input": account_input(name="同名")})
    second = await api.data(CREATE, {"input": account_input(name="同名")})
    assert first != second
    assert await accounts(api) == 2
    assert await api.scalar("SELECT count(*) FROM idempotency_keys") == 0


async def test_the_idempotency_key_header_works_like_the_field(api: Api) -> None:
    given = {"input": account_input(name="头部有限公司")}
    first = await api.post(CREATE, given, **{"Idempotency-Key": "h-1"})
    again = await api.post(CREATE, given, **{"Idempotency-Key": "h-1"})
    assert "errors" not in first and again == first
    assert await accounts(api) == 1


async def test_expired_keys_are_forgotten(api: Api) -> None:
    given = account_input(name="过期有限公司", idempotencyKey="old")
    first = await api.data(CREATE, {"input": given})
    await set_key_age(api, "old", hours=25)
    again = await api.data(CREATE, {"input": {**given, "uscc": account_input()["uscc"]}})
    assert again != first
    assert await accounts(api) == 2


async def set_key_age(api: Api, key: str, *, hours: int) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text("UPDATE idempotency_keys SET created_at = now() - "
                                   "make_interval(hours => :h) WHERE key = :k"),
                              {"h": hours, "k": key})
        await session.commit()


async def test_contact_and_link_creates_replay_under_their_key(api: Api) -> None:
    parent, child = await make_account(api, name="母公司"), await make_account(api, name="子公司")
    contact = {"input": {"accountId": child, "name": "王芳", "phone": "13812345678",
                         "idempotencyKey": "c-1"}}
    assert await api.data(CONTACT, contact) == await api.data(CONTACT, contact)
    assert await api.scalar("SELECT count(*) FROM contacts") == 1
    link = {"input": {"childId": child, "parentId": parent, "sharePct": "60",
                      "idempotencyKey": "l-1"}}
    assert await api.data(LINK, link) == await api.data(LINK, link)
    assert await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation = 'account.linkParent'") == 1


def cut_after_commit(monkeypatch: pytest.MonkeyPatch, topic: str) -> list[int]:
    """The next commit carrying a `topic` event really commits, then fails as a dropped
    connection would: the client cannot know whether it was written."""
    original = UnitOfWork._send_commit
    fired: list[int] = []

    async def flaky(self: UnitOfWork) -> None:
        await original(self)
        if not fired and any(event.topic == topic for event in self.events):
            fired.append(1)
            raise OperationalError("COMMIT", None, PsycopgOperationalError(
                "server closed the connection unexpectedly"))

    monkeypatch.setattr(UnitOfWork, "_send_commit", flaky)
    return fired


async def test_a_commit_cut_short_is_outcome_unknown_and_the_retry_answers_the_write(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = cut_after_commit(monkeypatch, "account.created")
    given: dict[str, Any] = account_input(name="未知结果有限公司", idempotencyKey="u-1")
    error = await api.error(CREATE, {"input": given})
    assert fired == [1]
    assert error["extensions"] == {"code": "OUTCOME_UNKNOWN", "retryAfter": 2,
                                   "idempotencyKey": "u-1",
                                   "requestId": error["extensions"]["requestId"]}
    assert "may have been committed" in error["message"]
    assert await accounts(api) == 1  # it was written
    retried = await api.data(CREATE, {"input": given})
    account = retried["accountCreate"]["account"]
    assert account["name"] == "未知结果有限公司"
    assert raw_id(account["id"]) == await api.scalar("SELECT id::text FROM accounts")
    assert await accounts(api) == 1


async def test_without_a_key_outcome_unknown_says_read_before_retrying(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cut_after_commit(monkeypatch, "account.created")
    error = await api.error(CREATE, {"input": account_input(name="无键有限公司")})
    assert error["extensions"]["code"] == "OUTCOME_UNKNOWN"
    assert "idempotencyKey" not in error["extensions"]
    assert error["message"] == ("the ledger failed while committing: the write may have been "
                                "committed; read before retrying")


async def test_concurrent_retries_with_one_key_write_once(api: Api) -> None:
    given = {"input": account_input(name="并发有限公司", idempotencyKey="c-all")}
    answers = await asyncio.gather(*[api.data(CREATE, given) for _ in range(8)])
    assert all(answer == answers[0] for answer in answers)
    assert await accounts(api) == 1
