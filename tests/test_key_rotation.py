"""Key versions: `crm keys rotate` (the real command) moves every envelope to the newest key
while the app keeps serving, skips rows a transaction holds, and encrypts plaintext left from
before migration 0003 — which `crm serve` also does before it serves."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import text

from app import create_app
from auth.crypto import KeyRing
from relational.database import make_engine, make_sessionmaker
from relational.embedded import create_database
from relational.migrate import upgrade
from relational.repositories import identity as identity_repo
from services import contacts, key_rotation
from services.identity.users import DEMO_PASSWORD, builtin_actor
from services.stores import Stores
from settings import Settings
from tests.conftest import BLIND_INDEX_KEY, FIELD_KEY_V1, LOGIN, Api, free_port, serving
from tests.factories import global_id, make_account, raw_id
from tests.test_encryption_at_rest import GET, PHONE, SEARCH, create, execute, names

ROOT = Path(__file__).resolve().parent.parent
RING_V1_V2 = f"{FIELD_KEY_V1},2:{'c3' * 16}"
LEGACY_PHONE, LEGACY_EMAIL = "+86 135 1234 5678", "legacy@example.cn"


async def crm(settings: Settings, *args: str, **env: str) -> tuple[int, str]:
    """The real command line against the test stores; exit code and output."""
    assert settings.database_url and settings.graph_url
    environment = {**os.environ, "DATABASE_URL": settings.database_url,
                   "GRAPH_URL": settings.graph_url, "SEED_DEMO": "false",
                   "BLIND_INDEX_KEY": BLIND_INDEX_KEY, **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", *args, cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return await process.wait(), output.decode()


@contextlib.asynccontextmanager
async def app_with(settings: Settings, field_keys: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second app instance on the same stores, with another key ring."""
    app = create_app(settings.model_copy(update={"field_keys": SecretStr(field_keys)}))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def post(client: httpx.AsyncClient, bearer: str, query: str,
               **variables: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await client.post(
        "/graphql", json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {bearer}"})).json()
    return body


async def login_admin(client: httpx.AsyncClient) -> str:
    """An access token of the demo admin (the `api` fixture seeded the users) from this
    instance, which may not share the test app's token secret."""
    body = (await client.post("/graphql", json={"query": LOGIN, "variables": {
        "u": "admin", "p": DEMO_PASSWORD}})).json()
    token: str = body["data"]["login"]["accessToken"]
    return token


async def insert_legacy(api: Api, account_id: str) -> str:
    """A contact as written before migration 0003: plaintext, no envelopes."""
    contact_id = str(uuid.uuid4())
    await execute(api, "INSERT INTO contacts (id, account_id, name, phone, email) VALUES "
                  "(CAST(:id AS uuid), CAST(:account AS uuid), '老客户', :phone, :email)",
                  id=contact_id, account=raw_id(account_id), phone=LEGACY_PHONE,
                  email=LEGACY_EMAIL)
    return contact_id


async def envelope_prefixes(api: Api) -> list[str]:
    rows: list[str] = await api.scalar(
        "SELECT coalesce(array_agg(DISTINCT left(e, 10)), '{}') FROM contacts, "
        "unnest(ARRAY[phone_enc, email_enc, id_number_enc]) AS e WHERE e IS NOT NULL")
    return sorted(rows)


async def plaintext_rows(api: Api) -> int:
    count: int = await api.scalar(
        "SELECT count(*) FROM contacts WHERE phone IS NOT NULL OR email IS NOT NULL")
    return count


async def test_rotate_moves_every_row_to_the_new_key(api: Api, settings: Settings) -> None:
    account_id = await make_account(api)
    made = [await create(api, account_id, f"联系人{n}", phone=f"1380013800{n}",
                         email=f"p{n}@example.cn") for n in range(5)]
    legacy_id = await insert_legacy(api, account_id)
    assert await envelope_prefixes(api) == ["sm4gcm:v1:"]

    code, output = await crm(settings, "keys", "rotate", "--batch", "2", FIELD_KEYS=RING_V1_V2)
    assert code == 0, output
    printed(output, "key ring: versions 1, 2; current 2",
            "encrypted legacy plaintext in 1 contacts; re-encrypted 5 contacts to key version 2 "
            "(3 batches)", "every contact field is on key version 2")
    assert await envelope_prefixes(api) == ["sm4gcm:v2:"]
    assert await plaintext_rows(api) == 0
    code, output = await crm(settings, "keys", "rotate", FIELD_KEYS=RING_V1_V2)
    assert code == 0, output
    printed(output, "encrypted legacy plaintext in 0 contacts; re-encrypted 0 contacts to key "
            "version 2 (0 batches)")
    code, output = await crm(settings, "keys", "status", FIELD_KEYS=RING_V1_V2)
    assert code == 0, output
    printed(output, "key ring: versions 1, 2; current 2", "phone: plaintext 0, v2 6",
            "email: plaintext 0, v2 6", "id_number: none")

    # An instance given key 2 reads everything, and the blind index still finds the rows.
    async with app_with(settings, RING_V1_V2) as client:
        admin = await api.token("admin")  # same token secret and sessions as the test app
        for contact in made:
            assert (await post(client, admin, GET, id=contact["id"]))["data"][
                "contact"] == contact
        legacy = (await post(client, admin, GET, id=global_id("Contact", legacy_id)))["data"][
            "contact"]
        assert (legacy["phone"], legacy["email"]) == (LEGACY_PHONE, LEGACY_EMAIL)
        found = await post(client, admin, SEARCH, filter={"phone": "13512345678"})
        assert names(found["data"]["contacts"]) == ["老客户"]
    # An instance without key 2 cannot: so every instance gets the key before rotation.
    body = await api.post(GET, {"id": made[0]["id"]})
    assert body["data"]["contact"]["phone"] is None
    assert {error["extensions"]["code"] for error in body["errors"]} == {"INTERNAL"}


def printed(output: str, *lines: str) -> None:
    """Each line was printed (log lines on stderr may be interleaved)."""
    got = output.splitlines()
    for line in lines:
        assert line in got, (line, output)


async def test_rotation_skips_locked_rows_instead_of_waiting(api: Api) -> None:
    account_id = await make_account(api)
    made = [await create(api, account_id, f"人{n}", phone=PHONE) for n in range(3)]
    rotating = rotating_stores(api)
    async with api.stores.ledger.sessionmaker() as holder:
        # A request in the middle of changing the second contact.
        await holder.execute(text("SELECT 1 FROM contacts WHERE id = CAST(:id AS uuid) "
                                  "FOR UPDATE"), {"id": raw_id(made[1]["id"])})
        report = await asyncio.wait_for(key_rotation.rotate(rotating.ledger, rotating.cipher,
                                                            batch=10), timeout=60)
        assert (report.reencrypted, report.pending, report.complete) == (2, 1, False)
        await holder.rollback()
    report = await key_rotation.rotate(rotating.ledger, rotating.cipher, batch=10)
    assert (report.reencrypted, report.pending, report.complete) == (1, 0, True)
    assert await envelope_prefixes(api) == ["sm4gcm:v2:"]
    audits = await api.scalar("SELECT json_agg(a.after ORDER BY a.id) FROM audit_log a "
                              "WHERE operation = 'contact.rekey'")
    assert audits == [{"keyVersion": 2, "encrypted": 0, "reencrypted": 2},
                      {"keyVersion": 2, "encrypted": 0, "reencrypted": 1}]


async def test_a_row_that_does_not_decrypt_is_reported_and_left_alone(api: Api) -> None:
    account_id = await make_account(api)
    good, bad = [await create(api, account_id, name, phone=PHONE) for name in ("好", "坏")]
    await execute(api, "UPDATE contacts SET phone_enc = (SELECT phone_enc FROM contacts WHERE "
                  "id = CAST(:a AS uuid)) WHERE id = CAST(:b AS uuid)",
                  a=raw_id(good["id"]), b=raw_id(bad["id"]))
    before = await api.scalar("SELECT phone_enc FROM contacts WHERE id = CAST(:b AS uuid)",
                              b=raw_id(bad["id"]))
    rotating = rotating_stores(api)
    report = await key_rotation.rotate(rotating.ledger, rotating.cipher)
    assert (report.reencrypted, report.failed, report.pending) == (
        1, {uuid.UUID(raw_id(bad["id"]))}, 1)
    assert await api.scalar("SELECT phone_enc FROM contacts WHERE id = CAST(:b AS uuid)",
                            b=raw_id(bad["id"])) == before
    assert f"1 contacts hold envelopes that do not decrypt (see the log): {raw_id(bad['id'])}" \
        in report.summary()


async def test_serve_encrypts_leftover_plaintext_before_serving(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    account_id = await make_account(api)
    legacy_id = await insert_legacy(api, account_id)
    port, log_file = free_port(), tmp_path / "serve.log"
    assert settings.database_url and settings.graph_url
    env = {**os.environ, "DATABASE_URL": settings.database_url, "SEED_DEMO": "false",
           "GRAPH_URL": settings.graph_url, "PORT": str(port), "DATA_DIR": str(tmp_path)}
    with log_file.open("w") as log:  # a file, not a pipe nobody reads while it serves
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "serve", cwd=ROOT, stdout=log, stderr=log, env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await until_healthy(client, server, log_file)
            assert await plaintext_rows(api) == 0
            admin = await login_admin(client)
            contact = (await post(client, admin, GET, id=global_id("Contact", legacy_id)))[
                "data"]["contact"]
            assert (contact["phone"], contact["email"]) == (LEGACY_PHONE, LEGACY_EMAIL)
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.wait(), timeout=60)
    printed(read(log_file), "encrypted legacy plaintext in 1 contacts")
    assert not (tmp_path / "keys.env").exists()  # keys came from the environment


async def until_healthy(client: httpx.AsyncClient, server: asyncio.subprocess.Process,
                        log_file: Path) -> None:
    for _ in range(1200):
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).status_code == 200:
                return
        assert server.returncode is None, read(log_file)
        await asyncio.sleep(0.1)
    raise AssertionError(f"crm serve did not come up:\n{read(log_file)}")


def read(path: Path) -> str:
    return path.read_text()


async def test_migration_keeps_plaintext_rows_until_encrypted(api: Api) -> None:
    assert api.stores.settings.database_url
    url = create_database(api.stores.settings.database_url, f"crm_m{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(upgrade, url, "0001")
    engine = make_engine(url, pool_size=1)
    try:
        stores = replace(api.stores, ledger=replace(api.stores.ledger,
                                                    sessionmaker=make_sessionmaker(engine)))
        async with stores.ledger.sessionmaker() as session:
            await session.execute(text(
                "INSERT INTO accounts (id, name, uscc, region, industry, lifecycle_stage) VALUES "
                "('00000000-0000-0000-0000-000000000001', '甲', '91310000MA1K000001', '华东', "
                "'x', 'POTENTIAL')"))
            await session.execute(text(
                "INSERT INTO contacts (id, account_id, name, phone, email) VALUES "
                "('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000001',"
                " '老客户', :phone, :email)"), {"phone": LEGACY_PHONE, "email": LEGACY_EMAIL})
            await session.commit()
        await asyncio.to_thread(upgrade, url)
        report = await key_rotation.rotate(stores.ledger, stores.cipher, plaintext_only=True)
        assert (report.encrypted, report.complete) == (1, True)
        contact_id = uuid.UUID("00000000-0000-0000-0000-000000000002")
        async with api.stores.read() as session:  # the demo admin of the test database
            admin = await identity_repo.user_by_name(session, "admin")
        assert admin is not None
        record = (await contacts.load_many(stores.read, stores.cipher, builtin_actor(admin),
                                             [contact_id]))[
            contact_id]
        assert (record.phone, record.email, record.id_number) == (
            LEGACY_PHONE, LEGACY_EMAIL, None)
        async with stores.read() as session:
            left = await session.scalar(text("SELECT count(*) FROM contacts WHERE phone IS NOT "
                                             "NULL OR email IS NOT NULL OR phone_enc IS NULL"))
        assert left == 0
    finally:
        await engine.dispose()


def rotating_stores(api: Api) -> Stores:
    """The app's stores with key version 2 added (the current one)."""
    return replace(api.stores, cipher=replace(api.stores.cipher,
                                              keyring=KeyRing.parse(RING_V1_V2)))
