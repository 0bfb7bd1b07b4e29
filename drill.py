"""The recovery drill (`crm drill`, bench/operations_drill.py): while accounts are written one
transaction at a time, take a backup, pick a point in time, restore to it with `crm restore
--to` into a scratch DATA_DIR and count which acknowledged writes came back.

Figures: backup time; restore time (unpack + WAL replay); graph rebuild time — together the
RTO —; and the data lost at `--to`: acknowledged writes missing (must be 0 for writes
acknowledged before `--to`), writes after `--to` (lost by choice), and the WAL archive's
bound on what an unplanned loss of the server costs (the RPO: `ARCHIVE_TIMEOUT_SECONDS`).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

import recovery
from auth.actor import Actor, Clearance, DataScope
from relational import backup as pg
from relational.embedded import EmbeddedPostgres
from relational.uow import RequestMeta
from services import accounts
from services.backups import Manifest
from services.stores import Stores
from services.uscc import make_uscc

DRILL_ACTOR = Actor(kind="user", username="system:drill", permissions=frozenset({
    "account:write", "account:read"}), scope=DataScope.ALL, clearance=Clearance.CONFIDENTIAL)


@dataclass(frozen=True)
class Write:
    id: uuid.UUID
    started: datetime
    acked: datetime


@dataclass
class Load:
    """Accounts written one transaction at a time until stopped; what was acknowledged."""

    writes: list[Write] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _grew: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def run(self, stores: Stores, *, seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - codes of drill accounts, not secrets
        meta = RequestMeta(actor=DRILL_ACTOR.label, reason="recovery drill")
        while not self.stop.is_set():
            started = datetime.now(UTC)
            async with stores.uow(meta) as uow:
                made = await accounts.create(uow, DRILL_ACTOR, accounts.AccountDraft(
                    name=f"演练客户 {len(self.writes)}", uscc=make_uscc(rng, division="310000"),
                    region="华东", industry="recovery drill"))
            self.writes.append(Write(made.id, started, datetime.now(UTC)))
            async with self._grew:
                self._grew.notify_all()

    async def until(self, count: int) -> None:
        """Wait until `count` writes are acknowledged (a stuck writer fails the drill)."""
        async with asyncio.timeout(300), self._grew:
            await self._grew.wait_for(lambda: len(self.writes) >= count)


def wait_archived(url: str, timeout: float = 120) -> None:
    """Close the current WAL segment and wait until the archiver has shipped it."""
    segment = pg.current_segment(url)
    pg.switch_wal(url)
    deadline = time.monotonic() + timeout
    while (pg.archived_through(url) or "") < segment:
        if time.monotonic() > deadline:
            raise TimeoutError(f"WAL segment {segment} was not archived within {timeout} s")
        time.sleep(0.1)


def restore_command(backup: Path, data_dir: Path, to: datetime | None, *, graph_url: str,
                    graph_name: str, passphrase: str | None,
                    database_url: str | None = None) -> tuple[int, str]:
    """`crm restore` as an operator runs it, in a subprocess (into `data_dir`, or into the
    empty database `database_url` names); its exit code and output."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "GRAPH_URL": graph_url,
           "GRAPH_NAME": graph_name, "LOG_FORMAT": "json"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if passphrase:
        env["BACKUP_PASSPHRASE"] = passphrase
    argv = [str(Path(sys.executable).parent / "crm"), "restore", str(backup)]
    if to is not None:
        argv += ["--to", to.isoformat()]
    done = subprocess.run(argv, env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=4 * 3600, check=False, cwd=data_dir.parent)
    return done.returncode, done.stdout + done.stderr


def restored_ids(data_dir: Path, database: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` a restored DATA_DIR holds (its server started for the question)."""
    with EmbeddedPostgres(data_dir / "pg", port=41000 + os.getpid() % 20000) as server:
        conninfo = pg.conninfo((server.url or "").replace("/postgres?", f"/{database}?"))
        with psycopg.connect(conninfo) as conn:
            rows = conn.execute("SELECT id FROM accounts WHERE id = ANY(%s)", (ids,)).fetchall()
    return {row[0] for row in rows}


@dataclass
class External:
    """`crm restore` into the empty database of a DATABASE_URL (pg_restore of the dump)."""

    restore_s: float = 0.0
    rebuild_s: float = 0.0
    acked_before_dump: int = 0
    missing: int = 0
    output: str = ""

    def lines(self) -> list[str]:
        return [
            f"restore into an external DATABASE_URL (pg_restore of the dump): "
            f"{self.restore_s:.1f} s",
            f"graph rebuild from that ledger: {self.rebuild_s:.1f} s",
            f"RTO into DATABASE_URL (restore + rebuild): {self.restore_s + self.rebuild_s:.1f} s",
            f"acknowledged before the dump began: {self.acked_before_dump}, missing after that "
            f"restore: {self.missing}",
        ]


@dataclass
class Figures:
    backup_s: float = 0.0
    restore_s: float = 0.0
    rebuild_s: float = 0.0
    accounts: int = 0
    acked_before_to: int = 0
    missing_before_to: int = 0
    after_to: int = 0
    restored_after_to: int = 0
    archive_timeout_s: int = 0
    output: str = ""
    # The restore of the same backup's dump into an external database (when one was given).
    external: External | None = None

    @property
    def rto_s(self) -> float:
        return self.restore_s + self.rebuild_s

    @property
    def lost_nothing(self) -> bool:
        """No acknowledged write before --to (or before the dump) missing, none after it back."""
        return (self.missing_before_to == 0 and self.restored_after_to == 0
                and (self.external is None or self.external.missing == 0))

    def lines(self) -> list[str]:
        return [
            f"ledger: {self.accounts:,} accounts",
            f"backup (pg_basebackup + pg_dump, under load): {self.backup_s:.1f} s",
            f"restore (unpack + WAL replay to --to): {self.restore_s:.1f} s",
            f"graph rebuild from the restored ledger: {self.rebuild_s:.1f} s",
            f"RTO (restore + rebuild): {self.rto_s:.1f} s",
            f"acknowledged before --to: {self.acked_before_to}, missing after restore: "
            f"{self.missing_before_to}",
            f"written after --to (given up by choosing --to): {self.after_to} "
            f"({self.restored_after_to} of them restored, must be 0)",
            f"RPO on losing the server: at most the archive interval, "
            f"{self.archive_timeout_s} s (ARCHIVE_TIMEOUT_SECONDS)",
            *(self.external.lines() if self.external else []),
        ]


_TIMES = re.compile(r"restore ([\d.]+) s, graph rebuild ([\d.]+) s")


async def run(stores: Stores, work: Path, *, graph_url: str, passphrase: str | None,
              writes_before: int = 20, writes_between: int = 20,
              external_url: str | None = None) -> Figures:
    """The drill on the ledger `stores` hold (with WAL archiving on); `work` is scratch.
    With `external_url` (an empty database), the backup is restored into it too."""
    settings = stores.settings
    url = settings.database_url or ""
    figures = Figures(archive_timeout_s=settings.archive_timeout_seconds)
    load = Load()
    writer = asyncio.create_task(load.run(stores, seed=int(time.time())))
    try:
        await load.until(writes_before)
        started = time.monotonic()
        await recovery.take(stores, work / "backup", passphrase=passphrase,
                            phase=lambda label, unit: lambda done, total: None)
        figures.backup_s = time.monotonic() - started
        await load.until(len(load.writes) + writes_between)
        to = datetime.now(UTC)
        await load.until(len(load.writes) + writes_between)
    finally:
        load.stop.set()
        await writer
    await asyncio.to_thread(wait_archived, url)
    code, figures.output = await asyncio.to_thread(
        restore_command, work / "backup", work / "restored", to, graph_url=graph_url,
        graph_name=f"{settings.graph_name}_drill", passphrase=passphrase)
    if code != 0:
        raise RuntimeError(f"crm restore failed ({code}):\n{figures.output}")
    times = _TIMES.search(figures.output)
    if times:
        figures.restore_s, figures.rebuild_s = float(times.group(1)), float(times.group(2))
    before = [write.id for write in load.writes if write.acked <= to]
    after = [write.id for write in load.writes if write.started > to]
    found = await asyncio.to_thread(restored_ids, work / "restored", pg.database_name(url),
                                    before + after)
    counts = re.search(r"restored: accounts (\d+)", figures.output)
    figures.accounts = int(counts.group(1)) if counts else 0
    figures.acked_before_to = len(before)
    figures.missing_before_to = len(set(before) - found)
    figures.after_to = len(after)
    figures.restored_after_to = len(set(after) & found)
    if external_url:
        figures.external = await _external(work, load, external_url, graph_url=graph_url,
                                           graph_name=f"{settings.graph_name}_drill_external",
                                           passphrase=passphrase)
    return figures


async def _external(work: Path, load: Load, url: str, *, graph_url: str, graph_name: str,
                    passphrase: str | None) -> External:
    external = External()
    code, external.output = await asyncio.to_thread(
        restore_command, work / "backup", work / "restored-external", None,
        graph_url=graph_url, graph_name=graph_name, passphrase=passphrase, database_url=url)
    if code != 0:
        raise RuntimeError(f"crm restore into DATABASE_URL failed ({code}):\n{external.output}")
    times = _TIMES.search(external.output)
    if times:
        external.restore_s, external.rebuild_s = float(times.group(1)), float(times.group(2))
    dumped_at = Manifest.read(work / "backup").dumped_at
    before = [write.id for write in load.writes if dumped_at and write.acked <= dumped_at]
    with psycopg.connect(pg.conninfo(url)) as conn:
        rows = conn.execute("SELECT id FROM accounts WHERE id = ANY(%s)", (before,)).fetchall()
    external.acked_before_dump = len(before)
    external.missing = len(set(before) - {row[0] for row in rows})
    return external
