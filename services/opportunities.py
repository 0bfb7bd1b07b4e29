"""Opportunity use cases: create, change, move through the pipeline's stages, read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from auth.actor import Actor
from relational.ledger import Reader
from relational.pipeline_models import Contract, Opportunity, Quote, StageChange, Tender
from relational.repositories import accounts as accounts_repo
from relational.repositories import campaigns as campaigns_repo
from relational.repositories import money as money_repo
from relational.repositories import opportunities as repo
from relational.repositories.opportunities import OpportunityQuery
from relational.uow import UnitOfWork
from services import (
    accounts,
    idempotency,
    money,
    pipelines,
    policy,
    stage_conditions,  # noqa: F401  (registers the entry conditions)
)
from services import validation as check
from services.errors import BadUserInput, ConditionUnmet, Conflict, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.pipelines import CLOSED, LOST, WON, PipelineRecord


@dataclass(frozen=True)
class OpportunityRecord:
    id: uuid.UUID
    account_id: uuid.UUID
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    name: str
    amount: Decimal
    currency: str
    pipeline_id: uuid.UUID
    stage: str
    stage_entered_at: datetime
    status: str
    expected_close_on: date
    closed_at: datetime | None
    lost_reason: str | None
    campaign_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Opportunity) -> OpportunityRecord:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class StageChangeRecord:
    from_stage: str | None
    to_stage: str
    actor: str
    note: str | None
    moved_at: datetime

    @classmethod
    def of(cls, row: StageChange) -> StageChangeRecord:
        return cls(row.from_stage, row.to_stage, row.actor, row.note, row.moved_at)


@dataclass(frozen=True)
class OpportunityDraft:
    account_id: uuid.UUID
    name: str
    amount: Decimal
    currency: str
    expected_close_on: date | None = None
    pipeline_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None


@dataclass(frozen=True)
class OpportunityChanges:
    name: str | None = None
    amount: Decimal | None = None
    expected_close_on: date | None = None


def snapshot(row: Opportunity) -> dict[str, Any]:
    return {"accountId": str(row.account_id), "ownerId": str(row.owner_id), "name": row.name,
            "amount": str(row.amount), "currency": row.currency, "stage": row.stage,
            "status": row.status, "expectedCloseOn": row.expected_close_on.isoformat(),
            "lostReason": row.lost_reason, "version": row.version}


def _event(row: Opportunity) -> dict[str, Any]:
    return {"opportunity_id": str(row.id), "account_id": str(row.account_id),
            "owner_id": str(row.owner_id), "stage": row.stage, "status": row.status,
            "amount": str(row.amount), "currency": row.currency, "version": row.version}


async def create(uow: UnitOfWork, actor: Actor, draft: OpportunityDraft,
                 key: idempotency.Key | None = None) -> OpportunityRecord:
    """A new opportunity in its pipeline's first stage; retried under `key`, the first one."""
    return await idempotency.once(
        uow, actor, key, "opportunity.create", asdict(draft),
        run=lambda: _create(uow, actor, draft), result=lambda made: {"id": str(made.id)},
        replay=lambda stored: _replayed(uow, actor, uuid.UUID(stored["id"])))


async def _replayed(uow: UnitOfWork, actor: Actor, opportunity_id: uuid.UUID
                    ) -> OpportunityRecord:
    found = await repo.get_many(uow.session, [opportunity_id], policy.visibility(actor))
    if opportunity_id not in found:
        raise NotFound("the opportunity this idempotencyKey created no longer exists",
                       field="idempotencyKey")
    return OpportunityRecord.of(found[opportunity_id])


async def _create(uow: UnitOfWork, actor: Actor, draft: OpportunityDraft) -> OpportunityRecord:
    name = check.text(draft.name, "name", max_length=200)
    amount = money.amount(draft.amount)
    currency = money.currency(draft.currency)
    account = (await accounts_repo.get_many(uow.session, [draft.account_id],
                                            policy.visibility(actor))).get(draft.account_id)
    if account is None:
        raise await accounts.not_found(uow, draft.account_id, "opportunity.create",
                                       field="accountId")
    pipeline = await pipelines.get(uow.session, draft.pipeline_id or
                                   pipelines.DEFAULT_PIPELINE_ID)
    await check_campaign(uow, draft.campaign_id)
    row = add(uow, actor, account_id=account.id, name=name, amount=amount, currency=currency,
              pipeline=pipeline, expected=draft.expected_close_on, campaign_id=draft.campaign_id,
              lead_id=draft.lead_id)
    await uow.session.flush()
    record_created(uow, row)
    return OpportunityRecord.of(row)


async def check_campaign(uow: UnitOfWork, campaign_id: uuid.UUID | None) -> None:
    """A lead or opportunity is attributed only to a campaign that exists."""
    if campaign_id is not None and not await campaigns_repo.exists(uow.session, campaign_id):
        raise NotFound("no campaign with this id", field="campaignId")


def record_created(uow: UnitOfWork, row: Opportunity) -> None:
    uow.audit("opportunity.create", [str(row.id)], after=snapshot(row))
    uow.emit("opportunity.created", str(row.id), _event(row))


def add(uow: UnitOfWork, actor: Actor, *, account_id: uuid.UUID, name: str, amount: Decimal,
        currency: str, pipeline: PipelineRecord, expected: date | None,
        campaign_id: uuid.UUID | None = None, lead_id: uuid.UUID | None = None) -> Opportunity:
    """The rows of a new opportunity (also used by lead conversion); the caller audits."""
    now = datetime.now(UTC)
    if actor.user_id is None:
        raise BadUserInput("only a user can own an opportunity", field="ownerId")
    row = Opportunity(
        id=uuid.uuid4(), account_id=account_id, owner_id=actor.user_id,
        department_id=actor.home_department, name=name, amount=amount, currency=currency,
        pipeline_id=pipeline.id, stage=pipeline.first.key, stage_entered_at=now, status="OPEN",
        expected_close_on=expected or (now + timedelta(days=90)).date(),
        campaign_id=campaign_id, lead_id=lead_id, version=1, created_at=now, updated_at=now)
    uow.session.add(row)
    uow.session.add(StageChange(opportunity_id=row.id, pipeline_id=row.pipeline_id,
                                from_stage=None, to_stage=row.stage, rank=1,
                                actor_id=actor.user_id, actor=actor.label, moved_at=now))
    return row


async def locked(uow: UnitOfWork, actor: Actor, opportunity_id: uuid.UUID, operation: str,
                 *, field: str = "opportunityId") -> Opportunity:
    """The opportunity for a write, or the NOT_FOUND of a missing or hidden one."""
    row = await repo.get_for_update(uow.session, opportunity_id, policy.visibility(actor))
    if row is not None:
        return row
    if opportunity_id in await repo.existing(uow.session, [opportunity_id]):
        raise policy.out_of_scope("no opportunity with this id", field=field,
                                  operation=operation, target_id=opportunity_id)
    raise NotFound("no opportunity with this id", field=field)


Doc = TypeVar("Doc", Quote, Contract, Tender)


async def locked_document(uow: UnitOfWork, actor: Actor, model: type[Doc], doc_id: uuid.UUID,
                          operation: str, *, field: str, noun: str) -> tuple[Doc, Opportunity]:
    """A quote, contract or tender for a write, with its deal (both locked); the NOT_FOUND of
    a missing one or one outside the actor's scope (audited)."""
    found = (await money_repo.get_visible(uow.session, model, [doc_id], policy.visibility(actor),
                                          lock=True)).get(doc_id)
    if found is None:
        if await money_repo.exists(uow.session, model, doc_id):
            raise policy.out_of_scope(f"no {noun} with this id", field=field,
                                      operation=operation, target_id=doc_id)
        raise NotFound(f"no {noun} with this id", field=field)
    return found, await locked(uow, actor, found.opportunity_id, operation)


def check_version(row: Any, version: int | None, kind: str) -> None:
    if version is None:
        raise BadUserInput("`version` is required for an update", field="version")
    if version != row.version:
        raise Conflict(f"the {kind} was changed meanwhile (version {row.version}, you sent "
                       f"{version}); reload it", field="version")


async def update(uow: UnitOfWork, actor: Actor, opportunity_id: uuid.UUID, version: int,
                 changes: OpportunityChanges) -> OpportunityRecord:
    row = await locked(uow, actor, opportunity_id, "opportunity.update")
    check_version(row, version, "opportunity")
    if row.status != "OPEN":
        raise BadUserInput("a closed opportunity cannot be changed", field="opportunityId")
    before = snapshot(row)
    if changes.name is not None:
        row.name = check.text(changes.name, "name", max_length=200)
    if changes.amount is not None:
        row.amount = money.amount(changes.amount)
    if changes.expected_close_on is not None:
        row.expected_close_on = changes.expected_close_on
    if snapshot(row) == before:
        return OpportunityRecord.of(row)
    _bump(row)
    await uow.session.flush()
    uow.audit("opportunity.update", [str(row.id)], before=before, after=snapshot(row))
    uow.emit("opportunity.updated", str(row.id), _event(row))
    return OpportunityRecord.of(row)


def _bump(row: Opportunity) -> None:
    row.version += 1
    row.updated_at = datetime.now(UTC)


async def _unmet(uow: UnitOfWork, row: Opportunity, conditions: Sequence[str]) -> None:
    for name in conditions:
        check_, message = pipelines.CONDITIONS[name]
        if not await check_(uow, row.id):
            raise ConditionUnmet(f"cannot enter this stage: {message} ({name})",
                                 condition=name)


def _target(pipeline: PipelineRecord, row: Opportunity, stage: str,
            lost_reason: str | None) -> tuple[str, tuple[str, ...]]:
    if row.status != "OPEN":
        raise BadUserInput(f"invalid transition: the opportunity is already {row.status}",
                           field="stage")
    key = stage.strip().upper()
    if key == row.stage:
        raise BadUserInput(f"invalid transition: the opportunity is already in {key}",
                           field="stage")
    if key == LOST and not (lost_reason or "").strip():
        raise BadUserInput("a lost opportunity needs a `lostReason`", field="lostReason")
    if key in CLOSED:
        return key, ()
    found = pipeline.stage(key)
    if found is None:
        raise BadUserInput(f"invalid transition: `{key}` is not a stage of this pipeline "
                           f"({', '.join(s.key for s in pipeline.stages)}, WON, LOST)",
                           field="stage")
    return key, found.conditions


async def move_stage(uow: UnitOfWork, actor: Actor, opportunity_id: uuid.UUID, *, stage: str,
                     version: int, note: str | None, lost_reason: str | None = None
                     ) -> OpportunityRecord:
    """Forward (entry conditions enforced), backwards, or closed as WON / LOST; every move is
    one row of the stage history."""
    row = await locked(uow, actor, opportunity_id, "opportunity.moveStage")
    check_version(row, version, "opportunity")
    pipeline = await pipelines.get(uow.session, row.pipeline_id)
    key, conditions = _target(pipeline, row, stage, lost_reason)
    await _unmet(uow, row, conditions)
    note_text = check.optional_text(note, "note", max_length=2000)
    before, previous, now = snapshot(row), row.stage, datetime.now(UTC)
    row.stage, row.stage_entered_at = key, now
    if key in CLOSED:
        row.status, row.closed_at = key, now
        row.lost_reason = check.text(lost_reason or "", "lostReason", max_length=500) \
            if key == LOST else None
    _bump(row)
    await repo.end_stay(uow.session, row.id, now, pipeline.rank(key))
    uow.session.add(StageChange(opportunity_id=row.id, pipeline_id=row.pipeline_id,
                                from_stage=previous, to_stage=key, rank=pipeline.rank(key),
                                actor_id=actor.user_id, actor=actor.label, note=note_text,
                                moved_at=now))
    await uow.session.flush()
    uow.audit("opportunity.moveStage", [str(row.id)], before=before, after=snapshot(row))
    payload = {**_event(row), "from_stage": previous, "note": note_text}
    uow.emit("opportunity.stage_changed", str(row.id), payload)
    if key == WON:
        uow.emit("opportunity.won", str(row.id), payload)
    elif key == LOST:
        uow.emit("opportunity.lost", str(row.id), {**payload, "lost_reason": row.lost_reason})
    return OpportunityRecord.of(row)


async def load_many(read: Reader, actor: Actor, ids: Sequence[uuid.UUID]
                    ) -> dict[uuid.UUID, OpportunityRecord]:
    async with read() as session:
        found = await repo.get_many(session, ids, policy.visibility(actor))
    return {key: OpportunityRecord.of(row) for key, row in found.items()}


async def open_of_accounts(read: Reader, actor: Actor, account_ids: Sequence[uuid.UUID]
                           ) -> dict[uuid.UUID, list[OpportunityRecord]]:
    """Each account's open deals that the actor may see (newest first), in one read."""
    found: dict[uuid.UUID, list[OpportunityRecord]] = {key: [] for key in account_ids}
    async with read() as session:
        rows = await repo.open_of_accounts(session, account_ids, policy.visibility(actor))
    for row in rows:
        found[row.account_id].append(OpportunityRecord.of(row))
    return found


async def history_of(read: Reader, actor: Actor, ids: Sequence[uuid.UUID]
                     ) -> dict[uuid.UUID, list[StageChangeRecord]]:
    """The stage history of the visible ones among `ids`, oldest first."""
    async with read() as session:
        visible = await repo.get_many(session, ids, policy.visibility(actor))
        rows = await repo.history(session, list(visible))
    found: dict[uuid.UUID, list[StageChangeRecord]] = {key: [] for key in visible}
    for row in rows:
        found[row.opportunity_id].append(StageChangeRecord.of(row))
    return found


@dataclass(frozen=True)
class OpportunitySearch:
    owner_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    status: str | None = None
    stage: str | None = None


def _query(actor: Actor, wanted: OpportunitySearch) -> OpportunityQuery:
    return OpportunityQuery(visibility=policy.visibility(actor), owner_id=wanted.owner_id,
                            account_id=wanted.account_id, status=wanted.status,
                            stage=wanted.stage)


async def search(read: Reader, cursor_key: bytes, actor: Actor, wanted: OpportunitySearch,
                 first: int | None, after: str | None) -> Page[OpportunityRecord]:
    """Newest first."""
    limit = check_first(first)
    query = _query(actor, wanted)
    kind = "opportunities:created_at:1"
    if after is not None:
        cursor = decode_cursor(cursor_key, after, kind, datetime.fromisoformat)
        query = OpportunityQuery(**{**vars(query), "after": cursor})
    async with read() as session:
        rows = await repo.page(session, query, limit + 1)
    page = make_page(rows, limit, lambda row: encode_cursor(
        cursor_key, kind, row.created_at.isoformat(), row.id), has_previous=after is not None)
    return page.mapped(OpportunityRecord.of)


async def count(read: Reader, actor: Actor, wanted: OpportunitySearch) -> int:
    async with read() as session:
        return await repo.count(session, _query(actor, wanted))


