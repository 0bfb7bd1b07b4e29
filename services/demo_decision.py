"""Demo buying committees: every demo group's holding gets a committee of 6–12 people with
reporting lines, influence ties, a champion and a blocker, and a year of interactions with its
salesperson — all through the ordinary use cases, so they are audited and projected and the
influence follower scores them. Deterministic for a seed."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from auth.actor import Actor
from auth.field_cipher import FieldCipher
from relational.uow import UnitOfWork
from services import committees, contacts, interactions, knows, relationships
from services.contacts import ContactDraft
from services.interactions import InteractionDraft
from services.relationships import RelationshipDraft
from services.vocabulary import InteractionChannel

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = ("建国", "志强", "海燕", "明", "晓东", "丽华", "国庆", "卫东", "静", "振华", "玉兰",
          "红梅", "立新", "文博", "子涵", "浩然", "思远", "雪松", "春生", "秀英")
# (title, committee roles, stance) in reporting order: the first is the decision maker.
_SEATS = (
    ("总经理", ("DECISION_MAKER",), "NEUTRAL"),
    ("总工程师", ("TECHNICAL_EVALUATOR", "INFLUENCER"), "SUPPORTER"),
    ("采购部经理", ("PROCUREMENT",), "OPPONENT"),
    ("财务总监", ("BUSINESS_EVALUATOR",), "NEUTRAL"),
    ("技术部主任", ("CHAMPION", "TECHNICAL_EVALUATOR"), "SUPPORTER"),
    ("办公室主任", ("GATEKEEPER",), "UNKNOWN"),
    ("生产部部长", ("USER",), "NEUTRAL"),
    ("质量部部长", ("INFLUENCER",), "NEUTRAL"),
    ("项目经理", ("USER",), "SUPPORTER"),
    ("工艺工程师", ("USER",), "UNKNOWN"),
    ("设备主管", ("USER",), "NEUTRAL"),
    ("副总经理", ("BUSINESS_EVALUATOR", "INFLUENCER"), "OPPONENT"),
)
_SUBJECTS = ("年度合作回顾", "新品技术交流", "投标澄清", "交付进度沟通", "质量问题处理",
             "价格谈判", "样品试用反馈", "展会洽谈")


def group_tops(parents: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> list[uuid.UUID]:
    """Holdings at the top of each group: shareholders that nobody holds (parent, child)."""
    children = {child for _, child in parents}
    return sorted({parent for parent, _ in parents if parent not in children})


async def _people(uow: UnitOfWork, owner: Actor, cipher: FieldCipher, account_id: uuid.UUID,
                  rng: random.Random, size: int) -> list[uuid.UUID]:
    made = []
    for title, _, _ in _SEATS[:size]:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"  # a mobile number's shape
        made.append((await contacts.create(uow, owner, cipher, account_id, ContactDraft(
            name=name, title=title, phone=phone))).id)
    return made


async def _ties(uow: UnitOfWork, owner: Actor, people: list[uuid.UUID], rng: random.Random,
                since: date, today: date) -> None:
    for n, person in enumerate(people[1:], start=1):  # an org chart under the decision maker
        await relationships.create(uow, owner, RelationshipDraft(
            "REPORTS_TO", person, people[(n - 1) // 3], valid_from=since), today)
    pairs = {(4, 0, 0.8), (2, 0, 0.6), (1, 4, 0.7), (3, 2, 0.5)}  # champion, blocker, …
    pairs |= {(rng.randrange(5, len(people)), rng.randrange(0, 5), 0.3) for _ in range(2)}
    for source, target, weight in sorted(pairs):
        if source != target:
            await relationships.create(uow, owner, RelationshipDraft(
                "INFLUENCES", people[source], people[target],
                weight=round(weight + rng.uniform(-0.1, 0.1), 2), valid_from=since,
                evidence="演示数据"), today)


async def _interactions(uow: UnitOfWork, owner: Actor, cipher: FieldCipher,
                        account_id: uuid.UUID, people: list[uuid.UUID], rng: random.Random,
                        today: date) -> None:
    channels = list(InteractionChannel)
    # The salesperson works through the champion and the engineers; the decision maker only
    # now and then, and the blocker never.
    reachable = [people[n] for n in (1, 4, 5, 6) if n < len(people)]
    met_any: set[uuid.UUID] = set()
    for n in range(14):
        met = [rng.choice(reachable)] + ([people[0]] if n % 5 == 0 else [])
        met_any.update(met)
        at = datetime.combine(today - timedelta(days=rng.randrange(1, 365)), time(2), UTC)
        await interactions.log(uow, owner, cipher, InteractionDraft(
            account_id=account_id, contact_ids=list(dict.fromkeys(met)),
            channel=rng.choice(channels).value, direction=rng.choice(("INBOUND", "OUTBOUND")),
            occurred_at=at + timedelta(minutes=rng.randrange(600)),
            subject=rng.choice(_SUBJECTS), notes="演示数据：洽谈要点"), today, refresh=False)
    if owner.user_id is not None:
        await knows.refresh(uow, owner.user_id, sorted(met_any), today)


async def seed_committees(uow: UnitOfWork, cipher: FieldCipher,
                          owners: Mapping[uuid.UUID, Actor],
                          parents: Sequence[tuple[uuid.UUID, uuid.UUID]],
                          today: date, seed: int = 2026) -> int:
    """A committee for each group's holding; returns the number of committees."""
    rng = random.Random(seed)
    since = today - timedelta(days=365)
    tops = group_tops(parents)
    for account_id in tops:
        owner = owners[account_id]
        size = rng.randrange(6, 13)
        people = await _people(uow, owner, cipher, account_id, rng, size)
        for person, (_, roles, stance) in zip(people, _SEATS, strict=False):
            await committees.add(uow, owner, account_id, person, roles[0], roles[1:], stance,
                                 None, today, since)
        await _ties(uow, owner, people, rng, since, today)
        await _interactions(uow, owner, cipher, account_id, people, rng, today)
    return len(tops)
