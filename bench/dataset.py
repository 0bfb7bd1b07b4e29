"""A large, valid, deterministic dataset of companies: accounts and ownership groups as rows.

Pure: no I/O. Names are `{city}{brand}{domain}{suffix}` from word lists, so every brand and
domain word is a two-character substring matching a predictable share of the names.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from services.demo_data import CITIES, INDUSTRIES, TAGS, City
from services.uscc import make_uscc
from services.vocabulary import LIFECYCLE_STAGES


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BRANDS = _words(
    "华宇 中科 航天 金盾 海光 天成 东方 长城 神舟 北斗 星河 凌云 鼎信 华通 瑞达 宏远 恒信 联创 "
    "博远 九州 远望 昆仑 泰山 长江 黄河 天元 启明 曙光 银河 飞鸿 铁塔 精工 锐捷 宇航 国芯 紫光 "
    "晨光 先锋 国盛 永安 兴华 振华 新华 建元 安邦 天虹 华泰 海鹰 雄鹰 龙腾 云帆 蓝海 金桥 红旗 "
    "中盛 鑫源 和利 合众 同方 开元"
)
DOMAINS = _words(
    "电子 光电 精密 通信 材料 装备 软件 仪器 机械 微波 雷达 导航 卫星 动力 能源 化工 船舶 航空 "
    "智能 信息 系统 测控 传感 激光 声学 物联 数据 安全 控制 芯片"
)
SUFFIXES = ("科技有限公司", "有限公司", "股份有限公司", "技术有限公司", "制造有限公司",
            "工程有限公司", "研究院有限公司")
SEARCH_TERMS = BRANDS + DOMAINS

_STAGE_WEIGHTS = (20, 25, 35, 10, 10)


class AccountRow(NamedTuple):
    id: str
    name: str
    uscc: str
    region: str
    industry: str
    lifecycle_stage: str
    tags: str  # a Postgres array literal
    annual_revenue: str


class EdgeRow(NamedTuple):
    id: str
    kind: str
    source_id: str  # the shareholder
    target_id: str  # the owned company
    share_pct: str


@dataclass(frozen=True)
class Companies:
    """Rows in COPY text format (bytes pickle cheaply out of a worker process) and the figures
    the scenarios need."""

    accounts: bytes
    edges: bytes
    counts: dict[str, int]
    grouped: list[str]  # ids of accounts inside a group (with a parent or a child)


def new_uuid(rng: random.Random) -> str:
    bits = rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)
    text = f"{bits | 0x4000 << 64 | 0x8000 << 48:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def account_ids(count: int, seed: int) -> list[str]:
    """The accounts' ids, drawn apart from the rest so contact workers can start at once."""
    rng = random.Random(f"{seed}:ids")
    return [new_uuid(rng) for _ in range(count)]


def copy_text(rows: Iterable[Sequence[str | None]]) -> bytes:
    """COPY text format (None is NULL); no value holds a tab, newline or backslash."""
    return "".join("\t".join(r"\N" if value is None else value for value in row) + "\n"
                   for row in rows).encode()


def _names(rng: random.Random, count: int) -> Iterator[tuple[str, City]]:
    """(name, city) pairs, unique while the word lists last, then numbered."""
    combos = len(CITIES) * len(BRANDS) * len(DOMAINS) * len(SUFFIXES)
    for index in range(count):
        if index % combos == 0:
            order = rng.sample(range(combos), min(combos, count - index))
        rest, suffix = divmod(order[index % combos], len(SUFFIXES))
        rest, domain = divmod(rest, len(DOMAINS))
        city, brand = divmod(rest, len(BRANDS))
        lap = index // combos
        number = str(lap + 1) if lap else ""
        place = CITIES[city]
        yield f"{place.name}{BRANDS[brand]}{DOMAINS[domain]}{number}{SUFFIXES[suffix]}", place


def _accounts(rng: random.Random, ids: list[str]) -> list[AccountRow]:
    seen: set[str] = set()
    rows = []
    for account_id, (name, city) in zip(ids, _names(rng, len(ids)), strict=True):
        code = make_uscc(rng, division=city.division)
        while code in seen:
            code = make_uscc(rng, division=city.division)
        seen.add(code)
        revenue = Decimal(round(10 ** rng.uniform(6, 10.5) * 100)).scaleb(-2)
        tags = ",".join(tag for tag in TAGS if rng.random() < 0.15)
        rows.append(AccountRow(
            account_id, name, code, city.region, rng.choice(INDUSTRIES),
            rng.choices(LIFECYCLE_STAGES, _STAGE_WEIGHTS)[0], f"{{{tags}}}", str(revenue)))
    return rows


def _share(rng: random.Random, low: int, high: int) -> Decimal:
    """A stake between low and high per cent, two decimals."""
    return Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)


def _group(rng: random.Random, members: list[str]) -> list[EdgeRow]:
    """One group: a holding on top, a chain down to the deepest level, the rest hung below
    random members; some companies get a minority shareholder from a level above."""
    levels = min(rng.choice((2, 3, 3, 4, 4, 5, 5, 6)), len(members))
    level = [0] * len(members)
    edges = []
    for index in range(1, len(members)):
        if index < levels:
            parent = index - 1
        else:
            parent = rng.choice([i for i in range(index) if level[i] < levels - 1])
        level[index] = level[parent] + 1
        share = _share(rng, 51, 100)
        edges.append(EdgeRow(new_uuid(rng), "OWNS", members[parent], members[index], str(share)))
        above = [i for i in range(index) if level[i] < level[index] and i != parent]
        if share <= 95 and above and rng.random() < 0.3:
            second = _share(rng, 1, int(100 - share))
            holder = members[rng.choice(above)]
            edges.append(EdgeRow(new_uuid(rng), "OWNS", holder, members[index], str(second)))
    return edges


def _groups(rng: random.Random, accounts: list[AccountRow]) -> tuple[int, list[str],
                                                                     list[EdgeRow]]:
    """Groups of 3-13 companies (8 on average) covering about 80 % of the accounts."""
    ids = [account.id for account in accounts]
    rng.shuffle(ids)
    budget = len(ids) * 8 // 10
    edges: list[EdgeRow] = []
    grouped: list[str] = []
    groups = 0
    while len(grouped) + 3 <= budget:
        size = min(rng.randint(3, 13), budget - len(grouped))
        members = ids[len(grouped):len(grouped) + size]
        edges.extend(_group(rng, members))
        grouped.extend(members)
        groups += 1
    return groups, grouped, edges


def companies(ids: list[str], seed: int) -> Companies:
    rng = random.Random(seed)
    account_rows = _accounts(rng, ids)
    groups, grouped, edges = _groups(rng, account_rows)
    counts = {"accounts": len(account_rows), "ownerships": len(edges), "groups": groups}
    return Companies(copy_text(account_rows), copy_text(edges), counts, grouped)
