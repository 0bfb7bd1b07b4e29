"""Tender tracking for project sales: the milestones 招标 → 投标 → 评标 → 定标 with planned
and actual dates (overdue when planned before today and not done), documents referenced by
name and SM3 hash, competitors, and the outcome."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from auth.actor import Actor
from relational.ledger import Reader
from relational.pipeline_models import Tender, TenderMilestone
from relational.repositories import money as repo
from relational.uow import UnitOfWork
from services import opportunities
from services import validation as check
from services.errors import BadUserInput, Conflict

_SM3 = re.compile(r"[0-9a-f]{64}")


class MilestoneKind(StrEnum):
    PUBLISHED = "PUBLISHED"  # 招标
    BID_SUBMITTED = "BID_SUBMITTED"  # 投标
    EVALUATION = "EVALUATION"  # 评标
    AWARD = "AWARD"  # 定标


LABELS = {MilestoneKind.PUBLISHED: "招标", MilestoneKind.BID_SUBMITTED: "投标",
          MilestoneKind.EVALUATION: "评标", MilestoneKind.AWARD: "定标"}
OUTCOMES = ("WON", "LOST", "WITHDRAWN", "CANCELLED")


@dataclass(frozen=True)
class MilestoneDraft:
    kind: MilestoneKind
    planned_on: date | None = None
    actual_on: date | None = None


@dataclass(frozen=True)
class DocumentDraft:
    name: str
    sm3: str


@dataclass(frozen=True)
class MilestoneRecord:
    kind: MilestoneKind
    label: str
    planned_on: date
    actual_on: date | None
    overdue: bool


@dataclass(frozen=True)
class TenderRecord:
    id: uuid.UUID
    opportunity_id: uuid.UUID
    competitors: tuple[str, ...]
    documents: tuple[tuple[str, str], ...]
    outcome: str | None
    version: int
    milestones: tuple[MilestoneRecord, ...]

    @property
    def overdue(self) -> bool:
        return any(milestone.overdue for milestone in self.milestones)


def _record(row: Tender, milestones: Sequence[TenderMilestone], today: date) -> TenderRecord:
    order = list(MilestoneKind)
    items = sorted(milestones, key=lambda m: order.index(MilestoneKind(m.kind)))
    return TenderRecord(row.id, row.opportunity_id, tuple(row.competitors),
                        tuple((doc["name"], doc["sm3"]) for doc in row.documents), row.outcome,
                        row.version, tuple(MilestoneRecord(
                            MilestoneKind(m.kind), LABELS[MilestoneKind(m.kind)], m.planned_on,
                            m.actual_on, m.actual_on is None and m.planned_on < today)
                            for m in items))


def _competitors(values: Sequence[str]) -> list[str]:
    cleaned = [check.text(value, "competitors", max_length=200) for value in values]
    if len(cleaned) > 50:
        raise BadUserInput("at most 50 `competitors`", field="competitors")
    return list(dict.fromkeys(cleaned))


def _documents(values: Sequence[DocumentDraft]) -> list[dict[str, str]]:
    found = []
    for value in values:
        digest = value.sm3.strip().lower()
        if not _SM3.fullmatch(digest):
            raise BadUserInput("a document's `sm3` is its SM3 hash, 64 hex characters",
                               field="documents")
        found.append({"name": check.text(value.name, "documents", max_length=200),
                      "sm3": digest})
    return found


async def create(uow: UnitOfWork, actor: Actor, opportunity_id: uuid.UUID,
                 competitors: Sequence[str], milestones: Sequence[MilestoneDraft],
                 documents: Sequence[DocumentDraft], *, today: date | None = None
                 ) -> TenderRecord:
    deal = await opportunities.locked(uow, actor, opportunity_id, "tender.create")
    if (await repo.tender_of(uow.session, [deal.id])).get(deal.id) is not None:
        raise Conflict("this opportunity already has a tender", field="opportunityId")
    row = Tender(id=uuid.uuid4(), opportunity_id=deal.id, competitors=_competitors(competitors),
                 documents=_documents(documents), version=1)
    uow.session.add(row)
    await uow.session.flush()
    made = []
    for milestone in milestones:
        if milestone.planned_on is None:
            raise BadUserInput("each milestone needs `plannedOn`", field="milestones")
        made.append(TenderMilestone(tender_id=row.id, kind=milestone.kind.value,
                                    planned_on=milestone.planned_on,
                                    actual_on=milestone.actual_on))
    if len({m.kind for m in made}) != len(made):
        raise BadUserInput("each milestone kind at most once", field="milestones")
    uow.session.add_all(made)
    await uow.session.flush()
    uow.audit("tender.create", [str(row.id)], after={"opportunityId": str(deal.id)})
    uow.emit("tender.created", str(row.id), {"tender_id": str(row.id),
                                             "opportunity_id": str(deal.id)})
    return _record(row, made, today or datetime.now(UTC).date())


@dataclass(frozen=True)
class TenderChanges:
    competitors: Sequence[str] | None = None
    outcome: str | None = None
    milestones: Sequence[MilestoneDraft] = ()
    documents: Sequence[DocumentDraft] = ()  # added to the list


async def update(uow: UnitOfWork, actor: Actor, tender_id: uuid.UUID, version: int,
                 changes: TenderChanges, *, today: date | None = None) -> TenderRecord:
    row, _ = await opportunities.locked_document(uow, actor, Tender, tender_id, "tender.update",
                                                 field="tenderId", noun="tender")
    opportunities.check_version(row, version, "tender")
    if changes.competitors is not None:
        row.competitors = _competitors(changes.competitors)
    if changes.outcome is not None:
        row.outcome = check.choice(changes.outcome, "outcome", OUTCOMES)
    if changes.documents:
        row.documents = [*row.documents, *_documents(changes.documents)]
    for milestone in changes.milestones:
        await _set_milestone(uow, row.id, milestone)
    row.version += 1
    row.updated_at = datetime.now(UTC)
    await uow.session.flush()
    found = (await repo.milestones(uow.session, [row.id]))[row.id]
    uow.audit("tender.update", [str(row.id)], after={"outcome": row.outcome,
                                                     "documents": len(row.documents)})
    uow.emit("tender.updated", str(row.id), {"tender_id": str(row.id),
                                             "opportunity_id": str(row.opportunity_id)})
    return _record(row, found, today or datetime.now(UTC).date())


async def _set_milestone(uow: UnitOfWork, tender_id: uuid.UUID,
                         milestone: MilestoneDraft) -> None:
    found = await repo.milestone(uow.session, tender_id, milestone.kind.value)
    if found is None:
        if milestone.planned_on is None:
            raise BadUserInput("a new milestone needs `plannedOn`", field="milestones")
        uow.session.add(TenderMilestone(tender_id=tender_id, kind=milestone.kind.value,
                                        planned_on=milestone.planned_on,
                                        actual_on=milestone.actual_on))
        return
    if milestone.planned_on is not None:
        found.planned_on = milestone.planned_on
    if milestone.actual_on is not None:
        found.actual_on = milestone.actual_on


async def of_opportunities(read: Reader, ids: Sequence[uuid.UUID], *,
                           today: date | None = None) -> dict[uuid.UUID, TenderRecord]:
    """Tenders of deals the caller was allowed to load."""
    day = today or datetime.now(UTC).date()
    async with read() as session:
        tenders = await repo.tender_of(session, ids)
        milestones = await repo.milestones(session, [row.id for row in tenders.values()])
    return {key: _record(row, milestones[row.id], day) for key, row in tenders.items()}
