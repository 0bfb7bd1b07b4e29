"""The service desk (工单): tickets from a customer request, their state machine, dispatch,
feedback and history. SLA timers and escalation live in services/ticket_sla.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth.actor import Actor
from relational.ledger import Reader
from relational.operations_models import Ticket, TicketHistory
from relational.repositories import contacts as contacts_repo
from relational.repositories import tickets as repo
from relational.repositories.tickets import TicketQuery
from relational.uow import UnitOfWork
from services import accounts, policy, ticket_sla
from services import validation as check
from services.errors import BadUserInput, Conflict, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.vocabulary import TICKET_CATEGORIES, TICKET_CHANNELS, TicketPriority, TicketState

S = TicketState
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    S.NEW: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING_CUSTOMER, S.RESOLVED}),
    S.WAITING_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),  # IN_PROGRESS: reopen
    S.CLOSED: frozenset({S.IN_PROGRESS}),  # reopen
}


@dataclass(frozen=True)
class TicketDraft:
    account_id: uuid.UUID
    category: str
    priority: str
    channel: str
    subject: str
    description: str = ""
    contact_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None


@dataclass(frozen=True)
class HistoryRecord:
    at: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    note: str | None

    @classmethod
    def of(cls, row: TicketHistory) -> HistoryRecord:
        return cls(row.at, row.actor, row.kind, row.from_state, row.to_state, row.note)


@dataclass(frozen=True)
class TicketRecord:
    id: uuid.UUID
    number: int
    account_id: uuid.UUID
    contact_id: uuid.UUID | None
    category: str
    priority: str
    channel: str
    subject: str
    description: str
    state: str
    version: int
    tier: str
    assignee_id: uuid.UUID | None
    assign_due_at: datetime
    sla_due_at: datetime
    paused: bool
    breached: bool
    escalation_level: int
    escalated_to: uuid.UUID | None
    feedback_score: int | None
    feedback_comment: str | None
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, row: Ticket) -> TicketRecord:
        return cls(row.id, row.number, row.account_id, row.contact_id, row.category,
                   row.priority, row.channel, row.subject, row.description, row.state,
                   row.version, row.tier, row.assignee_id, row.assign_due_at,
                   row.resolve_due_at, row.paused_at is not None, row.breached,
                   row.escalation_level, row.escalated_to, row.feedback_score,
                   row.feedback_comment, row.created_at, row.resolved_at)


def _validated(draft: TicketDraft) -> TicketDraft:
    check.choice(draft.category, "category", TICKET_CATEGORIES)
    check.choice(draft.priority, "priority", [p.value for p in TicketPriority])
    check.choice(draft.channel, "channel", TICKET_CHANNELS)
    return TicketDraft(
        draft.account_id, draft.category, draft.priority, draft.channel,
        check.text(draft.subject, "subject", max_length=200),
        (draft.description or "").strip()[:5000], draft.contact_id, draft.contract_id,
        draft.order_id)


async def create(uow: UnitOfWork, actor: Actor, draft: TicketDraft, now: datetime) -> TicketRecord:
    """A ticket for a visible account, dispatched at once when an engineer is free."""
    valid = _validated(draft)
    seen = policy.visibility(actor)
    account = await repo.account_for_ticket(uow.session, valid.account_id, seen)
    if account is None:
        raise await accounts.not_found(uow, valid.account_id, "ticket.create", field="accountId")
    if valid.contact_id is not None:
        contact = await contacts_repo.get_many(uow.session, [valid.contact_id], seen)
        if valid.contact_id not in contact or contact[valid.contact_id].account_id != account.id:
            raise NotFound("no contact with this id at the account", field="contactId")
    tier = account.value_tier or "C"
    assign_due, resolve_due = await ticket_sla.deadlines(uow, valid.priority, tier, now)
    ticket = Ticket(id=uuid.uuid4(), account_id=account.id, contact_id=valid.contact_id,
                    contract_id=valid.contract_id, order_id=valid.order_id,
                    category=valid.category, priority=valid.priority, channel=valid.channel,
                    subject=valid.subject, description=valid.description, state=S.NEW.value,
                    version=1, tier=tier, assign_due_at=assign_due, resolve_due_at=resolve_due,
                    breached=False, escalation_level=0, created_by=actor.user_id,
                    created_at=now, updated_at=now)
    uow.session.add(ticket)
    await uow.session.flush()
    ticket_sla.record_change(uow, ticket, now, "create", data={"priority": ticket.priority})
    uow.emit("ticket.created", str(ticket.id), _payload(ticket))
    await ticket_sla.dispatch(uow, ticket, account.region, now)
    ticket_sla.arm(uow, ticket)
    return TicketRecord.of(ticket)


def _payload(ticket: Ticket) -> dict[str, Any]:
    return {"ticket_id": str(ticket.id), "account_id": str(ticket.account_id),
            "state": ticket.state, "priority": ticket.priority,
            "assignee_id": None if ticket.assignee_id is None else str(ticket.assignee_id),
            "version": ticket.version}


async def _editable(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID,
                    operation: str) -> Ticket:
    ticket = await repo.for_update(uow.session, ticket_id, policy.visibility(actor))
    if ticket is None:
        if await repo.exists(uow.session, ticket_id):
            raise policy.out_of_scope("no ticket with this id", field="ticketId",
                                      operation=operation, target_id=ticket_id)
        raise NotFound("no ticket with this id", field="ticketId")
    return ticket


async def transition(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, to: str,
                     version: int, note: str | None, now: datetime) -> TicketRecord:
    ticket = await _editable(uow, actor, ticket_id, "ticket.transition")
    if version != ticket.version:
        raise Conflict(f"the ticket changed meanwhile (version {ticket.version})",
                       field="version")
    current, wanted = TicketState(ticket.state), TicketState(to)
    if wanted not in TRANSITIONS[current]:
        raise BadUserInput(f"a {current.value} ticket cannot go to {wanted.value}", field="to")
    clean_note = check.optional_text(note, "note", max_length=2000)
    if wanted is S.ASSIGNED:
        region = (await repo.account_for_ticket(uow.session, ticket.account_id,
                                                policy.visibility(actor)))
        if region is None or not await ticket_sla.dispatch(uow, ticket, region.region, now):
            raise Conflict("no engineer with this skill and region has room", field="to")
    else:
        await ticket_sla.on_transition(uow, ticket, current, wanted, now)
        ticket_sla.record_change(uow, ticket, now, "transition", to=wanted.value, note=clean_note)
        ticket.state = wanted.value
    ticket.version += 1
    ticket.updated_at = now
    uow.emit("ticket.transitioned", str(ticket.id),
             {**_payload(ticket), "from": current.value, "to": wanted.value})
    return TicketRecord.of(ticket)


async def feedback(uow: UnitOfWork, actor: Actor, ticket_id: uuid.UUID, score: int,
                   comment: str | None, now: datetime) -> TicketRecord:
    ticket = await _editable(uow, actor, ticket_id, "ticket.feedback")
    if ticket.state not in (S.RESOLVED.value, S.CLOSED.value):
        raise BadUserInput("feedback is given after the ticket is resolved", field="ticketId")
    if not 1 <= score <= 5:
        raise BadUserInput("`score` must be between 1 and 5", field="score")
    ticket.feedback_score = score
    ticket.feedback_comment = check.optional_text(comment, "comment", max_length=2000)
    ticket.version += 1
    ticket.updated_at = now
    ticket_sla.record_change(uow, ticket, now, "feedback", note=ticket.feedback_comment,
                  data={"score": score})
    return TicketRecord.of(ticket)


@dataclass(frozen=True)
class TicketSearch:
    state: str | None = None
    breached: bool | None = None
    assignee_id: uuid.UUID | None = None


async def search(read: Reader, cursor_key: bytes, actor: Actor, wanted: TicketSearch,
                 first: int | None, after: str | None) -> Page[TicketRecord]:
    limit = check_first(first)
    query = TicketQuery(policy.visibility(actor), wanted.state, wanted.breached,
                        wanted.assignee_id)
    if after is not None:
        query = TicketQuery(query.visibility, query.state, query.breached, query.assignee_id,
                            decode_cursor(cursor_key, after, "tickets", datetime.fromisoformat))
    async with read() as session:
        rows = await repo.page(session, query, limit + 1)
    page = make_page(rows, limit, lambda row: encode_cursor(
        cursor_key, "tickets", row.created_at.isoformat(), row.id), has_previous=after is not None)
    return page.mapped(TicketRecord.of)


async def count(read: Reader, actor: Actor, wanted: TicketSearch) -> int:
    async with read() as session:
        return await repo.count(session, TicketQuery(policy.visibility(actor), wanted.state,
                                                     wanted.breached, wanted.assignee_id))


async def load_many(read: Reader, actor: Actor,
                    ids: list[uuid.UUID]) -> dict[uuid.UUID, TicketRecord]:
    async with read() as session:
        found = await repo.get_many(session, ids, policy.visibility(actor))
    return {key: TicketRecord.of(row) for key, row in found.items()}


async def histories(read: Reader,
                    ids: list[uuid.UUID]) -> dict[uuid.UUID, list[HistoryRecord]]:
    """History of tickets the caller was already allowed to load."""
    async with read() as session:
        found = await repo.history(session, ids)
    return {key: [HistoryRecord.of(row) for row in rows] for key, rows in found.items()}

