"""Win probability and risk flags (风险预警) of open deals.

A logistic regression (scikit-learn, seeded) is trained on closed deals, each described as it
stood at one moment of its open life (fixed by its id, so every stage is represented): stage,
time in that stage, age, amount, largest quote discount,
tender status, backward moves, plus any extra features other domains contribute (interaction
recency and decision-map coverage once those exist; an absent feature counts as 0). It is
evaluated on a held-out quarter of the deals (AUC, Brier score) and stored with those metrics.

With fewer closed deals than the configured minimum, or only one outcome among them, the
**rule-based score** is used instead: the stage's default probability, minus 0.10 when the deal
has been in its stage more than 60 days (0.05 beyond 30), minus 0.02 per discount point above
10 %, minus 0.10 per overdue tender milestone, minus 0.05 per move backwards, clipped to
[0.01, 0.99]. Risk flags name the factors that lower the score most, each with its share.

Everything here is pure and CPU-bound: callers run `train` in a thread."""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

BASE_FEATURES = ("stage_rank", "stage_probability", "days_in_stage", "age_days",
                 "log_amount", "max_discount_pct", "has_tender", "tender_overdue",
                 "backward_moves")
REASONS = {
    "days_in_stage": "在当前阶段停留过久 (long in stage)",
    "age_days": "商机周期过长 (deal is old)",
    "max_discount_pct": "折扣过高 (high discount)",
    "tender_overdue": "招投标里程碑逾期 (tender milestone overdue)",
    "backward_moves": "阶段倒退 (moved backwards)",
    "stage_rank": "阶段尚早 (early stage)",
    "stage_probability": "阶段赢率低 (low stage probability)",
    "log_amount": "金额偏大 (large amount)",
    "has_tender": "需要招投标 (tender required)",
    "days_since_interaction": "久未联系客户 (no recent interaction)",
    "decision_map_coverage": "决策链覆盖不足 (committee incomplete)",
}


@dataclass(frozen=True)
class Sample:
    """One deal's features (an open deal now, a closed one as it stood before closing)."""

    id: uuid.UUID
    features: Mapping[str, float]
    won: bool | None = None  # None for an open deal


@dataclass(frozen=True)
class Model:
    kind: str  # LOGISTIC or RULES
    features: tuple[str, ...]
    coef: tuple[float, ...] = ()
    intercept: float = 0.0
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    samples: int = 0
    auc: float | None = None
    brier: float | None = None
    baseline_auc: float | None = None
    baseline_brier: float | None = None

    def parameters(self) -> dict[str, Any]:
        return {"features": list(self.features), "coef": list(self.coef),
                "intercept": self.intercept, "mean": list(self.mean),
                "scale": list(self.scale), "baselineAuc": self.baseline_auc,
                "baselineBrier": self.baseline_brier}

    @classmethod
    def stored(cls, kind: str, parameters: Mapping[str, Any], samples: int,
               auc: float | None, brier: float | None) -> Model:
        return cls(kind, tuple(parameters["features"]), tuple(parameters["coef"]),
                   float(parameters["intercept"]), tuple(parameters["mean"]),
                   tuple(parameters["scale"]), samples, auc, brier,
                   parameters.get("baselineAuc"), parameters.get("baselineBrier"))


RULES = Model("RULES", BASE_FEATURES)


@dataclass(frozen=True)
class Score:
    probability: float
    risks: list[tuple[str, float]] = field(default_factory=list)


def _matrix(samples: Sequence[Sample], names: Sequence[str]) -> np.ndarray:
    return np.array([[float(s.features.get(name, 0.0)) for name in names] for s in samples],
                    dtype=float)


def _rule_penalties(features: Mapping[str, float]) -> dict[str, float]:
    days = features.get("days_in_stage", 0.0)
    return {
        "days_in_stage": 0.10 if days > 60 else 0.05 if days > 30 else 0.0,
        "max_discount_pct": 0.02 * max(features.get("max_discount_pct", 0.0) - 10, 0.0),
        "tender_overdue": 0.10 * features.get("tender_overdue", 0.0),
        "backward_moves": 0.05 * features.get("backward_moves", 0.0),
    }


def _shares(pulls: Mapping[str, float], top: int = 3) -> list[tuple[str, float]]:
    positive = sorted(((name, value) for name, value in pulls.items() if value > 1e-9),
                      key=lambda item: -item[1])[:top]
    total = sum(value for _, value in positive)
    return [(REASONS.get(name, name), round(value / total, 3)) for name, value in positive]


def score(model: Model, sample: Sample) -> Score:
    if model.kind == "RULES" or not model.coef:
        penalties = _rule_penalties(sample.features)
        base = sample.features.get("stage_probability", 0.1)
        probability = min(max(base - sum(penalties.values()), 0.01), 0.99)
        return Score(round(probability, 4), _shares(penalties))
    x = np.array([float(sample.features.get(name, 0.0)) for name in model.features])
    z = (x - np.array(model.mean)) / np.array(model.scale)
    contributions = np.array(model.coef) * z
    logit = float(model.intercept + contributions.sum())
    probability = 1 / (1 + math.exp(-max(min(logit, 30.0), -30.0)))
    pulls = {name: -float(value) for name, value in zip(model.features, contributions,
                                                        strict=True)}
    return Score(round(probability, 4), _shares(pulls))


def _fit(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500, C=1.0, random_state=7).fit(x, y)


def _metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    return float(roc_auc_score(y, p)), float(brier_score_loss(y, p))


def train(samples: Sequence[Sample], *, minimum: int, extra: Sequence[str] = (),
          seed: int = 7) -> Model:
    """A logistic model with held-out metrics and a stage-only baseline, or RULES when there
    are too few closed deals (or one outcome only)."""
    closed = [s for s in samples if s.won is not None]
    outcomes = {s.won for s in closed}
    if len(closed) < minimum or len(outcomes) < 2:
        return Model("RULES", BASE_FEATURES, samples=len(closed))
    from sklearn.model_selection import train_test_split

    names = (*BASE_FEATURES, *extra)
    x, y = _matrix(closed, names), np.array([1 if s.won else 0 for s in closed])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y)
    if len(set(y_test)) < 2 or len(set(y_train)) < 2:
        return Model("RULES", BASE_FEATURES, samples=len(closed))
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    scale[scale == 0] = 1.0
    fitted = _fit((x_train - mean) / scale, y_train)
    auc, brier = _metrics(y_test, fitted.predict_proba((x_test - mean) / scale)[:, 1])
    stage_only = [names.index("stage_rank")]
    baseline = _fit(x_train[:, stage_only], y_train)
    base_auc, base_brier = _metrics(y_test, baseline.predict_proba(x_test[:, stage_only])[:, 1])
    # The stored model is refitted on every closed deal; the metrics are the held-out ones.
    full_mean, full_scale = x.mean(axis=0), x.std(axis=0)
    full_scale[full_scale == 0] = 1.0
    final = _fit((x - full_mean) / full_scale, y)
    return Model("LOGISTIC", tuple(names), tuple(float(c) for c in final.coef_[0]),
                 float(final.intercept_[0]), tuple(float(v) for v in full_mean),
                 tuple(float(v) for v in full_scale), len(closed), round(auc, 4),
                 round(brier, 4), round(base_auc, 4), round(base_brier, 4))


@dataclass(frozen=True)
class DealFacts:
    """What the features of one deal are computed from."""

    id: uuid.UUID
    status: str
    amount: float
    created_at: datetime
    moves: Sequence[tuple[str, datetime]]  # (to stage, when), oldest first
    max_discount_pct: float = 0.0
    has_tender: bool = False
    tender_overdue: int = 0
    extra: Mapping[str, float] = field(default_factory=dict)


def _cut(facts: DealFacts, closing: datetime) -> datetime:
    """A moment of a closed deal's open life to describe it at, fixed by its id: a model used
    on open deals of every stage learns from closed deals seen at every stage."""
    share = 0.1 + 0.8 * ((facts.id.int % 9973) / 9973)
    return facts.created_at + (closing - facts.created_at) * share


def sample(facts: DealFacts, ranks: Mapping[str, int], probabilities: Mapping[str, float],
           now: datetime) -> Sample | None:
    """An open deal as it stands now; a closed one as it stood at a moment of its open life
    (`_cut`). None without moves."""
    moves = list(facts.moves)
    closing = None
    if facts.status in ("WON", "LOST") and moves and moves[-1][0] in ("WON", "LOST"):
        closing = moves.pop()[1]
    until = now if closing is None else _cut(facts, closing)
    moves = [move for move in moves if move[1] <= until]
    if not moves:
        return None
    stage, entered = moves[-1]
    backward = sum(1 for (a, _), (b, _) in itertools.pairwise(moves)
                   if ranks.get(b, 0) < ranks.get(a, 0))
    features = {
        "stage_rank": float(ranks.get(stage, 0)),
        "stage_probability": float(probabilities.get(stage, 0.1)),
        "days_in_stage": max((until - entered).total_seconds() / 86400, 0.0),
        "age_days": max((until - facts.created_at).total_seconds() / 86400, 0.0),
        "log_amount": math.log1p(max(facts.amount, 0.0)),
        "max_discount_pct": facts.max_discount_pct,
        "has_tender": 1.0 if facts.has_tender else 0.0,
        "tender_overdue": float(facts.tender_overdue),
        "backward_moves": float(backward),
        **facts.extra,
    }
    won = None if closing is None else facts.status == "WON"
    return Sample(facts.id, features, won)
