"""Win probability and risk flags of open deals: the model is trained off the event loop on
closed deals and stored with its version and metrics (`win_models`); scoring uses the newest
model, or the documented rule-based score (analytics/win.py) until one is trained.

Other domains contribute features through `FEATURE_SOURCES` (e.g. days since the last
interaction, decision-map coverage): each maps deal ids to named values; a model remembers the
feature names it was trained with."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from analytics import win as model_math
from analytics.win import DealFacts, Model, Score
from relational.ledger import Reader
from relational.pipeline_models import WinModel
from relational.repositories import committees as committee_repo
from relational.repositories import interactions as interaction_repo
from relational.repositories import money as money_repo
from relational.repositories import opportunities as repo
from relational.repositories import pipeline_stats as stats
from relational.uow import UnitOfWork
from services import clock, pipelines
from services.opportunities import OpportunityRecord
from services.vocabulary import KEY_ROLES

FeatureSource = Callable[[AsyncSession, Sequence[uuid.UUID]],
                         Awaitable[dict[uuid.UUID, dict[str, float]]]]
# A deal whose account never had an interaction counts as this many days without one.
NO_INTERACTION_DAYS = 365.0


async def days_since_interaction(session: AsyncSession, deal_ids: Sequence[uuid.UUID]
                                 ) -> dict[uuid.UUID, dict[str, float]]:
    """Days from the last interaction with the deal's account to its close (now while open),
    capped at NO_INTERACTION_DAYS: one statement for every deal."""
    found = await interaction_repo.days_since_last_by_deal(session, deal_ids)
    return {deal: {"days_since_interaction": min(found.get(deal, NO_INTERACTION_DAYS),
                                                 NO_INTERACTION_DAYS)} for deal in deal_ids}


async def decision_map_coverage(session: AsyncSession, deal_ids: Sequence[uuid.UUID]
                                ) -> dict[uuid.UUID, dict[str, float]]:
    """Completeness in % of the key roles on today's committee of the deal (its own, else its
    account's, as the SOLUTION entry condition reads it; 0 without one): one statement."""
    found = await committee_repo.roles_of_opportunities(session, deal_ids, clock.today())
    return {deal: {"decision_map_coverage": coverage_of(found.get(deal, []))}
            for deal in deal_ids}


def coverage_of(members: Sequence[Sequence[str]]) -> float:
    """The decision map's completeness figure (services/decision_maps.py) of these roles."""
    held = {role for roles in members for role in roles}
    return round(100.0 * len(held & set(KEY_ROLES)) / len(KEY_ROLES), 1)


# (name, source): wired by the domains that own the data (interactions, decision maps). A
# source answers every deal it is given, in one statement for all of them.
FEATURE_SOURCES: list[tuple[str, FeatureSource]] = [
    ("days_since_interaction", days_since_interaction),
    ("decision_map_coverage", decision_map_coverage),
]


@dataclass(frozen=True)
class ModelRecord:
    version: int | None
    kind: str
    trained_at: datetime | None
    samples: int
    auc: float | None
    brier: float | None
    baseline_auc: float | None
    baseline_brier: float | None


async def _facts(session: AsyncSession, ids: Sequence[uuid.UUID] | None, *,
                 closed_only: bool, today: Any) -> tuple[list[DealFacts], dict[uuid.UUID,
                                                                                uuid.UUID]]:
    deals, moves = await repo.facts(session, ids=ids, closed_only=closed_only)
    wanted = None if ids is None else [row[0] for row in deals]
    discounts = await money_repo.max_discounts(session, wanted)
    tenders = await money_repo.tender_flags(session, wanted, today)
    extra: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    for _, source in FEATURE_SOURCES:
        for key, values in (await source(session, [row[0] for row in deals])).items():
            extra[key].update(values)
    by_deal: dict[uuid.UUID, list[tuple[str, datetime]]] = defaultdict(list)
    for deal_id, stage, moved_at in moves:
        by_deal[deal_id].append((stage, moved_at))
    found = [DealFacts(deal_id, status, float(amount), created, by_deal.get(deal_id, []),
                       float(discounts.get(deal_id, 0)), deal_id in tenders,
                       tenders.get(deal_id, 0), extra.get(deal_id, {}))
             for deal_id, _, status, amount, created in deals]
    return found, {row[0]: row[1] for row in deals}


async def _stage_tables(session: AsyncSession, pipeline_ids: set[uuid.UUID]
                        ) -> dict[uuid.UUID, tuple[dict[str, int], dict[str, float]]]:
    tables = {}
    for pipeline_id in pipeline_ids:
        found = await pipelines.get(session, pipeline_id)
        ranks = {stage.key: i + 1 for i, stage in enumerate(found.stages)}
        tables[pipeline_id] = (ranks, {stage.key: float(stage.probability)
                                       for stage in found.stages})
    return tables


def _samples(facts: list[DealFacts], pipeline_of: dict[uuid.UUID, uuid.UUID],
             tables: dict[uuid.UUID, tuple[dict[str, int], dict[str, float]]],
             now: datetime) -> list[model_math.Sample]:
    made = (model_math.sample(item, *tables[pipeline_of[item.id]], now) for item in facts)
    return [item for item in made if item is not None]


async def train(uow: UnitOfWork, *, minimum: int, now: datetime | None = None) -> ModelRecord:
    """Train on every closed deal (in a worker thread) and store the new model version; with
    too few closed deals the stored version is the rule-based score."""
    moment = now or datetime.now(UTC)
    facts, pipeline_of = await _facts(uow.session, None, closed_only=True, today=moment.date())
    tables = await _stage_tables(uow.session, set(pipeline_of.values()))
    samples = _samples(facts, pipeline_of, tables, moment)
    extra = tuple(name for name, _ in FEATURE_SOURCES)
    fitted = await anyio.to_thread.run_sync(
        lambda: model_math.train(samples, minimum=minimum, extra=extra))
    rates = {str(pipeline_id): {key: str(value) for key, value in (
        await stats.stage_win_rates(uow.session, pipeline_id)).items()}
        for pipeline_id in {*tables, pipelines.DEFAULT_PIPELINE_ID}}
    row = await stats.add_model(uow.session, WinModel(
        kind=fitted.kind, samples=fitted.samples, auc=fitted.auc, brier=fitted.brier,
        parameters={**fitted.parameters(), "stageWinRates": rates}, trained_at=moment))
    uow.audit("winModel.train", [str(row.version)], after={
        "kind": row.kind, "samples": row.samples, "auc": row.auc, "brier": row.brier})
    return _record(row, fitted)


def _record(row: WinModel | None, fitted: Model) -> ModelRecord:
    return ModelRecord(None if row is None else row.version, fitted.kind,
                       None if row is None else row.trained_at, fitted.samples, fitted.auc,
                       fitted.brier, fitted.baseline_auc, fitted.baseline_brier)


def _model(row: WinModel | None) -> Model:
    if row is None:
        return model_math.RULES
    return Model.stored(row.kind, row.parameters, row.samples, row.auc, row.brier)


async def current(read: Reader) -> ModelRecord:
    async with read() as session:
        row = await stats.latest_model(session)
    return _record(row, _model(row))


async def score_many(read: Reader, deals: Sequence[OpportunityRecord], *,
                     now: datetime | None = None) -> dict[uuid.UUID, Score]:
    """Scores of the open ones among `deals` (records the caller was allowed to load)."""
    open_ids = [deal.id for deal in deals if deal.status == "OPEN"]
    if not open_ids:
        return {}
    moment = now or datetime.now(UTC)
    async with read() as session:
        model = _model(await stats.latest_model(session))
        facts, pipeline_of = await _facts(session, open_ids, closed_only=False,
                                          today=moment.date())
        tables = await _stage_tables(session, set(pipeline_of.values()))
    return {item.id: model_math.score(model, item)
            for item in _samples(facts, pipeline_of, tables, moment)}
