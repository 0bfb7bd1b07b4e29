"""Demo customer operations: engineers and the holiday calendar, tag rules in use, a year of
tickets (some breached and escalated), campaigns with members, tasks due today for every demo
user. Seeded through the ordinary use cases, in the demo seed's unit of work."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from auth.actor import Actor
from relational.operations_models import CalendarDay, ServiceEngineer
from relational.uow import UnitOfWork
from services import campaigns, tag_rules, tasks, tickets
from services.calendar import CHINA
from services.tickets import TicketDraft
from services.vocabulary import CAMPAIGN_RESPONSES, TICKET_CATEGORIES

HOLIDAYS = {  # 2026 public holidays (False) and make-up working days (True)
    date(2026, 1, 1): (False, "元旦"), date(2026, 2, 16): (False, "春节"),
    date(2026, 2, 17): (False, "春节"), date(2026, 2, 18): (False, "春节"),
    date(2026, 2, 19): (False, "春节"), date(2026, 2, 20): (False, "春节"),
    date(2026, 2, 14): (True, "春节调休"), date(2026, 4, 6): (False, "清明节"),
    date(2026, 5, 1): (False, "劳动节"), date(2026, 5, 4): (False, "劳动节"),
    date(2026, 5, 5): (False, "劳动节"), date(2026, 6, 19): (False, "端午节"),
    date(2026, 9, 25): (False, "中秋节"), date(2026, 10, 1): (False, "国庆节"),
    date(2026, 10, 2): (False, "国庆节"), date(2026, 10, 5): (False, "国庆节"),
    date(2026, 10, 6): (False, "国庆节"), date(2026, 10, 7): (False, "国庆节"),
    date(2026, 10, 10): (True, "国庆调休"),
}
RULES = (
    ("重点大客户", "VALUE", "annualRevenue >= 500000000"),
    ("华东军工", "ATTRIBUTE", 'region = "华东" and lifecycleStage != "CHURNED"'),
    ("服务频繁", "BEHAVIOUR", "tickets(days: 365) >= 3"),
    ("投诉关注", "BEHAVIOUR", 'tickets(category: "投诉", days: 180) >= 1'),
)
SUBJECTS = ("雷达显控台无法启动", "备件更换申请", "现场安装调试", "操作培训", "交付延期投诉",
            "固件升级咨询", "天线伺服告警")


async def seed_operations(uow: UnitOfWork, people: dict[str, Actor],
                          account_ids: list[uuid.UUID], now: datetime) -> dict[str, int]:
    rng = random.Random(9)
    uow.session.add_all([CalendarDay(day=day, working=working, name=name)
                         for day, (working, name) in HOLIDAYS.items()])
    lead, head = people["manager.east"].user_id, people["admin"].user_id
    for username, regions in (("service", []), ("sales.north", ["华北", "东北", "西北"])):
        uow.session.add(ServiceEngineer(user_id=people[username].user_id,
                                        skills=list(TICKET_CATEGORIES), regions=regions,
                                        capacity=40, team_lead_id=lead,
                                        department_head_id=head, active=True))
    await uow.session.flush()
    made = await _tickets(uow, people, account_ids, now, rng)
    for name, layer, expression in RULES:
        # Evaluated by the job each enabled rule defers.
        await tag_rules.create(uow, people["admin"], name=name, layer=layer,
                               expression=expression, enabled=True)
    await campaigns.create(uow, people["admin"], name="流失挽回", budget=Decimal(200000),
                           currency="CNY", segment='lifecycleStage = "CHURNED"',
                           cost=Decimal(35000), now=now)
    fair = await campaigns.create(uow, people["admin"], name="华东防务展",
                                  budget=Decimal(500000), currency="CNY",
                                  segment='region = "华东" and annualRevenue > 100000000',
                                  cost=Decimal(420000), now=now)
    await _responses(uow, people["admin"], fair.id, now, rng)
    today = datetime.combine(now.astimezone(CHINA).date(), datetime.min.time(), CHINA)
    for username, actor in people.items():
        if actor.user_id is not None:
            tasks.create(uow, user_id=actor.user_id, kind="care", title=f"今日回访 ({username})",
                         due_at=today + timedelta(hours=17))
    return {"tickets": made, "rules": len(RULES), "campaigns": 2}


async def _responses(uow: UnitOfWork, admin: Actor, campaign_id: uuid.UUID, now: datetime,
                     rng: random.Random) -> None:
    """The fair's members at every step of the funnel (one in five has not answered)."""
    found = await campaigns.members_in(uow, admin, campaign_id)
    for index, account_id in enumerate(found):
        if index % 5 == 4:
            continue
        await campaigns.respond(uow, admin, campaign_id=campaign_id, account_id=account_id,
                                response=CAMPAIGN_RESPONSES[index % len(CAMPAIGN_RESPONSES)],
                                note="展台洽谈" if index % 3 == 0 else None,
                                now=now - timedelta(days=rng.uniform(0, 20)))


async def _tickets(uow: UnitOfWork, people: dict[str, Actor], account_ids: list[uuid.UUID],
                   now: datetime, rng: random.Random) -> int:
    """Two dozen tickets over the last year: most closed with feedback, a few left open past
    their deadline (their timers breach and escalate them when the worker runs)."""
    desk = people["admin"]
    count = 0
    for index in range(24):
        opened = now - timedelta(days=rng.uniform(1, 365))
        ticket = await tickets.create(uow, desk, TicketDraft(
            account_id=rng.choice(account_ids), category=rng.choice(TICKET_CATEGORIES),
            priority=rng.choice(("URGENT", "HIGH", "NORMAL", "NORMAL", "LOW")),
            channel=rng.choice(("PHONE", "EMAIL", "PORTAL", "WECHAT")),
            subject=rng.choice(SUBJECTS), description="演示数据"), opened)
        count += 1
        if index % 8 == 0 or ticket.state == "NEW":
            continue  # stays open: breached once its timers run
        step, version = opened, ticket.version
        for state in ("IN_PROGRESS", "RESOLVED", "CLOSED"):
            step += timedelta(hours=rng.uniform(0.5, 30))
            version = (await tickets.transition(uow, desk, ticket.id, state, version, None,
                                                step)).version
        await tickets.feedback(uow, desk, ticket.id, rng.choice((3, 4, 4, 5, 5)), None,
                               step + timedelta(hours=2))
    return count
