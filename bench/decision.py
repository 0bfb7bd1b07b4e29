"""Decision-map benchmark: a synthetic relationship graph — people (contacts), ten edges per
person (INFLUENCES, REPORTS_TO, KNOWS from our staff), one committee per five people (twenty
of them with 30 members) — and the figures of issue 7:

- full influence recompute (services.influence.recompute_all; target ≤ 10 s at full size),
- one committee's recompute after one edge changed (≤ 50 ms),
- decisionMap p95 for a 30-member committee (≤ 50 ms),
- introductionPaths p95 at maxHops 4 (≤ 100 ms).

The use cases are timed directly (the HTTP layer's fixed cost is the main bench's figure).
Full size is 100,000 people / 1,000,000 edges / 20,000 committees: `make bench SCALE=100000`
(or BENCH_DECISION_PEOPLE=100000); by default 10,000 people, which builds in seconds.
`python -m bench.decision` runs this benchmark alone.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import psycopg

from auth.actor import Actor, Clearance, DataScope
from auth.roles import PERMISSIONS
from bench.config import BenchConfig, progress
from bench.seed import conninfo
from bench.stores import app_settings, direct_stores, stores_up
from relational.migrate import upgrade
from relational.repositories.committees import Key
from services import clock, decision_maps, influence, introductions
from services.stores import Stores

ROLES = ("TECHNICAL_EVALUATOR", "BUSINESS_EVALUATOR", "PROCUREMENT", "GATEKEEPER",
         "INFLUENCER", "CHAMPION", "USER")
BIG_COMMITTEES, BIG_SIZE, BATCH = 20, 30, 10_000
SINCE = "2025-01-01"


def people_count() -> int:
    given = os.environ.get("BENCH_DECISION_PEOPLE", "").strip()
    if given:
        return max(int(given), 1000)
    scale = os.environ.get("BENCH_SCALE", "").replace(",", " ").split()
    return max(int(part.replace("_", "")) for part in scale) if scale else 10_000


def _seed_ledger(database_url: str, people: int, rng: random.Random
                 ) -> tuple[list[uuid.UUID], list[tuple[uuid.UUID, uuid.UUID]]]:
    """Staff users, one account per committee, the contacts and the committees (SQL)."""
    committees, staff = people // 5, max(10, people // 500)
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.execute("""INSERT INTO users (id, username, display_name, password_hash, clearance,
                        roles) SELECT gen_random_uuid(), 'bench.staff' || n, '员工' || n, 'x',
                        'CONFIDENTIAL', '{admin}' FROM generate_series(1, %s) n""", (staff,))
        conn.execute("""INSERT INTO accounts (id, name, uscc, region, industry, lifecycle_stage)
                        SELECT gen_random_uuid(), '客户' || n, lpad(n::text, 18, '0'), '华东',
                        '机械', 'POTENTIAL' FROM generate_series(1, %s) n""", (committees,))
        conn.execute("""INSERT INTO contacts (id, account_id, name)
                        SELECT gen_random_uuid(), a.id, '联系人' || n
                        FROM generate_series(0, %s - 1) n
                        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts) a
                          ON a.k = n %% %s""", (people, committees))
        users = [row[0] for row in conn.execute("SELECT id FROM users WHERE username LIKE "
                                                "'bench.staff%%' ORDER BY id")]
        contacts = [(row[0], row[1]) for row in conn.execute(
            "SELECT id, account_id FROM contacts ORDER BY account_id, id")]
        members: list[tuple[uuid.UUID, uuid.UUID, list[str]]] = []
        first: set[uuid.UUID] = set()
        for contact_id, account_id in contacts:
            role = "DECISION_MAKER" if account_id not in first else rng.choice(ROLES)
            first.add(account_id)
            members.append((account_id, contact_id, [role]))
        accounts = sorted(first)
        for account_id in accounts[:BIG_COMMITTEES]:  # committees of 30
            others = [pair for pair in rng.sample(contacts, BIG_SIZE) if pair[1] != account_id]
            for contact_id, _ in others[:BIG_SIZE - 5]:
                members.append((account_id, contact_id, [rng.choice(ROLES)]))
        with conn.cursor().copy("COPY committee_members (id, account_id, contact_id, roles, "
                                "valid_from) FROM STDIN") as copy:
            for account_id, contact_id, roles in members:
                copy.write_row((uuid.uuid4(), account_id, contact_id, roles, SINCE))
    return users, contacts


def _edges(users: list[uuid.UUID], contacts: list[tuple[uuid.UUID, uuid.UUID]],
           rng: random.Random) -> dict[str, list[dict[str, object]]]:
    """Ten edges per person: REPORTS_TO the account's first person, ~7 INFLUENCES (half
    inside the account), 2 KNOWS from a staff user."""
    by_account: dict[uuid.UUID, list[str]] = {}
    for contact_id, account_id in contacts:
        by_account.setdefault(account_id, []).append(str(contact_id))
    ids = [str(contact_id) for contact_id, _ in contacts]
    edges: dict[str, list[dict[str, object]]] = {"REPORTS_TO": [], "INFLUENCES": [],
                                                 "KNOWS": []}
    for people in by_account.values():
        for person in people[1:]:
            edges["REPORTS_TO"].append({"id": str(uuid.uuid4()), "f": person, "t": people[0]})
    account_of = {str(contact_id): account_id for contact_id, account_id in contacts}
    for n in range(int(len(ids) * 7.2)):
        source = rng.choice(ids)
        target = rng.choice(by_account[account_of[source]] if n % 2 else ids)
        if source != target:
            edges["INFLUENCES"].append({"id": str(uuid.uuid4()), "f": source, "t": target,
                                        "w": round(rng.uniform(0.1, 1.0), 2)})
    staff = [str(user) for user in users]
    for _ in range(len(ids) * 2):
        edges["KNOWS"].append({"id": str(uuid.uuid4()), "f": rng.choice(staff),
                               "t": rng.choice(ids), "w": round(rng.uniform(0.05, 1.0), 3)})
    return edges


_NODES = {"Contact": "UNWIND $rows AS r CREATE (:Contact {id: r.id, accountId: r.a})",
          "User": "UNWIND $rows AS r CREATE (:User {id: r.id})"}
_CREATE = {
    "REPORTS_TO": "UNWIND $rows AS r MATCH (a:Contact {id: r.f}), (b:Contact {id: r.t}) "
                  "CREATE (a)-[:REPORTS_TO {id: r.id, validFrom: $since}]->(b)",
    "INFLUENCES": "UNWIND $rows AS r MATCH (a:Contact {id: r.f}), (b:Contact {id: r.t}) "
                  "CREATE (a)-[:INFLUENCES {id: r.id, weight: r.w, validFrom: $since}]->(b)",
    "KNOWS": "UNWIND $rows AS r MATCH (a:User {id: r.f}), (b:Contact {id: r.t}) "
             "CREATE (a)-[:KNOWS {id: r.id, strength: r.w, manual: false, "
             "validFrom: $since}]->(b)",
}


async def _load_graph(stores: Stores, users: list[uuid.UUID],
                      contacts: list[tuple[uuid.UUID, uuid.UUID]],
                      edges: dict[str, list[dict[str, object]]]) -> None:
    graph = stores.graph
    await graph.clear()
    await graph.ensure_schema()
    nodes: dict[str, list[dict[str, object]]] = {
        "Contact": [{"id": str(c), "a": str(a)} for c, a in contacts],
             "User": [{"id": str(u)} for u in users]}
    for label, rows in nodes.items():
        for start in range(0, len(rows), BATCH):
            await graph.write(_NODES[label], {"rows": rows[start:start + BATCH]})
    for kind, rows in edges.items():
        for start in range(0, len(rows), BATCH):
            await graph.write(_CREATE[kind], {"rows": rows[start:start + BATCH],
                                              "since": SINCE})


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"


async def _timed(times: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    found = []
    for n in range(times):
        started = time.perf_counter()
        await call(n)
        found.append((time.perf_counter() - started) * 1000)
    return found


async def _measure(stores: Stores, users: list[uuid.UUID],
                   contacts: list[tuple[uuid.UUID, uuid.UUID]], rng: random.Random,
                   today: date) -> list[str]:
    actor = Actor(kind="user", user_id=users[0], username="bench.staff",
                  permissions=frozenset(PERMISSIONS), scope=DataScope.ALL,
                  clearance=Clearance.CONFIDENTIAL)
    accounts = sorted({account for _, account in contacts})
    progress("decision maps: full influence recompute")
    started = time.perf_counter()
    count = await influence.recompute_all(stores.ledger, stores.graph, today)
    full = time.perf_counter() - started
    lines = [f"full influence recompute      {count:,} committees in {full:6.2f} s "
             f"(target ≤ 10 s at 20,000)"]

    members = {a: [str(c) for c, owner in contacts if owner == a] for a in accounts[:50]}

    async def changed(n: int) -> None:
        account = accounts[n % 50]
        first, second = members[account][:2]
        await stores.graph.write(_CREATE["INFLUENCES"], {"rows": [
            {"id": str(uuid.uuid4()), "f": second, "t": first, "w": 0.5}], "since": SINCE})
        await influence.recompute(stores.ledger, stores.graph, Key(account), today)

    progress("decision maps: committee recomputes after one edge change")
    await _timed(2, changed)  # warm
    lines.append("committee recompute, 1 edge  " + _ms(await _timed(20, changed))
                 + "   (target ≤ 50 ms; includes writing the edge)")
    big = accounts[:BIG_COMMITTEES]

    async def drawn(n: int) -> None:
        await decision_maps.decision_map(stores.read, stores.graph, stores.cipher, actor,
                                         big[n % len(big)], None, today)

    progress("decision maps: decisionMap of 30-member committees")
    await _timed(2, drawn)
    lines.append("decisionMap, 30 members       " + _ms(await _timed(40, drawn))
                 + "   (target ≤ 50 ms)")
    targets = [rng.choice(contacts)[0] for _ in range(42)]

    async def paths(n: int) -> None:
        await introductions.paths(stores.read, stores.graph, actor, targets[n],
                                  users[n % len(users)], 4, 10, None, today)

    progress("decision maps: introductionPaths at maxHops 4")
    await _timed(2, paths)
    lines.append("introductionPaths, maxHops 4  " + _ms(await _timed(40, paths))
                 + "   (target ≤ 100 ms)")
    return lines


async def _run(config: BenchConfig, workdir: Path, database_url: str, graph_url: str,
               people: int) -> None:
    rng = random.Random(config.seed)
    progress(f"decision maps: {people:,} people, {people // 5:,} committees in the ledger")
    users, contacts = await asyncio.to_thread(_seed_ledger, database_url, people, rng)
    edges = _edges(users, contacts, rng)
    total = sum(len(rows) for rows in edges.values())
    progress(f"decision maps: loading {total:,} edges into the graph")
    from bench.stores import Urls

    settings = app_settings(Urls(database_url, graph_url), workdir)
    async with direct_stores(settings) as stores:
        started = time.perf_counter()
        await _load_graph(stores, users, contacts, edges)
        progress(f"decision maps: graph loaded in {time.perf_counter() - started:.0f} s")
        lines = await _measure(stores, users, contacts, rng, clock.today())
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\n=== decision maps: {people:,} people, {total:,} edges, "
          f"{people // 5:,} committees (load average {load}) ===")
    for line in lines:
        print(line)


def main() -> int:
    config = BenchConfig.from_env()
    people = people_count()
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-decision-"))
    try:
        with stores_up(config, workdir) as urls:
            upgrade(urls.database)
            asyncio.run(_run(config, workdir, urls.database, urls.graph, people))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
