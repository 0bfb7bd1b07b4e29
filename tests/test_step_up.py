"""Step-up verification: after a login from a new address or a burst of sensitive reads the
session reads no protected field until it passes a TOTP or SMS code."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pyotp
from alembic import command
from sqlalchemy import create_engine, text

from auth.crypto import KeyRing
from relational.embedded import create_database
from relational.migrate import alembic_config, upgrade
from relational.repositories import identity as identity_repo
from relational.repositories import rate_limits
from relational.uow import RequestMeta
from services import key_rotation
from services.identity import step_up, users
from services.identity.users import DEMO_PASSWORD
from tests.conftest import FIELD_KEY_V1, LOGIN, Api
from tests.factories import assert_error, audit_rows, global_id, make_account, make_contact

CONTACT = "query($id: ID!) { contact(id: $id) { name title phone } }"
ME = "{ me { username stepUpRequired totpEnabled } }"
START = """mutation($m: StepUpMethod!) { stepUpStart(input: {method: $m}) {
  method expiresAt sentTo } }"""
VERIFY = """mutation($m: StepUpMethod!, $c: String!) {
  stepUpVerify(input: {method: $m, code: $c}) { stepUpRequired } }"""
ENROL = "mutation { totpEnrol { secret provisioningUri } }"
CONFIRM = "mutation($c: String!) { totpConfirm(input: {code: $c}) { totpEnabled } }"
SET_PHONE = """mutation($id: ID!, $phone: String) {
  userUpdate(input: {id: $id, phone: $phone}) { user { username hasPhone } } }"""
STEP_UP_OPERATIONS = ("auth.stepUpRequired", "auth.stepUpStart", "auth.stepUpVerify",
                      "auth.stepUpFailed", "auth.stepUpBurned", "auth.stepUpTotpEnrol",
                      "auth.stepUpTotpConfirm", "auth.stepUpTotpConfirmFailed")


async def user_id(api: Api, username: str) -> str:
    value: str = await api.scalar("SELECT id::text FROM users WHERE username = :u", u=username)
    return value


async def new_address_session(api: Api, username: str) -> Api:
    """`username` signed in before from another address; this login (from 127.0.0.1) is a
    `security.newAddress` event. The returned client acts in the new session."""
    target = await user_id(api, username)
    async with api.stores.uow(RequestMeta(actor=username, ip="10.9.9.9")) as uow:
        uow.audit("auth.login", [target], after={"username": username})
    body = await api.anonymous.post(LOGIN, {"u": username, "p": DEMO_PASSWORD})
    session = f"{username}@new-address"
    api.tokens[session] = body["data"]["login"]["accessToken"]
    return api.as_user(session)


async def contact_with_phone(api: Api, phone: str = "13812345678") -> str:
    account = await make_account(api)
    return await make_contact(api, account, name="李娜", title="总工程师", phone=phone)


async def set_phone(api: Api, username: str, phone: str) -> None:
    data = await api.data(SET_PHONE, {"id": global_id("User", await user_id(api, username)),
                                      "phone": phone})
    assert data["userUpdate"]["user"] == {"username": username, "hasPhone": True}


def last_sms(api: Api, phone: str) -> str:
    """The code of the newest line the file gateway wrote for `phone`."""
    outbox = api.stores.settings.data_dir / "sms-outbox.log"
    lines = [line.split() for line in outbox.read_text(encoding="utf-8").splitlines()]
    # Step-up codes are `<time> <phone> <code>`; notification texts share the file.
    codes = [parts[2] for parts in lines if len(parts) == 3 and parts[1] == phone]
    return codes[-1]


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def step_up_audit(api: Api) -> list[dict[str, Any]]:
    return [row for row in await audit_rows(api) if row["operation"] in STEP_UP_OPERATIONS]


async def test_first_login_needs_no_step_up(api: Api) -> None:
    contact = await contact_with_phone(api)
    body = await api.anonymous.post(LOGIN, {"u": "admin", "p": DEMO_PASSWORD})
    api.tokens["admin@again"] = body["data"]["login"]["accessToken"]
    again = api.as_user("admin@again")
    assert (await again.data(ME))["me"] == {"username": "admin", "stepUpRequired": False,
                                            "totpEnabled": False}
    assert (await again.data(CONTACT, {"id": contact}))["contact"]["phone"] == "13812345678"
    assert await api.scalar("SELECT count(*) FROM session_step_ups") == 0


async def test_a_new_address_closes_protected_fields_of_that_session(api: Api) -> None:
    contact = await contact_with_phone(api)
    session = await new_address_session(api, "admin")
    body = await session.post(CONTACT, {"id": contact})
    assert body["data"] == {"contact": {"name": "李娜", "title": "总工程师", "phone": None}}
    assert len(body["errors"]) == 1 and body["errors"][0]["path"] == ["contact", "phone"]
    assert_error(body["errors"][0], "STEP_UP_REQUIRED", None)
    assert (await session.data(ME))["me"] == {"username": "admin", "stepUpRequired": True,
                                              "totpEnabled": False}
    # The session from the known address is not affected.
    assert (await api.data(CONTACT, {"id": contact}))["contact"]["phone"] == "13812345678"
    required = [row for row in await step_up_audit(api)
                if row["operation"] == "auth.stepUpRequired"]
    assert [row["after"]["reason"] for row in required] == ["security.newAddress"]
    assert required[0]["target_ids"] == [await user_id(api, "admin")]


async def test_sms_step_up_opens_the_fields_again(api: Api) -> None:
    contact = await contact_with_phone(api)
    await set_phone(api, "admin", "13900000001")
    stored = await api.scalar("SELECT phone_envelope FROM users WHERE username = 'admin'")
    assert stored.startswith("sm4gcm:v1:") and "13900000001" not in stored
    session = await new_address_session(api, "admin")
    started = (await session.data(START, {"m": "SMS"}))["stepUpStart"]
    assert (started["method"], started["sentTo"]) == ("SMS", "139****0001")
    code = last_sms(api, "13900000001")
    assert len(code) == 6 and code.isdigit()
    hashed = await api.scalar("SELECT code_hash FROM step_up_challenges")
    assert len(hashed) == 64 and code not in hashed
    verified = await session.data(VERIFY, {"m": "SMS", "c": code})
    assert verified == {"stepUpVerify": {"stepUpRequired": False}}
    assert (await session.data(CONTACT, {"id": contact}))["contact"]["phone"] == "13812345678"
    assert (await session.data(ME))["me"]["stepUpRequired"] is False
    rows = await step_up_audit(api)
    assert [row["operation"] for row in rows] == [
        "auth.stepUpRequired", "auth.stepUpStart", "auth.stepUpVerify"]
    assert rows[1]["after"]["sentTo"] == "139****0001"
    for row in await audit_rows(api):
        assert code not in json.dumps(row["after"]) and "13900000001" not in json.dumps(row)


async def test_wrong_codes_count_and_burn_the_challenge(api: Api) -> None:
    contact = await contact_with_phone(api)
    await set_phone(api, "admin", "13900000002")
    session = await new_address_session(api, "admin")
    await session.data(START, {"m": "SMS"})
    code = last_sms(api, "13900000002")
    wrong = other_code(code)
    for attempt in range(1, 5):
        error = await session.error(VERIFY, {"m": "SMS", "c": wrong})
        assert_error(error, "BAD_USER_INPUT", "code")
        assert error["message"] == f"the code is wrong; {5 - attempt} attempt(s) left"
        assert await api.scalar("SELECT attempts FROM step_up_challenges") == attempt
    assert_error(await session.error(VERIFY, {"m": "SMS", "c": wrong}), "RATE_LIMITED", "code")
    # Burned: even the right code no longer opens anything.
    assert_error(await session.error(VERIFY, {"m": "SMS", "c": code}), "BAD_USER_INPUT",
                 "method")
    assert await api.scalar("SELECT outcome FROM step_up_challenges") == "burned"
    body = await session.post(CONTACT, {"id": contact})
    assert_error(body["errors"][0], "STEP_UP_REQUIRED", None)
    operations = [row["operation"] for row in await step_up_audit(api)]
    assert operations.count("auth.stepUpFailed") == 4
    assert operations.count("auth.stepUpBurned") == 1
    # A new challenge, a new code.
    await session.data(START, {"m": "SMS"})
    await session.data(VERIFY, {"m": "SMS", "c": last_sms(api, "13900000002")})
    assert (await session.data(CONTACT, {"id": contact}))["contact"]["phone"] == "13812345678"


async def test_a_new_challenge_supersedes_the_open_one(api: Api) -> None:
    await set_phone(api, "admin", "13900000003")
    session = await new_address_session(api, "admin")
    await session.data(START, {"m": "SMS"})
    first = last_sms(api, "13900000003")
    await session.data(START, {"m": "SMS"})
    second = last_sms(api, "13900000003")
    if first != second:
        assert_error(await session.error(VERIFY, {"m": "SMS", "c": first}), "BAD_USER_INPUT",
                     "code")
    outcomes = await api.scalar(
        "SELECT array_agg(outcome ORDER BY created_at) FROM step_up_challenges")
    assert outcomes[0] == "superseded"
    await session.data(VERIFY, {"m": "SMS", "c": second})


async def test_sms_needs_a_phone_and_a_pending_step_up(api: Api) -> None:
    assert_error(await api.error(START, {"m": "SMS"}), "CONFLICT", None)
    session = await new_address_session(api, "admin")
    assert_error(await session.error(START, {"m": "SMS"}), "BAD_USER_INPUT", "method")
    assert_error(await session.error(START, {"m": "TOTP"}), "BAD_USER_INPUT", "method")
    assert_error(await session.error(VERIFY, {"m": "SMS", "c": "123456"}), "BAD_USER_INPUT",
                 "method")
    assert await api.scalar("SELECT count(*) FROM step_up_challenges") == 0


async def test_totp_enrolment_and_step_up(api: Api) -> None:
    contact = await contact_with_phone(api)
    enrolled = (await api.data(ENROL))["totpEnrol"]
    secret = enrolled["secret"]
    assert enrolled["provisioningUri"] == (
        f"otpauth://totp/Graph%20CRM:admin?secret={secret}&issuer=Graph%20CRM")
    stored = await api.scalar("SELECT secret_envelope FROM totp_credentials")
    assert stored.startswith("sm4gcm:v1:") and secret not in stored
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now + offset) for offset in (-30, 0, 30, 60)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in valid)
    assert_error(await api.error(CONFIRM, {"c": wrong}), "BAD_USER_INPUT", "code")
    assert (await api.data(ME))["me"]["totpEnabled"] is False
    assert await api.data(CONFIRM, {"c": totp.now()}) == {"totpConfirm": {"totpEnabled": True}}
    assert (await api.data(ME))["me"]["totpEnabled"] is True
    assert_error(await api.error(ENROL), "CONFLICT", None)

    session = await new_address_session(api, "admin")
    started = (await session.data(START, {"m": "TOTP"}))["stepUpStart"]
    assert (started["method"], started["sentTo"]) == ("TOTP", None)
    # The next time step: the code used to confirm is never accepted twice.
    await session.data(VERIFY, {"m": "TOTP", "c": totp.at(time.time() + 30)})
    assert (await session.data(CONTACT, {"id": contact}))["contact"]["phone"] == "13812345678"
    operations = [row["operation"] for row in await step_up_audit(api)]
    assert operations == ["auth.stepUpTotpEnrol", "auth.stepUpTotpConfirmFailed",
                          "auth.stepUpTotpConfirm", "auth.stepUpRequired", "auth.stepUpStart",
                          "auth.stepUpVerify"]
    for row in await audit_rows(api):
        assert secret not in json.dumps(row)


async def test_no_new_factor_while_step_up_is_pending(api: Api) -> None:
    session = await new_address_session(api, "admin")
    assert_error(await session.error(ENROL), "STEP_UP_REQUIRED", None)
    assert await api.scalar("SELECT count(*) FROM totp_credentials") == 0


async def test_a_read_burst_requires_step_up(api: Api) -> None:
    contact = await contact_with_phone(api)
    limit = api.stores.settings.sensitive_reads_per_minute
    epoch = int(datetime.now(UTC).timestamp())
    async with api.stores.ledger.sessionmaker() as session, session.begin():
        await rate_limits.hit(session, "reads:finance",
                              datetime.fromtimestamp(epoch - epoch % 60, UTC), limit)
    finance = api.as_user("finance")
    # This read still answers (masked for finance); it passes the limit and flags the session.
    assert (await finance.data(CONTACT, {"id": contact}))["contact"]["phone"] == "138****5678"
    body = await finance.post(CONTACT, {"id": contact})
    assert body["data"]["contact"] == {"name": "李娜", "title": "总工程师", "phone": None}
    assert_error(body["errors"][0], "STEP_UP_REQUIRED", None)
    assert (await finance.data(ME))["me"]["stepUpRequired"] is True
    required = [row for row in await step_up_audit(api)
                if row["operation"] == "auth.stepUpRequired"]
    assert [row["after"]["reason"] for row in required] == ["security.sensitiveReadBurst"]
    assert required[0]["target_ids"] == [await user_id(api, "finance")]


async def test_a_refreshed_token_keeps_the_pending_step_up(api: Api) -> None:
    contact = await contact_with_phone(api)
    target = await user_id(api, "admin")
    async with api.stores.uow(RequestMeta(actor="admin", ip="10.9.9.9")) as uow:
        uow.audit("auth.login", [target], after={"username": "admin"})
    login = await api.anonymous.data(
        "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
        "{ refreshToken } }", {"u": "admin", "p": DEMO_PASSWORD})
    refreshed = await api.anonymous.data(
        "mutation($t: String!) { tokenRefresh(input: {refreshToken: $t}) { accessToken } }",
        {"t": login["login"]["refreshToken"]})
    api.tokens["admin@refreshed"] = refreshed["tokenRefresh"]["accessToken"]
    body = await api.as_user("admin@refreshed").post(CONTACT, {"id": contact})
    assert_error(body["errors"][0], "STEP_UP_REQUIRED", None)


async def test_api_tokens_have_no_second_factor(api: Api) -> None:
    issued = await api.data(
        'mutation { apiTokenCreate(input: {name: "erp", permissions: ["account:read"]}) '
        "{ secret } }")
    api.tokens["erp"] = issued["apiTokenCreate"]["secret"]
    erp = api.as_user("erp")
    assert_error(await erp.error(ENROL), "FORBIDDEN", None)
    assert_error(await erp.error(START, {"m": "SMS"}), "FORBIDDEN", None)
    assert (await erp.data(ME))["me"]["totpEnabled"] is False


async def test_key_rotation_moves_phones_and_totp_secrets(api: Api) -> None:
    await set_phone(api, "admin", "13900000004")
    secret = (await api.data(ENROL))["totpEnrol"]["secret"]
    rotating = replace(api.stores, cipher=replace(
        api.stores.cipher, keyring=KeyRing.parse(f"{FIELD_KEY_V1},2:{'c3' * 16}")))
    report = await key_rotation.rotate(rotating.ledger, rotating.cipher)
    assert report.identity == 2
    assert "re-encrypted 2 user phone numbers and TOTP secrets" in report.summary()
    status = await key_rotation.status(rotating.read, rotating.cipher)
    assert (status.envelopes["user phone"], status.envelopes["totp secret"]) == (
        {"v2": 1}, {"v2": 1})
    async with rotating.read() as session:
        user = await identity_repo.user_by_name(session, "admin")
        credential = await identity_repo.totp_credential(session, user.id) if user else None
    assert user is not None and credential is not None
    assert users.phone_of(rotating.cipher, user) == "13900000004"
    assert rotating.cipher.open(user.id, step_up.TOTP_FIELD,
                                credential.secret_envelope) == secret


def test_the_migration_downgrades_and_upgrades(pg_url: str) -> None:
    url = create_database(pg_url, "crm_step_up_migration")
    upgrade(url, "0007")
    command.downgrade(alembic_config(url), "0006")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT to_regclass('session_step_ups')")) is None
        upgrade(url, "0007")
        with engine.connect() as connection:
            tables = connection.scalars(text(
                "SELECT tablename FROM pg_tables WHERE tablename IN "
                "('session_step_ups', 'step_up_challenges', 'totp_credentials') "
                "ORDER BY tablename")).all()
        assert tables == ["session_step_ups", "step_up_challenges", "totp_credentials"]
    finally:
        engine.dispose()
