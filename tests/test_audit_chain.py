"""The audit log's SM3 hash chain: canonical bytes, chaining under concurrent writes, the
migration of existing records, and `crm audit verify` naming each kind of tampering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, RowMapping, create_engine, text

from auth.audit_chain import FIELDS, GENESIS, ChainRow, canonical, link, verify
from auth.crypto import sm3_hex
from relational.embedded import create_database
from relational.migrate import alembic_config, upgrade
from relational.uow import RequestMeta
from services import audit
from settings import Settings
from tests.conftest import Api
from tests.factories import make_account
from tests.test_graph import crm

AT = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def record(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "seq": 1, "at": AT, "actor": "user:7", "operation": "account.update",
        "target_ids": ["a1"], "before": {"name": "甲", "tags": ["x"]},
        "after": {"name": "乙", "tags": ["x"]}, "ip": "10.0.0.1", "request_id": "r1",
        "reason": "客户要求"}
    return {**fields, **changes}


# --- canonical bytes and links -----------------------------------------------------------------

def test_canonical_is_sorted_compact_utf8_json_with_utc_microseconds() -> None:
    assert canonical(record()).decode() == (
        '{"actor":"user:7","after":{"name":"乙","tags":["x"]},"at":"2025-03-01T08:30:15.123456'
        '+00:00","before":{"name":"甲","tags":["x"]},"ip":"10.0.0.1","operation":"account.update"'
        ',"reason":"客户要求","request_id":"r1","seq":1,"target_ids":["a1"]}')


def test_canonical_ignores_key_order_and_the_timezone_an_instant_is_written_in() -> None:
    reordered = dict(reversed(list(record(before={"tags": ["x"], "name": "甲"}).items())))
    beijing = AT.astimezone(timezone(timedelta(hours=8)))
    assert canonical(reordered) == canonical(record()) == canonical(record(at=beijing))
    assert canonical(record()) == canonical(record())


def test_integral_floats_hash_as_the_integers_jsonb_gives_back() -> None:
    assert canonical(record(after={"n": 1e16, "share": 75.0, "pct": 0.5})) == canonical(
        record(after={"n": 10**16, "share": 75, "pct": 0.5}))


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_a_change_in_any_field_changes_the_hash(field: str) -> None:
    other: dict[str, Any] = {
        "seq": 2, "at": AT + timedelta(microseconds=1), "actor": None, "operation": "x",
        "target_ids": ["a2"], "before": None, "after": {"name": "丙", "tags": ["x"]},
        "ip": "10.0.0.2", "request_id": "r2", "reason": None}
    assert link(GENESIS, record(**{field: other[field]})) != link(GENESIS, record())


def test_link_is_sm3_of_the_previous_hash_then_the_canonical_bytes() -> None:
    first = link(GENESIS, record())
    assert first == sm3_hex(GENESIS.encode() + canonical(record()))
    assert link(first, record(seq=2)) == sm3_hex(first.encode() + canonical(record(seq=2)))
    assert link(first, record(seq=2)) != link(GENESIS, record(seq=2))


def test_canonical_refuses_what_it_cannot_serialise_deterministically() -> None:
    with pytest.raises(ValueError, match="missing \\['reason'\\], unexpected \\['id'\\]"):
        canonical({**{k: v for k, v in record().items() if k != "reason"}, "id": 5})
    with pytest.raises(ValueError, match="timezone-aware"):
        canonical(record(at=datetime(2025, 3, 1)))
    with pytest.raises(ValueError, match="64 lowercase hex"):
        link("not a hash", record())


# --- chaining real writes ------------------------------------------------------------------

async def chain_rows(api: Api) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await api.scalar(
        "SELECT coalesce(json_agg(json_build_object('id', id, 'seq', seq, 'prev', prev_hash, "
        "'hash', hash) ORDER BY seq), '[]'::json) FROM audit_log")
    return rows


def assert_one_unforked_chain(rows: list[dict[str, Any]], length: int) -> None:
    assert [row["seq"] for row in rows] == list(range(1, length + 1))
    assert [row["prev"] for row in rows] == [GENESIS] + [row["hash"] for row in rows[:-1]]
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    assert len({row["hash"] for row in rows}) == length


async def test_concurrent_mutations_extend_one_chain(api: Api, settings: Settings) -> None:
    for name in ("甲公司", "乙公司"):
        await make_account(api, name=name)
    await asyncio.gather(*(make_account(api, name=f"并发{n}") for n in range(10)))
    rows = await chain_rows(api)
    assert_one_unforked_chain(rows, 12)
    result = await asyncio.to_thread(crm, settings, "audit", "verify")
    assert (result.returncode, result.stdout) == (0, "audit chain intact: 12 records\n"), result


async def test_units_of_work_committing_at_once_never_fork_the_chain(api: Api) -> None:
    """All transactions are open with their records pending when the first one commits."""
    writers = 6  # within the test pool (4 + 4 overflow)
    started = asyncio.Barrier(writers)

    async def write(n: int) -> None:
        async with api.stores.uow(RequestMeta(actor=f"writer{n}")) as uow:
            await uow.session.execute(text("SELECT 1"))  # the transaction holds a connection
            uow.audit("test.write", [str(n)], after={"n": n})
            uow.audit("test.write.second", [str(n)])
            await started.wait()

    await asyncio.gather(*(write(n) for n in range(writers)))
    rows = await chain_rows(api)
    assert_one_unforked_chain(rows, 2 * writers)
    ops = await api.scalar("SELECT json_agg(operation || ':' || actor ORDER BY seq) FROM audit_log")
    for n in range(writers):  # a unit's records are adjacent: the lock covers its whole append
        first = ops.index(f"test.write:writer{n}")
        assert ops[first + 1] == f"test.write.second:writer{n}"
    assert (await audit.verify(api.stores.read)).problems == []


async def test_a_failed_unit_of_work_leaves_no_link(api: Api) -> None:
    await make_account(api, name="甲公司")
    with pytest.raises(RuntimeError, match="boom"):
        async with api.stores.uow(RequestMeta()) as uow:
            uow.audit("test.write", ["x"])
            raise RuntimeError("boom")
    await make_account(api, name="乙公司")
    assert_one_unforked_chain(await chain_rows(api), 2)


def read_back(engine: Engine) -> list[RowMapping]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT id, seq, prev_hash, hash, at, actor, operation, target_ids, before, after, "
            "ip, request_id, reason FROM audit_log ORDER BY seq")).mappings().all())


def test_the_migration_chains_existing_records_in_id_order(pg_url: str) -> None:
    url = create_database(pg_url, "crm_audit_migration")
    upgrade(url, "0001")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log RESTART IDENTITY"))
            for n, after in enumerate(({"share": 51.0}, None, {"name": "丙", "n": [1, 2]})):
                connection.execute(text(
                    "INSERT INTO audit_log (actor, operation, target_ids, after, at) VALUES "
                    "(:actor, 'legacy', ARRAY[:target], CAST(:after AS jsonb), "
                    "now() + make_interval(secs => :n))"),
                    {"actor": f"u{n}", "target": f"t{n}", "after": json.dumps(after), "n": n})
        upgrade(url, "0002")
        stored = read_back(engine)
        command.downgrade(alembic_config(url), "0001")
        upgrade(url, "0002")  # chaining is deterministic: the same hashes again
        assert read_back(engine) == stored
    finally:
        engine.dispose()
    rows = [ChainRow(id=row["id"], seq=row["seq"], prev_hash=row["prev_hash"], hash=row["hash"],
                     content={key: row[key] for key in FIELDS - {"seq"}}) for row in stored]
    assert [(row.id, row.seq) for row in rows] == [(1, 1), (2, 2), (3, 3)]
    assert [row.prev_hash for row in rows] == [GENESIS, rows[0].hash, rows[1].hash]
    assert verify(rows) == []


# --- `crm audit verify` ----------------------------------------------------------------------

async def execute(api: Api, *statements: str, **params: Any) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        for statement in statements:
            await session.execute(text(statement), params)
        await session.commit()


async def insert_forged_third(api: Api) -> None:
    """A forger who knows the format: makes room at seq 3 and links a record to seq 2."""
    prev = await api.scalar("SELECT hash FROM audit_log WHERE seq = 2")
    forged = record(seq=3, operation="account.delete", before=None, after=None, reason=None)
    await execute(
        api, "UPDATE audit_log SET seq = -seq WHERE seq >= 3",
        "UPDATE audit_log SET seq = 1 - seq WHERE seq < 0",
        "INSERT INTO audit_log (seq, prev_hash, hash, at, actor, operation, target_ids, ip, "
        "request_id) VALUES (3, :prev, :hash, :at, :actor, :operation, :targets, :ip, :rid)",
        prev=prev, hash=link(prev, forged), at=AT, actor=forged["actor"],
        operation=forged["operation"], targets=forged["target_ids"], ip=forged["ip"],
        rid=forged["request_id"])


SWAP_CONTENTS = (
    "UPDATE audit_log a SET (at, actor, operation, target_ids, before, after, ip, request_id, "
    "reason, prev_hash, hash) = (SELECT b.at, b.actor, b.operation, b.target_ids, b.before, "
    "b.after, b.ip, b.request_id, b.reason, b.prev_hash, b.hash FROM audit_log b "
    "WHERE b.seq = 6 - a.seq) WHERE a.seq IN (2, 4)")


@pytest.mark.parametrize(("tamper", "expected"), [
    ([("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")],
     ["seq 3: modified: its contents do not match its hash"]),
    ([("DELETE FROM audit_log WHERE seq = 3")],
     ["seq 3: deleted: seq 3 missing between seq 2 and seq 4"]),
    (insert_forged_third,
     ["seq 3: inserted: no record links to it; seq 4 links past it"]),
    ([("UPDATE audit_log SET seq = 0 WHERE seq = 2"), "UPDATE audit_log SET seq = 2 WHERE seq = 4",
      "UPDATE audit_log SET seq = 4 WHERE seq = 0"],
     ["seq 2: reordered: it was written as seq 4", "seq 4: reordered: it was written as seq 2"]),
    ([SWAP_CONTENTS],
     ["seq 2: reordered: it was written as seq 4", "seq 4: reordered: it was written as seq 2"]),
], ids=["modified", "deleted", "inserted", "swapped-positions", "swapped-contents"])
async def test_crm_audit_verify_names_each_tampering(
    api: Api, settings: Settings, tamper: list[str] | Callable[[Api], Any], expected: list[str]
) -> None:
    for n in range(5):
        await make_account(api, name=f"公司{n}")
    intact = await audit.verify(api.stores.read)
    assert (intact.records, intact.problems) == (5, [])

    if callable(tamper):
        await tamper(api)
    else:
        await execute(api, *tamper)
    records = await api.scalar("SELECT count(*) FROM audit_log")
    result = await asyncio.to_thread(crm, settings, "audit", "verify")
    assert result.returncode == 1, result.stdout + result.stderr
    problems = f"{len(expected)} problem{'s' if len(expected) > 1 else ''}"
    assert result.stdout.splitlines() == [
        *expected, f"audit chain BROKEN: {problems} in {records} records"]
