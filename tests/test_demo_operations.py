"""The demo seed's customer operations: rules and tags in use, a year of tickets with breaches
and escalations once the timers run, campaigns with members, tasks due today for everyone."""

from __future__ import annotations

from sqlalchemy import text

from composition import Runtime
from services.demo import seed_demo
from tests.conftest import reset
from tests.jobs_helpers import run_jobs_until_idle


async def scalar(runtime: Runtime, sql: str) -> int:
    async with runtime.stores.read() as session:
        return int(await session.scalar(text(sql)) or 0)


async def test_the_demo_seed_has_operations_in_use(runtime: Runtime) -> None:
    await reset(runtime.stores, runtime.projector)
    result = await seed_demo(runtime.stores.ledger, runtime.stores.cipher)
    assert result.seeded
    await run_jobs_until_idle(runtime, now=runtime.stores.clock.now())
    assert await scalar(runtime, "SELECT count(*) FROM tickets") == 24
    assert await scalar(runtime, "SELECT count(*) FROM tickets WHERE state = 'CLOSED' AND "
                                 "feedback_score BETWEEN 1 AND 5") == await scalar(
        runtime, "SELECT count(*) FROM tickets WHERE state = 'CLOSED'")
    assert await scalar(runtime, "SELECT count(*) FROM tickets WHERE breached") >= 2
    assert await scalar(runtime, "SELECT count(*) FROM tickets WHERE escalation_level = 2") >= 1
    assert await scalar(runtime, "SELECT count(DISTINCT rule_id) FROM account_tags") >= 3
    assert await scalar(runtime, "SELECT count(*) FROM campaign_members") > 0
    assert await scalar(runtime, "SELECT count(DISTINCT response) FROM campaign_members") >= 2
    assert await scalar(runtime, "SELECT count(DISTINCT user_id) FROM user_tasks "
                                 "WHERE kind = 'care'") == 7
    assert await scalar(runtime, "SELECT count(*) FROM accounts WHERE value_tier IS NULL") == 0
    assert await scalar(runtime, "SELECT count(*) FROM procrastinate_jobs "
                                 "WHERE status = 'failed'") == 0
