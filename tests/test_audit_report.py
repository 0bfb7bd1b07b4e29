"""The data-use audit report against an audit log this test writes through the API: reads
with and without a stated purpose, a lookup outside the reader's scope, a forbidden field, a
failed login, a CSV export; the figures by GraphQL (auditors only) and by `crm audit report`
(HTML with inline charts, CSV), and a headless-browser screenshot of the HTML page."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from settings import Settings
from tests.conftest import LOGIN, Api
from tests.factories import make_account

CREATE = """mutation($a: ID!, $n: String!, $p: String!, $e: String!) {
  contactCreate(input: {accountId: $a, name: $n, phone: $p, email: $e}) { contact { id } } }"""
READ = "query($id: ID!) { node(id: $id) { ... on Contact { phone email } } }"
TWICE = "query($id: ID!) { a: node(id: $id) { ... on Contact { phone } } " \
        "b: node(id: $id) { ... on Contact { phone } } }"
ACCOUNT = "query($id: ID!) { account(id: $id) { name } }"
REPORT = """query($p: String!, $d: String) { auditReport(period: $p, department: $d) {
  period department sensitiveReads previousSensitiveReads
  reads { reader department field outcome reads records purposes }
  refusals { kind actor department count previous }
  stepUps { kind actor count }
  exports { actor operation detail }
  topReaders { department readers { actor count } }
  anomalies { reader rule current previous }
  chain { intact records problems }
  csv } }"""
CHROMIUM = "/usr/bin/chromium"


def this_month(settings: Settings) -> str:
    return datetime.now(ZoneInfo(settings.report_timezone)).strftime("%Y-%m")


async def write_log(api: Api) -> None:
    """What the report must find: see the assertions."""
    sales = api.as_user("sales.east")
    account = await make_account(sales, name="华东审计客户")
    contacts = [(await sales.data(CREATE, {"a": account, "n": name, "p": phone,
                                         "e": f"{name}@example.cn"}))["contactCreate"]
                ["contact"]["id"] for name, phone in (("zhang", "13800000001"),
                                                      ("li", "13800000002"))]
    finance = api.as_user("finance")
    for contact in contacts:
        await finance.post(READ, {"id": contact}, **{"X-Audit-Reason": quote("合同审核")})
    await sales.post(TWICE, {"id": contacts[0]}, **{"X-Audit-Reason": quote("客户回访")})
    await sales.post("query($id: ID!) { node(id: $id) { ... on Contact { phone } } }",
                     {"id": contacts[0]})
    # Probing: a record outside the reader's scope, a field without the permission.
    assert (await api.as_user("sales.north").data(ACCOUNT, {"id": account})) == {
        "account": None}
    refused = await finance.error("""mutation { accountCreate(input: {name: "甲乙", uscc: "x",
        region: "华东", industry: "x"}) { account { id } } }""")
    assert refused["extensions"]["code"] == "FORBIDDEN"
    await api.anonymous.post(LOGIN, {"u": "manager.east", "p": "not the password"})
    token = await api.token("auditor")
    exported = await api.client.get("/audit/export.csv", params={"operation": "denied"},
                                    headers={"authorization": f"Bearer {token}"})
    assert exported.status_code == 200


async def test_the_report_counts_what_the_log_holds(api: Api, settings: Settings) -> None:
    await write_log(api)
    period = this_month(settings)
    report = (await api.as_user("auditor").data(REPORT, {"p": period}))["auditReport"]
    assert report["period"] == period
    assert report["sensitiveReads"] == 7
    assert report["previousSensitiveReads"] == 0
    assert report["reads"] == [
        {"reader": "sales.east", "department": "华东销售部", "field": "Contact.phone",
         "outcome": "clear", "reads": 3, "records": 1,
         "purposes": "客户回访 ×2; (未说明 none stated) ×1"},
        {"reader": "finance", "department": "总部", "field": "Contact.email",
         "outcome": "masked", "reads": 2, "records": 2, "purposes": "合同审核 ×2"},
        {"reader": "finance", "department": "总部", "field": "Contact.phone",
         "outcome": "masked", "reads": 2, "records": 2, "purposes": "合同审核 ×2"}]
    assert {row["reader"] for row in report["reads"]} == {"sales.east", "finance"}
    assert sorted((row["kind"], row["actor"], row["count"]) for row in report["refusals"]) == [
        ("account.create (account:write)", "finance", 1),
        ("account.read (outOfScope)", "sales.north", 1)]
    assert report["stepUps"] == [{"kind": "auth.loginFailed", "actor": "manager.east",
                                  "count": 1}]
    assert report["exports"] == [{"actor": "auditor", "operation": "audit.export",
                                  "detail": "operation=denied"}]
    assert report["topReaders"] == [
        {"department": "华东销售部", "readers": [{"actor": "sales.east", "count": 3}]},
        {"department": "总部", "readers": [{"actor": "finance", "count": 4}]}]
    assert report["anomalies"] == []  # nobody reached the 20 reads of the rule
    assert report["chain"]["intact"] is True
    assert report["chain"]["problems"] == []
    rows = list(csv.DictReader(io.StringIO(report["csv"])))
    assert {(row["section"], row["actor"], row["item"], row["count"]) for row in rows
            if row["section"] in {"reads", "refusals"}} == {
        ("reads", "sales.east", "Contact.phone", "3"),
        ("reads", "finance", "Contact.email", "2"), ("reads", "finance", "Contact.phone", "2"),
        ("refusals", "sales.north", "account.read (outOfScope)", "1"),
        ("refusals", "finance", "account.create (account:write)", "1")}
    # Producing the report is on record too.
    assert await api.scalar("SELECT after->>'period' FROM audit_log "
                            "WHERE operation = 'audit.report'") == period


async def test_the_department_filter_and_the_previous_period(api: Api,
                                                             settings: Settings) -> None:
    await write_log(api)
    period = this_month(settings)
    east = (await api.as_user("auditor").data(REPORT, {"p": period, "d": "华东销售部"}))[
        "auditReport"]
    assert {row["reader"] for row in east["reads"]} == {"sales.east"}
    assert east["refusals"] == []
    head = (await api.as_user("auditor").data(REPORT, {"p": period, "d": "总部"}))[
        "auditReport"]
    # The head office's subtree holds both sales departments.
    assert {row["reader"] for row in head["reads"]} == {"sales.east", "finance"}
    year, month = map(int, period.split("-"))
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    later = (await api.as_user("auditor").data(REPORT, {"p": following}))["auditReport"]
    assert (later["sensitiveReads"], later["previousSensitiveReads"]) == (0, 7)


@pytest.mark.parametrize(("period", "message"), [
    ("2026-13", "`period` must be a month, YYYY-MM (e.g. 2026-11)"),
    ("november", "`period` must be a month, YYYY-MM (e.g. 2026-11)")])
async def test_a_bad_period_names_the_field(api: Api, period: str, message: str) -> None:
    error = await api.as_user("auditor").error(REPORT, {"p": period})
    assert (error["message"], error["extensions"]["code"], error["extensions"]["field"]) == (
        message, "BAD_USER_INPUT", "period")


async def test_only_auditors_get_the_report(api: Api) -> None:
    for user in ("sales.east", "finance", "manager.east"):
        error = await api.as_user(user).error(REPORT, {"p": "2026-11"})
        assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await api.anonymous.error(REPORT, {"p": "2026-11"}))["extensions"]["code"] == \
        "UNAUTHENTICATED"


def _crm_env(settings: Settings) -> dict[str, Any]:
    return {**os.environ, "DATABASE_URL": settings.database_url or "",
            "GRAPH_URL": settings.graph_url or "", "LOG_FORMAT": "json"}


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
async def test_crm_audit_report_writes_html_and_csv_a_browser_renders(
        api: Api, settings: Settings, tmp_path: Path) -> None:
    await write_log(api)
    period = this_month(settings)
    crm = str(Path(sys.executable).parent / "crm")
    done = await asyncio.to_thread(
        subprocess.run, [crm, "audit", "report", "--period", period, "--out", str(tmp_path)],
        capture_output=True, text=True, env=_crm_env(settings), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    page = tmp_path / f"audit-report-{period}.html"
    assert "7 sensitive reads by 2 readers (previous period 0), 2 refusals" in done.stdout
    html = page.read_text(encoding="utf-8")
    assert "《数据使用审计报告》" in html and "<svg" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    table = (tmp_path / f"audit-report-{period}.csv").read_text(encoding="utf-8-sig")
    assert "reads,sales.east,华东销售部,Contact.phone,clear,3,1" in table
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    rendered = await asyncio.to_thread(
        subprocess.run, [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                         f"--user-data-dir={profile}", "--window-size=1200,1600",
                         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=120, check=False)
    assert rendered.returncode == 0, rendered.stderr
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    keep = os.environ.get("AUDIT_REPORT_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
