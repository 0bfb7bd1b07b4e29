"""Pipelines: ordered stages with a default probability, a forecast category and entry
conditions. The default pipeline (the seven stages below) lives in code; admins define others
(`pipelineDefine`). WON and LOST close every pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from relational.ledger import Reader
from relational.pipeline_models import Pipeline
from relational.repositories import opportunities as repo
from relational.uow import UnitOfWork
from services import validation as check
from services.errors import BadUserInput, Conflict, NotFound

DEFAULT_PIPELINE_ID = uuid.UUID("00000000-0000-4000-8000-00000000a001")
WON, LOST = "WON", "LOST"
CLOSED = (WON, LOST)


class ForecastCategory(StrEnum):
    """Where an open deal in a stage counts in the forecast (Closed is WON)."""

    PIPELINE = "PIPELINE"
    BEST_CASE = "BEST_CASE"
    COMMIT = "COMMIT"
    OMITTED = "OMITTED"


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    probability: Decimal  # 0..1
    category: ForecastCategory
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineRecord:
    id: uuid.UUID
    name: str
    stages: tuple[Stage, ...]
    version: int

    def stage(self, key: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.key == key), None)

    def rank(self, key: str) -> int:
        """Position of a stage from 1; WON after every stage, LOST (and unknown) 0."""
        if key == WON:
            return len(self.stages) + 1
        return next((i + 1 for i, stage in enumerate(self.stages) if stage.key == key), 0)

    @property
    def first(self) -> Stage:
        return self.stages[0]


def _stage(key: str, label: str, probability: str, category: ForecastCategory,
           *conditions: str) -> Stage:
    return Stage(key, label, Decimal(probability), category, conditions)


_P, _B, _C = ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, ForecastCategory.COMMIT
DEFAULT = PipelineRecord(DEFAULT_PIPELINE_ID, "默认销售流程", (
    _stage("LEAD", "线索获取", "0.05", _P),
    _stage("QUALIFICATION", "需求确认", "0.15", _P),
    _stage("SOLUTION", "方案制定", "0.35", _P, "DECISION_MAKER_ON_COMMITTEE"),
    _stage("NEGOTIATION", "商务谈判", "0.60", _B),
    _stage("CONTRACT", "合同签署", "0.80", _C, "APPROVED_QUOTE"),
    _stage("DELIVERY", "交付实施", "0.95", _C, "SIGNED_CONTRACT"),
    _stage("AFTER_SALES", "售后服务", "0.98", _C, "SIGNED_CONTRACT"),
), 1)

# Entry conditions by name: a check of the opportunity (inside the move's transaction) and the
# message naming what is missing. Other domains add theirs with `register_condition`.
ConditionCheck = Callable[[UnitOfWork, uuid.UUID], Awaitable[bool]]
CONDITIONS: dict[str, tuple[ConditionCheck, str]] = {}


def register_condition(name: str, message: str) -> Callable[[ConditionCheck], ConditionCheck]:
    def register(check_: ConditionCheck) -> ConditionCheck:
        CONDITIONS[name] = (check_, message)
        return check_
    return register


@dataclass(frozen=True)
class StageDraft:
    key: str
    label: str
    probability: Decimal
    category: ForecastCategory
    conditions: Sequence[str] = ()


def _validated_stages(drafts: Sequence[StageDraft]) -> tuple[Stage, ...]:
    if not 1 <= len(drafts) <= 20:
        raise BadUserInput("a pipeline has 1 to 20 stages", field="stages")
    keys = [draft.key.strip().upper() for draft in drafts]
    if len(set(keys)) != len(keys) or set(keys) & set(CLOSED):
        raise BadUserInput("stage keys must be distinct and not WON or LOST", field="stages")
    stages = []
    for key, draft in zip(keys, drafts, strict=True):
        if not key.replace("_", "").isalnum():
            raise BadUserInput(f"stage key `{key}` must be letters, digits and _",
                               field="stages")
        if not Decimal(0) <= draft.probability <= Decimal(1):
            raise BadUserInput("a stage's probability is between 0 and 1", field="stages")
        unknown = sorted(set(draft.conditions) - set(CONDITIONS))
        if unknown:
            raise BadUserInput(f"unknown entry conditions: {', '.join(unknown)}",
                               field="stages")
        stages.append(Stage(key, check.text(draft.label, "stages", max_length=40),
                            draft.probability, draft.category, tuple(draft.conditions)))
    return tuple(stages)


def _record(row: Pipeline) -> PipelineRecord:
    return PipelineRecord(row.id, row.name, tuple(
        Stage(item["key"], item["label"], Decimal(item["probability"]),
              ForecastCategory(item["category"]), tuple(item["conditions"]))
        for item in row.stages), row.version)


def _stored(stages: Sequence[Stage]) -> list[dict[str, Any]]:
    return [{"key": stage.key, "label": stage.label, "probability": str(stage.probability),
             "category": stage.category.value, "conditions": list(stage.conditions)}
            for stage in stages]


async def define(uow: UnitOfWork, actor: Actor, *, pipeline_id: uuid.UUID | None, name: str,
                 stages: Sequence[StageDraft], version: int | None) -> PipelineRecord:
    """A new pipeline, or new stages for one (under its `version`)."""
    valid = _validated_stages(stages)
    label = check.text(name, "name", max_length=100)
    if pipeline_id is None:
        row = Pipeline(id=uuid.uuid4(), name=label, stages=_stored(valid))
        uow.session.add(row)
    else:
        found = await repo.pipeline_for_update(uow.session, pipeline_id)
        if found is None:
            raise NotFound("no pipeline with this id", field="pipelineId")
        if version != found.version:
            raise Conflict("the pipeline was changed meanwhile; reload it", field="version")
        row, row.name, row.stages = found, label, _stored(valid)
        row.version += 1
    await uow.session.flush()
    uow.audit("pipeline.define", [str(row.id)], after={"name": label,
                                                       "stages": _stored(valid)})
    return _record(row)


async def get(session: AsyncSession, pipeline_id: uuid.UUID) -> PipelineRecord:
    """The pipeline of an opportunity (the default one is not stored)."""
    if pipeline_id == DEFAULT_PIPELINE_ID:
        return DEFAULT
    row = await repo.pipeline(session, pipeline_id)
    if row is None:
        raise NotFound("no pipeline with this id", field="pipelineId")
    return _record(row)


async def listing(read: Reader) -> list[PipelineRecord]:
    async with read() as session:
        return [DEFAULT, *(_record(row) for row in await repo.pipelines(session))]
