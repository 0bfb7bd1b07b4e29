"""The service desk through GraphQL: dispatch on creation by skill, region and load, the state
machine, SLA deadlines on the working-day calendar, the pause while waiting for the customer,
a breach that escalates to the team lead and then the department head (time driven by the
test clock and the scheduler, never by sleeping), feedback and history."""

from __future__ import annotations

from datetime import datetime, timedelta

from services import calendar
from services.clock import ShiftedClock
from tests.conftest import Api, Seed
from tests.factories import global_id
from tests.jobs_helpers import RunJobs
from tests.operations_helpers import (
    FEEDBACK,
    TRANSITION,
    add_engineer,
    customer,
    open_ticket,
)

HISTORY = """query($id: ID!) { node(id: $id) { ... on Ticket { state breached escalationLevel
  escalatedTo { id } history { kind fromState toState actor note } } } }"""
INBOX = "{ myInbox(first: 50) { edges { node { __typename kind title dueAt } } } }"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_ticket_is_dispatched_to_the_least_loaded_engineer_with_skill_and_region(
        api: Api, seed: Seed) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"], capacity=2)
    await add_engineer(api, seed, "sales.north", skills=["售后"], regions=["华北"])
    await add_engineer(api, seed, "sales.east", skills=["安装"], regions=[])
    account = await customer(api)
    first = await open_ticket(api, account)
    assert (first["state"], first["assignee"]["id"], first["version"]) == (
        "ASSIGNED", global_id("User", str(seed.user_ids["service"])), 1)
    created = at(first["slaDueAt"])
    second = await open_ticket(api, account, category="安装")
    assert second["assignee"]["id"] == global_id("User", str(seed.user_ids["sales.east"]))
    await open_ticket(api, account)
    full = await open_ticket(api, account)  # `service` has reached its capacity of 2
    assert (full["state"], full["assignee"]) == ("NEW", None)
    assert created > datetime.now(created.tzinfo)


async def test_sla_deadline_follows_the_working_day_calendar(api: Api, seed: Seed) -> None:
    account = await customer(api)
    before = api.stores.clock.now()
    ticket = await open_ticket(api, account, priority="NORMAL")  # tier C: 16 business hours
    after = api.stores.clock.now()
    due = at(ticket["slaDueAt"])
    assert calendar.add_business_time(before, timedelta(hours=16), {}) <= due
    assert due <= calendar.add_business_time(after, timedelta(hours=16), {})
    assert at(ticket["assignDueAt"]) - before <= timedelta(minutes=60, seconds=5)


async def test_illegal_transition_and_stale_version_are_refused(api: Api, seed: Seed) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"])
    ticket = await open_ticket(api, await customer(api))
    closed = await api.error(TRANSITION, {"input": {"ticketId": ticket["id"], "to": "CLOSED",
                                                    "version": 1}})
    assert (closed["extensions"]["code"], closed["extensions"]["field"]) == (
        "BAD_USER_INPUT", "to")
    stale = await api.error(TRANSITION, {"input": {"ticketId": ticket["id"],
                                                   "to": "IN_PROGRESS", "version": 7}})
    assert (stale["extensions"]["code"], stale["extensions"]["field"]) == ("CONFLICT", "version")
    early = await api.error(FEEDBACK, {"input": {"ticketId": ticket["id"], "score": 5}})
    assert (early["extensions"]["code"], early["extensions"]["field"]) == (
        "BAD_USER_INPUT", "ticketId")
    found = await api.data(HISTORY, {"id": ticket["id"]})
    assert [change["kind"] for change in found["node"]["history"]] == ["create", "assign"]


async def test_lifecycle_of_a_ticket_with_pause_feedback_and_history(
        api: Api, seed: Seed, clock: ShiftedClock) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"])
    ticket = await open_ticket(api, await customer(api))
    moved = await api.data(TRANSITION, {"input": {"ticketId": ticket["id"], "to": "IN_PROGRESS",
                                                  "version": 1}})
    waiting = await api.data(TRANSITION, {"input": {
        "ticketId": ticket["id"], "to": "WAITING_CUSTOMER", "version": 2, "note": "等客户"}})
    assert waiting["ticketTransition"]["ticket"]["paused"] is True
    paused_at = clock.now()
    clock.advance(timedelta(days=3))
    resumed = (await api.data(TRANSITION, {"input": {
        "ticketId": ticket["id"], "to": "IN_PROGRESS", "version": 3}}))["ticketTransition"]
    waited = calendar.business_time_between(paused_at, clock.now(), {})
    moved_by = calendar.business_time_between(
        at(moved["ticketTransition"]["ticket"]["slaDueAt"]), at(resumed["ticket"]["slaDueAt"]),
        {})
    assert waited > timedelta(0)
    assert abs(moved_by - waited) < timedelta(seconds=5)
    assert resumed["ticket"]["paused"] is False
    await api.data(TRANSITION, {"input": {"ticketId": ticket["id"], "to": "RESOLVED",
                                          "version": 4}})
    rated = await api.data(FEEDBACK, {"input": {"ticketId": ticket["id"], "score": 4,
                                                "comment": "及时"}})
    assert rated["ticketFeedback"]["ticket"] == {"feedbackScore": 4, "feedbackComment": "及时",
                                                 "version": 6}
    bad = await api.error(FEEDBACK, {"input": {"ticketId": ticket["id"], "score": 6}})
    assert bad["extensions"]["field"] == "score"
    found = (await api.data(HISTORY, {"id": ticket["id"]}))["node"]
    assert [(c["kind"], c["fromState"], c["toState"]) for c in found["history"]] == [
        ("create", None, None), ("assign", "NEW", "ASSIGNED"),
        ("transition", "ASSIGNED", "IN_PROGRESS"),
        ("transition", "IN_PROGRESS", "WAITING_CUSTOMER"),
        ("transition", "WAITING_CUSTOMER", "IN_PROGRESS"),
        ("transition", "IN_PROGRESS", "RESOLVED"), ("feedback", None, None)]
    assert found["history"][3]["note"] == "等客户"


async def test_a_breach_escalates_to_the_team_lead_then_the_department_head(
        api: Api, seed: Seed, clock: ShiftedClock, run_jobs: RunJobs) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东"])
    ticket = await open_ticket(api, await customer(api), priority="URGENT")
    assert await run_jobs() == 1  # the account's value tier; the timers are not due yet
    due = at(ticket["slaDueAt"])
    clock.advance(due - clock.now() - timedelta(minutes=1))
    await run_jobs(now=clock.now())
    assert (await api.data(HISTORY, {"id": ticket["id"]}))["node"]["breached"] is False
    clock.advance(timedelta(minutes=2))
    await run_jobs(now=clock.now())
    first = (await api.data(HISTORY, {"id": ticket["id"]}))["node"]
    assert (first["breached"], first["escalationLevel"], first["escalatedTo"]["id"]) == (
        True, 1, global_id("User", str(seed.user_ids["manager.east"])))
    lead_inbox = await api.as_user("manager.east").data(INBOX)
    assert {(edge["node"]["__typename"], edge["node"]["kind"])
            for edge in lead_inbox["myInbox"]["edges"]} == {
        ("Notification", "ticket.escalated"), ("UserTask", "ticket.escalation")}
    clock.advance(timedelta(days=4))  # well past two business hours
    await run_jobs(now=clock.now())
    second = (await api.data(HISTORY, {"id": ticket["id"]}))["node"]
    assert (second["escalationLevel"], second["escalatedTo"]["id"]) == (
        2, global_id("User", str(seed.user_ids["admin"])))
    assert [c["kind"] for c in second["history"]][-2:] == ["escalate", "escalate"]
    assert second["history"][-1]["actor"] == "system:job:tickets:escalate"
    sms = (api.stores.settings.data_dir / "sms-outbox.log").read_text(encoding="utf-8")
    assert "工单升级 L2" in sms


async def test_tickets_list_filters_and_respects_account_scope(api: Api, seed: Seed) -> None:
    await add_engineer(api, seed, "service", skills=["售后"], regions=["华东", "华北"])
    east = await customer(api)
    north = await customer(api, name="北京燕山仪表有限公司", region="华北")
    await open_ticket(api, east)
    await open_ticket(api, north, category="投诉")
    listing = """query($filter: TicketFilter) { tickets(filter: $filter, first: 10) {
      totalCount edges { node { subject category account { id } } } } }"""
    everything = (await api.data(listing))["tickets"]
    assert everything["totalCount"] == 2
    assert [edge["node"]["category"] for edge in everything["edges"]] == ["投诉", "售后"]
    mine = (await api.as_user("service").data(listing, {"filter": {
        "assigneeId": global_id("User", str(seed.user_ids["service"])), "state": "ASSIGNED"}}))
    # `service` sees the 华东 region only (its role's scope): the 华北 ticket is not listed.
    assert [edge["node"]["account"]["id"] for edge in mine["tickets"]["edges"]] == [east]
    none = (await api.data(listing, {"filter": {"breached": True}}))["tickets"]
    assert none["totalCount"] == 0
