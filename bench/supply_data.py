"""Synthetic data of the supply bench, pure and deterministic: a layered supply web (raw
materials → components → subsystems → systems → integrators → end customers) and one deep
company group.

The web: accounts split into six layers; every account above the first buys from 2-4
suppliers of the layer below, drawn from a window of neighbours (suppliers cluster, as they
do around an industry and a region), with a criticality and shares of its need that add up
to at most 100 %. The group: one holding, a spine down to the deepest level, every other
company hung below a random member above the last level, stakes of 51-100 %.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from decimal import Decimal

from bench.dataset import new_uuid

LAYERS = 6
_WINDOW = 40  # how far (in positions of the layer below) a buyer looks for suppliers
_CRITICALITIES = ("LOW", "MEDIUM", "HIGH", "SOLE_SOURCE")
_CRITICALITY_WEIGHTS = (30, 35, 25, 10)
PRODUCTS = ("钛合金棒材", "碳纤维预浸料", "FPGA", "射频芯片", "精密轴承", "伺服电机",
            "T/R组件", "惯导模块", "电源模块", "线缆组件", "雷达天线", "机载计算机")


@dataclass(frozen=True)
class Supplies:
    """One SUPPLIES relationship row: supplier → buyer."""

    id: str
    supplier_id: str
    buyer_id: str
    criticality: str
    share_pct: Decimal
    products: tuple[str, ...]


@dataclass(frozen=True)
class Ownership:
    parent_id: str
    child_id: str
    share_pct: Decimal


@dataclass(frozen=True)
class SupplyWeb:
    layers: list[list[str]]  # account ids per layer, suppliers of layer k+1 in layer k
    edges: list[Supplies]


def _shares(rng: random.Random, count: int) -> list[Decimal]:
    """Shares of one buyer's need for `count` suppliers: positive, two decimals, sum ≤ 100."""
    cuts = sorted(rng.randint(1, 9999) for _ in range(count - 1))
    bounds = [0, *cuts, 10000]
    covered = rng.randint(70, 100)
    return [(Decimal((high - low) * covered) / 10000).quantize(Decimal("0.01"))
            for low, high in itertools.pairwise(bounds)]


def supply_web(ids: list[str], seed: int) -> SupplyWeb:
    rng = random.Random(f"{seed}:supply")
    size = len(ids) // LAYERS
    layers = [ids[layer * size:(layer + 1) * size] for layer in range(LAYERS)]
    edges: list[Supplies] = []
    for below, layer in itertools.pairwise(layers):
        for position, buyer in enumerate(layer):
            start = max(0, min(position - _WINDOW // 2, len(below) - _WINDOW))
            suppliers = rng.sample(below[start:start + _WINDOW], rng.randint(2, 4))
            for supplier, share in zip(suppliers, _shares(rng, len(suppliers)), strict=True):
                criticality = rng.choices(_CRITICALITIES, _CRITICALITY_WEIGHTS)[0]
                edges.append(Supplies(new_uuid(rng), supplier, buyer, criticality, share,
                                      tuple(rng.sample(PRODUCTS, rng.randint(1, 2)))))
    return SupplyWeb(layers, edges)


def deep_group(ids: list[str], levels: int, seed: int) -> list[Ownership]:
    """`ids[0]` the holding; every company owned by one parent, `levels` levels below it."""
    rng = random.Random(f"{seed}:group")
    level = [0] * len(ids)
    edges = []
    for index in range(1, len(ids)):
        parent = index - 1 if index <= levels else rng.randrange(index)
        while level[parent] >= levels:
            parent = rng.randrange(index)
        level[index] = level[parent] + 1
        share = Decimal(rng.randint(5100, 10000)).scaleb(-2)
        edges.append(Ownership(ids[parent], ids[index], share))
    return edges
