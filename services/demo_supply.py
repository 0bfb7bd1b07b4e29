"""The demo supply web: who supplies whom across the demo groups, and one disrupted supplier,
so `make run` shows meaningful supply chains and an exposure.

Industries make the tiers: special materials and chips (tier 0) supply precision parts, test
equipment and software (tier 1), which supply defence electronics, radar and satellite
communication (tier 2), which supply the aerospace and naval system integrators (tier 3);
some buyers also buy straight from two tiers below. Suppliers are mostly drawn from other
groups than the buyer's. Every SUPPLIES edge is created through the relationships use case
(`relationshipCreate`'s path: validated, audited, projected), the disruption through
`services.supply`.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from auth.actor import Actor
from relational.uow import UnitOfWork
from services import clock, relationships, supply
from services.demo_data import DemoDataset
from services.relationships import RelationshipDraft

TIERS = (
    ("特种材料", "集成电路"),
    ("精密制造", "测试测量", "军工软件"),
    ("国防电子", "雷达与电子对抗", "卫星通信"),
    ("航空航天", "船舶装备"),
)
PRODUCTS = (
    ("钛合金棒材", "碳纤维预浸料", "高温合金", "FPGA", "射频芯片", "功率器件"),
    ("精密轴承", "伺服机构", "综合测试仪", "嵌入式软件", "结构件"),
    ("T/R组件", "雷达天线", "惯导模块", "卫星终端", "电子对抗单元"),
)
_CRITICALITIES = ("LOW", "MEDIUM", "HIGH", "SOLE_SOURCE")
_WEIGHTS = (25, 35, 28, 12)
DISRUPTION_REASON = "主要生产线火灾停产，预计恢复需两个月"


@dataclass(frozen=True)
class DemoSupply:
    supplier_key: str
    buyer_key: str
    criticality: str
    share_pct: Decimal
    products: tuple[str, ...]
    valid_from: date
    valid_to: date | None  # a few contracts have ended: the web looked different before


@dataclass(frozen=True)
class SupplyPlan:
    edges: tuple[DemoSupply, ...]
    disrupted_key: str  # the tier-0 supplier with the most buyers
    disrupted_since: date


def _tier_of(industry: str) -> int | None:
    return next((tier for tier, names in enumerate(TIERS) if industry in names), None)


def _shares(rng: random.Random, count: int) -> list[Decimal]:
    """Shares of one buyer's need (two decimals), together 60-100 %."""
    cuts = sorted(rng.sample(range(5, 96), count - 1))
    parts = [high - low for low, high in zip([0, *cuts], [*cuts, 100], strict=True)]
    covered = Decimal(rng.randint(60, 100)) / 100
    return [(Decimal(part) * covered).quantize(Decimal("0.01")) for part in parts]


def plan_supply(data: DemoDataset, today: date, seed: int = 2026) -> SupplyPlan:
    rng = random.Random(f"{seed}:supply")
    tiers: dict[int, list[str]] = {tier: [] for tier in range(len(TIERS))}
    for account in data.accounts:
        tier = _tier_of(account.industry)
        if tier is not None:
            tiers[tier].append(account.key)
    group = _groups(data)
    edges: list[DemoSupply] = []
    for tier in range(1, len(TIERS)):
        for buyer in tiers[tier]:
            if rng.random() < 0.25:  # buys from suppliers outside our accounts
                continue
            pool = tiers[tier - 1] + (tiers[tier - 2] if tier >= 2 and rng.random() < 0.3
                                      else [])
            foreign = [key for key in pool if group[key] != group[buyer]] or pool
            chosen = rng.sample(foreign, min(len(foreign), rng.choice((1, 1, 2, 3))))
            for supplier, share in zip(chosen, _shares(rng, len(chosen)), strict=True):
                edges.append(_edge(rng, supplier, buyer, share, tiers, today))
    busiest = Counter(edge.supplier_key for edge in edges
                      if edge.supplier_key in tiers[0]).most_common(1)[0][0]
    return SupplyPlan(tuple(edges), busiest, today - timedelta(days=3))


def _edge(rng: random.Random, supplier: str, buyer: str, share: Decimal,
          tiers: dict[int, list[str]], today: date) -> DemoSupply:
    level = next(tier for tier, keys in tiers.items() if supplier in keys)
    start = today - timedelta(days=rng.randint(120, 1500))
    ended = rng.random() < 0.06
    return DemoSupply(
        supplier_key=supplier, buyer_key=buyer,
        criticality=rng.choices(_CRITICALITIES, _WEIGHTS)[0], share_pct=share,
        products=tuple(rng.sample(PRODUCTS[level], rng.randint(1, 2))),
        valid_from=start, valid_to=today - timedelta(days=rng.randint(10, 90)) if ended
        else None)


def _groups(data: DemoDataset) -> dict[str, str]:
    """Each account's group: the top of its chain of first shareholders (itself if none)."""
    parent: dict[str, str] = {}
    for link in data.ownerships:
        parent.setdefault(link.child_key, link.parent_key)
    top: dict[str, str] = {}
    for account in data.accounts:
        node = account.key
        while node in parent:
            node = parent[node]
        top[account.key] = node
    return top


async def seed_supply(uow: UnitOfWork, actor: Actor, data: DemoDataset,
                      ids: dict[str, uuid.UUID]) -> int:
    """Create the planned web as `actor` (who must see every account) and mark its busiest
    raw-material supplier disrupted; the number of SUPPLIES edges."""
    today = clock.today()
    plan = plan_supply(data, today)
    for edge in plan.edges:
        await relationships.create(uow, actor, RelationshipDraft(
            kind="SUPPLIES", from_id=ids[edge.supplier_key], to_id=ids[edge.buyer_key],
            criticality=edge.criticality, share=edge.share_pct, products=edge.products,
            valid_from=edge.valid_from, valid_to=edge.valid_to,
            evidence="年度采购框架协议"), today)
    await supply.mark_disrupted(uow, actor, ids[plan.disrupted_key], DISRUPTION_REASON,
                                plan.disrupted_since, on=today)
    return len(plan.edges)
