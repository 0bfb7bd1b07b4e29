"""Set-up shared by the customer-operations tests: engineers of the service desk, tickets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.conftest import Api, Seed
from tests.factories import make_account

CREATE_TICKET = """mutation($input: TicketCreateInput!) { ticketCreate(input: $input) {
  ticket { id state version assignee { id displayName } slaDueAt assignDueAt breached
           escalationLevel tier } } }"""
TRANSITION = """mutation($input: TicketTransitionInput!) { ticketTransition(input: $input) {
  ticket { state version slaDueAt paused } } }"""
FEEDBACK = """mutation($input: TicketFeedbackInput!) { ticketFeedback(input: $input) {
  ticket { feedbackScore feedbackComment version } } }"""


async def add_engineer(api: Api, seed: Seed, username: str, *, skills: list[str],
                       regions: list[str], capacity: int = 5, lead: str | None = "manager.east",
                       head: str | None = "admin") -> None:
    async with api.stores.ledger.sessionmaker() as session:
        await session.execute(text(
            "INSERT INTO service_engineers (user_id, skills, regions, capacity, team_lead_id, "
            "department_head_id) VALUES (:user, :skills, :regions, :capacity, :lead, :head)"),
            {"user": seed.user_ids[username], "skills": skills, "regions": regions,
             "capacity": capacity, "lead": seed.user_ids[lead] if lead else None,
             "head": seed.user_ids[head] if head else None})
        await session.commit()


async def open_ticket(api: Api, account_id: str, **fields: Any) -> dict[str, Any]:
    given = {"accountId": account_id, "category": "售后", "priority": "HIGH",
             "channel": "PHONE", "subject": "雷达维修", "description": "设备无法开机", **fields}
    data = await api.data(CREATE_TICKET, {"input": given})
    ticket: dict[str, Any] = data["ticketCreate"]["ticket"]
    return ticket


async def customer(api: Api, **fields: Any) -> str:
    return await make_account(api, name=fields.pop("name", "南京长江电子设备有限公司"),
                              region=fields.pop("region", "华东"), **fields)
