"""Long commands show progress and stop promptly on Ctrl-C: `crm graph rebuild` in a
subprocess (plain progress lines with rate and ETA, as in a log file), interrupted with SIGINT
mid-run, then run to its end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from settings import Settings
from tests.conftest import Api

ACCOUNTS = 6_000
CRM = str(Path(sys.executable).parent / "crm")


async def _many_accounts(api: Api) -> None:
    async with api.stores.ledger.sessionmaker() as session:
        from sqlalchemy import text

        await session.execute(text(
            "INSERT INTO accounts (id, name, uscc, region, industry, lifecycle_stage) "
            "SELECT gen_random_uuid(), '进度测试 ' || i, lpad(i::text, 18, '0'), '华东', "
            "'测试', 'POTENTIAL' FROM generate_series(1, :n) AS i"), {"n": ACCOUNTS})
        await session.commit()


def _rebuild(settings: Settings) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": settings.database_url or "",
           "GRAPH_URL": settings.graph_url or "", "GRAPH_NAME": "progress_test",
           "LOG_FORMAT": "json"}
    return subprocess.Popen([CRM, "graph", "rebuild"], env=env, text=True,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _interrupt_after_first_progress(process: subprocess.Popen[str]) -> tuple[float, str]:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("graph rebuild:"):
            break
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, rest = process.communicate(timeout=30)
    return time.monotonic() - sent, "".join(seen) + rest


async def test_rebuild_shows_progress_and_stops_promptly_on_ctrl_c(
        api: Api, settings: Settings) -> None:
    await _many_accounts(api)
    process = _rebuild(settings)
    waited, output = await asyncio.to_thread(_interrupt_after_first_progress, process)
    assert process.returncode == 130, output
    assert "graph rebuild:   0.0% 0/6000" in output
    assert ("interrupted: nothing in the ledger changed; the graph is incomplete until "
            "`crm graph rebuild` runs again") in output
    print(f"\nstopped {waited:.2f} s after SIGINT", flush=True)  # reported, not asserted

    process = _rebuild(settings)
    out, err = await asyncio.to_thread(process.communicate, timeout=300)
    assert process.returncode == 0, err
    assert "graph rebuilt: 6000 accounts, 0 contacts, 0 ownerships" in out
    lines = [line for line in err.splitlines() if line.startswith("graph rebuild:")]
    assert lines[-1].startswith("graph rebuild: 100.0% 6000/6000")
    assert all("/s ETA" in line for line in lines)
