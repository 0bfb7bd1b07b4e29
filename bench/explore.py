"""`python -m bench.explore` (also the last part of `make bench`): how long the /explore page
takes from navigation to its first drawn map, on the demo dataset, in the distribution's
headless Chromium (`.ci/ensure-browser`). The page emits Performance API marks
(`explore:tree-drawn` when the group tree is drawn, `explore:first-map` when the decision map
has painted, `explore:settled` when every view has answered); times are from navigation start,
as the signed-in demo salesperson `sales.east` opening one of their accounts by its address."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright

from bench.config import BenchConfig, progress
from bench.stores import app_settings, serve, stores_up
from composition import open_stores
from relational.migrate import upgrade
from services.demo import seed_demo
from services.identity.users import DEMO_PASSWORD
from settings import Settings

CHROMIUM = "/usr/bin/chromium"
LOGIN = """mutation($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { accessToken } }"""
# The salesperson's accounts with the largest groups first: the heaviest trees to draw.
ACCOUNTS = """{ accounts(first: 100) { edges { node { id name
  groupTree(depth: 4) { ancestors { depth } descendants { depth } } } } } }"""
MARKS = ("explore:tree-drawn", "explore:first-map", "explore:settled")


@dataclass(frozen=True)
class Load:
    dom_ready_ms: float
    marks_ms: dict[str, float]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def _accounts(url: str, runs: int) -> tuple[str, list[str]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        login = await client.post("/graphql", json={
            "query": LOGIN, "variables": {"u": "sales.east", "p": DEMO_PASSWORD}})
        token: str = login.json()["data"]["login"]["accessToken"]
        found = await client.post("/graphql", json={"query": ACCOUNTS},
                                  headers={"authorization": f"Bearer {token}"})
    nodes = [edge["node"] for edge in found.json()["data"]["accounts"]["edges"]]
    nodes.sort(key=lambda node: (-len(node["groupTree"]["ancestors"])
                                 - len(node["groupTree"]["descendants"]), node["name"]))
    return token, [node["id"] for node in nodes[:runs]]


async def _load(browser: Browser, url: str, token: str, account: str) -> Load:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        await context.add_init_script(
            f"sessionStorage.setItem('crm.explore.token', {json.dumps(token)})")
        page = await context.new_page()
        await page.goto(f"{url}/explore/#account={account}")
        for _ in range(600):
            if await page.evaluate("performance.getEntriesByName('explore:settled').length"):
                break
            await asyncio.sleep(0.02)
        else:
            raise RuntimeError(f"/explore never settled on {account}")
        marks: dict[str, float] = await page.evaluate(
            "Object.fromEntries(performance.getEntriesByType('mark')"
            ".map((mark) => [mark.name, mark.startTime]))")
        ready: float = await page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
        return Load(ready, {name: marks[name] for name in MARKS if name in marks})
    finally:
        await context.close()


async def _measure(settings: Settings, runs: int) -> list[Load]:
    async with open_stores(settings, pool_size=2) as runtime:
        await runtime.stores.graph.ensure_schema()
        progress("seeding the demo dataset")
        await seed_demo(runtime.stores.ledger, runtime.stores.cipher)
        await runtime.projector.catch_up()
    async with serve(settings) as url, async_playwright() as driver:
        token, accounts = await _accounts(url, runs)
        browser = await driver.chromium.launch(executable_path=CHROMIUM)
        try:
            await _load(browser, url, token, accounts[0])  # warm-up: the app's first requests
            progress(f"opening {len(accounts)} accounts in fresh browser contexts")
            return [await _load(browser, url, token, account) for account in accounts]
        finally:
            await browser.close()


def _report(loads: list[Load]) -> str:
    lines = ["/explore on the demo data (headless Chromium, sales.east), ms from navigation:",
             f"{'':<34}{'p50':>8}{'p95':>8}{'max':>8}"]
    rows = [("DOMContentLoaded", [load.dom_ready_ms for load in loads])]
    labels = {"explore:tree-drawn": "group tree drawn",
              "explore:first-map": "first decision map drawn",
              "explore:settled": "every view answered"}
    for mark, label in labels.items():
        values = [load.marks_ms[mark] for load in loads if mark in load.marks_ms]
        rows.append((label, values))
    for label, values in rows:
        if values:
            lines.append(f"{label:<34}{_percentile(values, 50):>8.0f}"
                         f"{_percentile(values, 95):>8.0f}{max(values):>8.0f}")
        else:
            lines.append(f"{label:<34}{'n/a: the API has no decisionMap yet':>24}")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines.append(f"({len(loads)} page loads; load average {load} on this machine)")
    return "\n".join(lines)


def main() -> int:
    runs = max(int(os.environ.get("BENCH_EXPLORE_RUNS", "10")), 1)
    # On an API without decision maps every page load sends operations that fail validation
    # (the page expects that); the app's log of each would bury the figures.
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)
    # Always fresh embedded stores: the demo seed leaves a ledger that holds accounts alone.
    config = replace(BenchConfig.from_env(), database_url=None, graph_url=None)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-explore-"))
    try:
        with stores_up(config, workdir) as urls:
            upgrade(urls.database)
            loads = asyncio.run(_measure(app_settings(urls, workdir), runs))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(_report(loads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
