"""Customer-care reminders made by the durable job `care:remind`: follow-ups after each
owner's own period without interaction, contract anniversaries and renewals, contacts'
important dates (personal data: masked for those who may not read them). Time is driven by
the test clock; running the job twice adds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from composition import Runtime
from jobs import care as care_jobs
from jobs import scheduler
from relational.uow import RequestMeta
from services.calendar import CHINA
from services.care import on_year
from services.clock import ShiftedClock
from tests.conftest import Api
from tests.factories import ledger_counts, make_account, make_contact
from tests.jobs_helpers import defer_periodic, run_jobs_until_idle
from tests.pipeline_helpers import SIGN, approved_quote, deal

INBOX = """{ myInbox(first: 50) { edges { node { __typename kind title dueAt refType
  refId } } } }"""
SETTINGS = """mutation($days: Int!) { careSettingsUpdate(input: {followUpDays: $days}) {
  settings { followUpDays } } }"""
CONTRACT = """mutation($input: ContractCreateFromQuoteInput!) {
  contractCreateFromQuote(input: $input) { contract { id endsOn } } }"""
SET_DATE = """mutation($input: ContactImportantDateSetInput!) {
  contactImportantDateSet(input: $input) { importantDate { kind label date } } }"""
DATES = """query($id: ID!) { node(id: $id) { ... on Contact { importantDates {
  kind label date } } } }"""


@pytest.fixture
async def at_nine(api: Api, clock: ShiftedClock) -> AsyncIterator[ShiftedClock]:
    """The test clock at 09:00 China time today."""
    today = datetime.now(CHINA).date()
    clock.offset = datetime.combine(today, time(9), CHINA) - datetime.now(UTC)
    yield clock
    clock.reset()


def on_day(clock: ShiftedClock, day: date) -> datetime:
    clock.offset = datetime.combine(day, time(9), CHINA) - datetime.now(UTC)
    return clock.now()


def today(clock: ShiftedClock) -> date:
    return clock.now().astimezone(CHINA).date()


async def remind(api: Api, runtime: Runtime, clock: ShiftedClock) -> None:
    """One run of the daily job, as its cron tick would defer it."""
    async with api.stores.uow(RequestMeta(actor="test")) as uow:
        uow.defer("care:remind", {"timestamp": int(clock.now().timestamp())})
    await run_jobs_until_idle(runtime, now=clock.now())


async def inbox(api: Api, kind: str) -> list[dict[str, Any]]:
    edges = (await api.data(INBOX))["myInbox"]["edges"]
    return [edge["node"] for edge in edges if edge["node"]["kind"] == kind]


async def tasks_of(api: Api, kind: str) -> int:
    return int(await api.scalar("SELECT count(*) FROM user_tasks WHERE kind = :k", k=kind))


async def test_the_reminder_job_runs_daily(api: Api) -> None:
    crons = {found.task.name: found.cron
             for found in scheduler.app.periodic_registry.periodic_tasks.values()}
    assert crons["care:remind"] == care_jobs.REMIND_CRON == "30 0 * * *"
    start = datetime(2026, 12, 7, tzinfo=UTC)
    ticks = await defer_periodic(since=start, until=start + timedelta(days=2), prefix="care:")
    assert ticks == [("care:remind", start + timedelta(minutes=30)),
                     ("care:remind", start + timedelta(days=1, minutes=30))]


async def test_follow_ups_follow_each_owners_period_once(
        api: Api, runtime: Runtime, at_nine: ShiftedClock) -> None:
    sales = api.as_user("sales.east")
    account = await make_account(sales, name="宁波海天精工有限公司")
    assert (await sales.data("{ myCareSettings { followUpDays } }")) == {
        "myCareSettings": {"followUpDays": 30}}
    bad = await sales.error(SETTINGS, {"days": 0})
    assert (bad["extensions"]["code"], bad["extensions"]["field"]) == (
        "BAD_USER_INPUT", "followUpDays")
    assert (await sales.data(SETTINGS, {"days": 5}))["careSettingsUpdate"] == {
        "settings": {"followUpDays": 5}}
    start = today(at_nine)
    on_day(at_nine, start + timedelta(days=4))
    await remind(api, runtime, at_nine)
    assert await inbox(sales, "care.follow_up") == []
    on_day(at_nine, start + timedelta(days=5))
    await remind(api, runtime, at_nine)
    found = await inbox(sales, "care.follow_up")
    assert [(task["__typename"], task["title"], task["refType"], task["refId"])
            for task in found] == [("UserTask", "客户回访: 宁波海天精工有限公司 (5 天无互动)",
                                    "Account", account)]
    due = datetime.combine(start + timedelta(days=6), time(), CHINA)
    assert datetime.fromisoformat(found[0]["dueAt"]) == due
    await remind(api, runtime, at_nine)  # again the same day: nothing new
    on_day(at_nine, start + timedelta(days=6))
    await remind(api, runtime, at_nine)  # the next day, still quiet: the same reminder
    assert await tasks_of(api, "care.follow_up") == 1
    # Other owners keep the default period: the admin's own accounts are not due yet.
    assert await inbox(api, "care.follow_up") == []


async def test_contract_renewal_and_anniversary_reach_the_deal_owner_once(
        api: Api, runtime: Runtime, at_nine: ShiftedClock) -> None:
    sales = api.as_user("sales.east")
    account = await make_account(sales, name="杭州西湖电子有限公司")
    found = await deal(sales, account=account)
    start = today(at_nine)
    ends = start + timedelta(days=40)
    made = await approved_quote(sales, found["id"])
    contract = (await sales.data(CONTRACT, {"input": {
        "quoteId": made["id"], "endsOn": ends.isoformat()}}))["contractCreateFromQuote"]
    assert contract["contract"]["endsOn"] == ends.isoformat()
    contract_id = contract["contract"]["id"]
    await api.as_user("manager.east").data(SIGN, {"input": {"contractId": contract_id}})
    on_day(at_nine, start + timedelta(days=9))
    await remind(api, runtime, at_nine)
    assert await inbox(sales, "care.contract_renewal") == []
    on_day(at_nine, start + timedelta(days=10))  # 30 days (CARE_RENEWAL_NOTICE_DAYS) before
    await remind(api, runtime, at_nine)
    renewal = await inbox(sales, "care.contract_renewal")
    assert [(task["title"], task["refType"], task["refId"]) for task in renewal] == [
        (f"合同续约: 杭州西湖电子有限公司 合同 #1 {ends.isoformat()} 到期", "Contract",
         contract_id)]
    signed = datetime.now(CHINA).date()
    anniversary = on_year(signed.month, signed.day, signed.year + 1)
    on_day(at_nine, anniversary - timedelta(days=1))
    await remind(api, runtime, at_nine)
    assert await tasks_of(api, "care.contract_anniversary") == 0
    on_day(at_nine, anniversary)
    await remind(api, runtime, at_nine)
    await remind(api, runtime, at_nine)
    assert [task["title"] for task in await inbox(sales, "care.contract_anniversary")] == [
        "合同周年: 杭州西湖电子有限公司 合同 #1 签订 1 周年"]
    assert (await tasks_of(api, "care.contract_anniversary"),
            await tasks_of(api, "care.contract_renewal")) == (1, 1)
    assert await inbox(api.as_user("sales.north"), "care.contract_anniversary") == []


async def test_important_dates_are_personal_data_and_remind_the_owner(
        api: Api, runtime: Runtime, at_nine: ShiftedClock) -> None:
    sales = api.as_user("sales.east")
    account = await make_account(sales, name="苏州金鸡湖仪器有限公司")
    contact = await make_contact(sales, account, name="陈静")
    birthday = today(at_nine) + timedelta(days=3)
    given = {"contactId": contact, "kind": "BIRTHDAY", "month": birthday.month,
             "day": birthday.day, "year": 1980}
    set_date = (await sales.data(SET_DATE, {"input": given}))["contactImportantDateSet"]
    text = f"1980-{birthday.month:02d}-{birthday.day:02d}"
    assert set_date["importantDate"] == {"kind": "BIRTHDAY", "label": "", "date": text}
    assert (await sales.data(DATES, {"id": contact}))["node"]["importantDates"] == [
        {"kind": "BIRTHDAY", "label": "", "date": text}]
    masked = await api.as_user("finance").data(DATES, {"id": contact})
    assert masked["node"]["importantDates"] == [
        {"kind": "BIRTHDAY", "label": "", "date": "********"}]
    assert await api.scalar(
        "SELECT count(*) FROM audit_log WHERE operation = 'contact.importantDate' "
        "AND position(:text in after::text) = 0", text=text) == 1  # never the date itself
    before = await ledger_counts(api)
    for bad, field in (({"month": 2, "day": 30}, "day"), ({"kind": "OTHER"}, "label"),
                       ({"year": 1800}, "year")):
        error = await sales.error(SET_DATE, {"input": {**given, **bad}})
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT", field), bad
    hidden = await api.as_user("sales.north").error(SET_DATE, {"input": given})
    assert hidden["extensions"]["code"] == "NOT_FOUND"
    after = await ledger_counts(api)
    assert {key: value for key, value in after.items() if key != "audit_log"} == {
        key: value for key, value in before.items() if key != "audit_log"}
    await remind(api, runtime, at_nine)
    await remind(api, runtime, at_nine)
    reminders = await inbox(sales, "care.contact_date")
    assert [(task["title"], task["refType"], task["refId"]) for task in reminders] == [
        ("联系人关怀: 陈静 3 天后生日", "Contact", contact)]
    assert await tasks_of(api, "care.contact_date") == 1
