"""SLA of tickets: deadlines from the policy of the ticket's priority and the customer's tier
on the working-day calendar, automatic dispatch by skill, region and load, the timers (durable
jobs `tickets:sla_check`), the pause while waiting for the customer, and escalation on a
breach: first to the team lead, then (`tickets:escalate`, two business hours later) to the
department head.

Policies (table `sla_policies`, per priority × tier): *assign within* N minutes of wall-clock
time, *resolve within* N business hours (services/calendar.py). While a ticket waits for the
customer its clock stops; on resumption the resolution deadline moves by the business time
it waited.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from relational.operations_models import Ticket, TicketHistory
from relational.repositories import tickets as repo
from relational.uow import UnitOfWork
from services import calendar, notifications, tasks
from services.notifications import Channel, Message
from services.vocabulary import TicketState

if TYPE_CHECKING:
    from services.calendar import Days

ESCALATION_STEP = timedelta(hours=2)  # business time from the team lead to the department head
OPEN = {TicketState.NEW, TicketState.ASSIGNED, TicketState.IN_PROGRESS,
        TicketState.WAITING_CUSTOMER}


def record_change(uow: UnitOfWork, ticket: Ticket, now: datetime, kind: str, *,
                  to: str | None = None, note: str | None = None,
                  data: dict[str, Any] | None = None) -> None:
    """One history row per change (and its audit record)."""
    uow.session.add(TicketHistory(ticket_id=ticket.id, at=now, actor=uow.meta.actor or "system",
                                  kind=kind, from_state=ticket.state if to else None,
                                  to_state=to, note=note, data=data or {}))
    uow.audit(f"ticket.{kind}", [str(ticket.id)],
              after={"state": to or ticket.state, "note": note, **(data or {})})


async def _days(uow: UnitOfWork, start: datetime) -> Days:
    day = start.astimezone(calendar.CHINA).date()
    return await repo.calendar(uow.session, day, day + timedelta(days=400))


async def deadlines(uow: UnitOfWork, priority: str, tier: str,
                    now: datetime) -> tuple[datetime, datetime]:
    found = await repo.policy(uow.session, priority, tier)
    if found is None:
        raise RuntimeError(f"no SLA policy for {priority}/{tier}")
    resolve = calendar.add_business_time(now, timedelta(hours=found.resolve_business_hours),
                                         await _days(uow, now))
    return now + timedelta(minutes=found.assign_minutes), resolve


async def dispatch(uow: UnitOfWork, ticket: Ticket, region: str, now: datetime) -> bool:
    """Assign the ticket to the least-loaded engineer with the category as a skill serving
    the account's region; False when none has room (the ticket stays NEW)."""
    found = await repo.candidates(uow.session, ticket.category, region)
    if not found:
        return False
    chosen = found[0]
    record_change(uow, ticket, now, "assign", to=TicketState.ASSIGNED.value,
                  data={"assigneeId": str(chosen.user_id), "load": chosen.load})
    ticket.state, ticket.assignee_id = TicketState.ASSIGNED.value, chosen.user_id
    uow.emit("ticket.assigned", str(ticket.id), {
        "ticket_id": str(ticket.id), "account_id": str(ticket.account_id),
        "assignee_id": str(chosen.user_id), "state": ticket.state})
    notifications.notify(uow, chosen.user_id, Message(
        "ticket.assigned", f"工单 #{ticket.number or ''} {ticket.subject}",
        f"{ticket.priority} · due {ticket.resolve_due_at.isoformat()}", "Ticket", ticket.id))
    return True


def arm(uow: UnitOfWork, ticket: Ticket) -> None:
    """The timers of a new or resumed ticket."""
    if ticket.state == TicketState.NEW.value:
        uow.defer("tickets:sla_check", {"ticketId": str(ticket.id), "kind": "assign"},
                  schedule_at=ticket.assign_due_at)
    uow.defer("tickets:sla_check", {"ticketId": str(ticket.id), "kind": "resolve"},
              schedule_at=ticket.resolve_due_at)


async def on_transition(uow: UnitOfWork, ticket: Ticket, current: TicketState,
                        wanted: TicketState, now: datetime) -> None:
    """Pause, resume and stop the SLA clock."""
    if wanted is TicketState.WAITING_CUSTOMER:
        ticket.paused_at = now
    elif current is TicketState.WAITING_CUSTOMER and ticket.paused_at is not None:
        waited = calendar.business_time_between(ticket.paused_at, now,
                                                await _days(uow, ticket.paused_at))
        ticket.resolve_due_at = calendar.add_business_time(ticket.resolve_due_at, waited,
                                                           await _days(uow,
                                                                       ticket.resolve_due_at))
        ticket.paused_at = None
        if wanted is not TicketState.RESOLVED:
            arm(uow, ticket)
    if wanted is TicketState.RESOLVED:
        ticket.resolved_at = now
    elif current in (TicketState.RESOLVED, TicketState.CLOSED):
        ticket.resolved_at = None  # reopened


async def check(uow: UnitOfWork, ticket_id: uuid.UUID, kind: str, now: datetime) -> bool:
    """A timer fired: breach and escalate when the deadline passed unmet; a timer made stale
    by a pause, a resumption or the work done does nothing. True on a breach."""
    ticket = await repo.for_update(uow.session, ticket_id, None)
    if ticket is None or ticket.breached or TicketState(ticket.state) not in OPEN:
        return False
    if kind == "assign":
        late = ticket.state == TicketState.NEW.value and now >= ticket.assign_due_at
    else:
        late = ticket.paused_at is None and now >= ticket.resolve_due_at
    if not late:
        return False
    ticket.breached = True
    deadline = ticket.assign_due_at if kind == "assign" else ticket.resolve_due_at
    await escalate(uow, ticket, 1, now, reason=f"{kind} deadline missed", since=deadline)
    return True


async def _target(uow: UnitOfWork, ticket: Ticket, level: int) -> uuid.UUID | None:
    if ticket.assignee_id is None:
        return None
    engineer = await repo.engineer(uow.session, ticket.assignee_id)
    if engineer is None:
        return None
    return engineer.team_lead_id if level == 1 else engineer.department_head_id


async def escalate(uow: UnitOfWork, ticket: Ticket, level: int, now: datetime, *,
                   reason: str, since: datetime | None = None) -> uuid.UUID | None:
    """Level 1: the assignee's team lead; level 2: the department head. Each gets an in-app
    and SMS notification and a task; level 1 arms level 2, ESCALATION_STEP of business time
    after the breach (`since`, the missed deadline)."""
    target = await _target(uow, ticket, level)
    ticket.escalation_level, ticket.escalated_to = level, target
    ticket.version += 1
    ticket.updated_at = now
    record_change(uow, ticket, now, "escalate", note=reason,
                  data={"level": level, "to": None if target is None else str(target)})
    uow.emit("ticket.escalated", str(ticket.id), {
        "ticket_id": str(ticket.id), "account_id": str(ticket.account_id), "level": level,
        "escalated_to": None if target is None else str(target)})
    if target is not None:
        title = f"工单升级 L{level}: #{ticket.number} {ticket.subject}"
        notifications.notify(uow, target, Message("ticket.escalated", title, reason, "Ticket",
                                                  ticket.id), (Channel.IN_APP, Channel.SMS))
        tasks.create(uow, user_id=target, kind="ticket.escalation", title=title,
                     due_at=now + timedelta(hours=1), ref_type="Ticket", ref_id=ticket.id)
    if level == 1:
        uow.defer("tickets:escalate", {"ticketId": str(ticket.id), "level": 2},
                  schedule_at=calendar.add_business_time(since or now, ESCALATION_STEP,
                                                         await _days(uow, since or now)))
    return target


async def escalate_further(uow: UnitOfWork, ticket_id: uuid.UUID, level: int,
                           now: datetime) -> bool:
    ticket = await repo.for_update(uow.session, ticket_id, None)
    if ticket is None or TicketState(ticket.state) not in OPEN or \
            ticket.escalation_level >= level:
        return False
    await escalate(uow, ticket, level, now, reason="still unresolved after escalation")
    return True
