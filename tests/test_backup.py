"""Backup → restore → verify against a real PostgreSQL with WAL archiving: a backup taken
while accounts are being written, a point-in-time restore with `crm restore --to` (every write
acknowledged before that time is back, none after it), the keys sealed under a passphrase,
`crm backup verify`, and a ledger that keeps working after the restore (graph rebuilt and
verified, audit chain intact, new outbox events after the restored ones)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from pydantic import SecretStr

import drill
import recovery
from composition import Runtime, open_stores
from graph.embedded import EmbeddedFalkorDB
from jobs import scheduler
from relational import logical_backup as logical
from relational.embedded import EmbeddedPostgres, create_database
from relational.migrate import head, upgrade
from relational.uow import RequestMeta
from services import accounts, backups, graph_sync
from services.backups import Manifest
from services.uscc import make_uscc
from settings import Settings
from tests.conftest import BLIND_INDEX_KEY, FIELD_KEY_V1, free_port

PASSPHRASE = "correct horse battery staple"
CRM = str(Path(sys.executable).parent / "crm")


@dataclass(frozen=True)
class Source:
    settings: Settings
    root: Path


@pytest.fixture(scope="module")
def source(falkor: EmbeddedFalkorDB) -> Iterator[Source]:
    """A ledger of its own, archiving its WAL, as `crm serve` runs the embedded server.
    Not under pytest's base temp: a pytest session starting elsewhere on the machine makes that
    0700 again, and the server's user (when we are root) could no longer reach its files."""
    root = Path(tempfile.mkdtemp(prefix="crm-backup-test-"))
    archive = root / "wal-archive"
    server = EmbeddedPostgres(root / "data" / "pg", port=free_port(), wal_archive=archive,
                              archive_timeout=60)
    url = server.start()
    upgrade(url)
    try:
        yield Source(Settings(  # type: ignore[call-arg]
            database_url=url, graph_url=falkor.start(), graph_name="backup_source",
            data_dir=root / "data", wal_archive=archive, backup_root=root / "backups",
            seed_demo=False, _env_file=None, projector_retry_seconds=0.2,
            field_keys=SecretStr(FIELD_KEY_V1), blind_index_key=SecretStr(BLIND_INDEX_KEY)),
            root)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
async def source_runtime(source: Source) -> AsyncIterator[Runtime]:
    async with open_stores(source.settings, pool_size=3, jobs=False) as runtime:
        yield runtime


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "FIELD_KEYS", "BLIND_INDEX_KEY"}}
    return {**env, "LOG_FORMAT": "json", **extra}


async def test_point_in_time_restore_of_a_backup_taken_under_load(
        source: Source, source_runtime: Runtime, external: EmbeddedPostgres,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The restore finds no keys in its environment: they must come from the sealed copy.
    monkeypatch.delenv("FIELD_KEYS")
    monkeypatch.delenv("BLIND_INDEX_KEY")
    figures = await drill.run(source_runtime.stores, source.root / "pitr",
                              graph_url=source.settings.graph_url or "", passphrase=PASSPHRASE,
                              writes_before=15, writes_between=15,
                              external_url=create_database(external.url or "", "drill"))
    # Every write acknowledged before --to is back; none begun after it.
    assert figures.acked_before_to >= 30
    assert figures.missing_before_to == 0
    assert figures.after_to >= 15
    assert figures.restored_after_to == 0
    assert "graph and ledger agree" in figures.output, figures.output
    assert "audit chain: " in figures.output and "intact" in figures.output
    # The same backup into an external database: its dump, the keys from the sealed copy.
    assert figures.external is not None
    assert figures.external.acked_before_dump >= 15
    assert figures.external.missing == 0
    assert "graph and ledger agree" in figures.external.output, figures.external.output
    assert figures.lost_nothing
    # The keys came back from the sealed copy (none were in the restore's environment).
    restored_keys = (source.root / "pitr" / "restored" / "keys.env").read_text()
    assert f"FIELD_KEYS={FIELD_KEY_V1}" in restored_keys
    assert f"BLIND_INDEX_KEY={BLIND_INDEX_KEY}" in restored_keys
    manifest = Manifest.read(source.root / "pitr" / "backup")
    assert manifest.keys == "sealed"
    assert manifest.server_version.startswith("18")
    assert manifest.migration == head()
    assert manifest.before["max_audit_seq"] >= 15
    assert set(manifest.files) == {"keys.env.sealed", "pg/backup_manifest", "pg/base.tar.gz",
                                   "pg/pg_wal.tar.gz", "dump/ledger.dump"}
    assert manifest.dump == "dump/ledger.dump"
    assert manifest.dump_tool_version and "18." in manifest.dump_tool_version
    assert manifest.dumped_at is not None
    assert manifest.created_at < manifest.dumped_at < manifest.finished_at


@dataclass(frozen=True)
class Taken:
    directory: Path
    load: drill.Load


@pytest.fixture(scope="module")
async def full_backup(source: Source, source_runtime: Runtime) -> Taken:
    """A backup without keys, taken while accounts are written; the writes after it are
    archived too."""
    stores = source_runtime.stores
    load = drill.Load()
    backup = source.root / "full"
    writer = asyncio.create_task(load.run(stores, seed=7))
    await load.until(5)
    await recovery.take(stores, backup, passphrase=None,
                        phase=lambda label, unit: lambda done, total: None)
    await load.until(len(load.writes) + 5)
    load.stop.set()
    await writer
    await asyncio.to_thread(drill.wait_archived, stores.settings.database_url or "")
    return Taken(backup, load)


async def test_restore_to_the_end_serves_new_writes_without_duplicate_events(
        source: Source, source_runtime: Runtime, falkor: EmbeddedFalkorDB,
        full_backup: Taken) -> None:
    stores = source_runtime.stores
    backup, load = full_backup.directory, full_backup.load
    # `crm backup verify` restores into a scratch instance and checks it.
    verified = await asyncio.to_thread(
        subprocess.run, [CRM, "backup", "verify", str(backup)], capture_output=True, text=True,
        env=_env(FIELD_KEYS=FIELD_KEY_V1, BLIND_INDEX_KEY=BLIND_INDEX_KEY), check=False,
        timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "backup verify OK" in verified.stdout
    assert re.search(r"^logical dump: [1-9]\d+ items readable$", verified.stdout, re.M)

    restored = source.root / "restored-full"
    code, output = await asyncio.to_thread(
        drill.restore_command, backup, restored, None, graph_url=falkor.start(),
        graph_name="backup_full", passphrase=None)
    assert code == 0, output
    ids = [write.id for write in load.writes]
    assert await asyncio.to_thread(drill.restored_ids, restored, "postgres", ids) == set(ids)

    await _serves_new_writes_without_duplicates(stores.settings.model_copy(update={
        "graph_name": "backup_full", "data_dir": restored}), server=EmbeddedPostgres(
            restored / "pg", port=free_port()))


async def _serves_new_writes_without_duplicates(
        settings: Settings, *, server: EmbeddedPostgres | None = None) -> None:
    """Served again: the restored ledger takes a new write whose event follows the restored
    ones, is projected once, and graph and ledger agree."""
    if server is not None:
        settings = settings.model_copy(update={"database_url": server.start()})
    try:
        async with open_stores(settings, pool_size=2, jobs=False) as runtime:
            marks = await backups.high_water(runtime.stores.read)
            async with runtime.stores.uow(RequestMeta(actor="test")) as uow:
                await accounts.create(uow, drill.DRILL_ACTOR, accounts.AccountDraft(
                    name="恢复后新客户", uscc=make_uscc(random.Random(99), division="310000"),
                    region="华东", industry="after restore"))
            assert await runtime.projector.catch_up() == 1
            after = await backups.high_water(runtime.stores.read)
            # Sequences resume past every restored id (PostgreSQL may skip a few values after
            # recovery): a new event never reuses the id of one already projected.
            assert after["max_outbox_id"] > marks["max_outbox_id"]
            assert after["outbox"] == marks["outbox"] + 1
            report = await graph_sync.verify(runtime.stores.read, runtime.stores.graph)
            assert report.differences == []
            assert report.pending_events == 0
    finally:
        if server is not None:
            server.stop()


@pytest.fixture(scope="module")
def external() -> Iterator[EmbeddedPostgres]:
    """A second PostgreSQL server standing in for an external one (a DATABASE_URL)."""
    root = Path(tempfile.mkdtemp(prefix="crm-external-test-"))
    server = EmbeddedPostgres(root / "data", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _crm(*argv: str, url: str, graph_url: str, graph_name: str,
         data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CRM, *argv], capture_output=True, text=True, check=False,  # noqa: S603
                          timeout=300, env=_env(
                              DATABASE_URL=url, GRAPH_URL=graph_url, GRAPH_NAME=graph_name,
                              DATA_DIR=str(data_dir), FIELD_KEYS=FIELD_KEY_V1,
                              BLIND_INDEX_KEY=BLIND_INDEX_KEY))


def _ids_in(url: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    with logical.Libpq.of(url).connect() as conn:
        rows = conn.execute("SELECT id FROM accounts WHERE id = ANY(%s)", (ids,)).fetchall()
    return {row[0] for row in rows}


async def test_restore_into_an_empty_external_database_from_the_dump(
        source: Source, falkor: EmbeddedFalkorDB, full_backup: Taken,
        external: EmbeddedPostgres, tmp_path: Path) -> None:
    backup, load = full_backup.directory, full_backup.load
    manifest = Manifest.read(backup)
    assert manifest.dumped_at is not None
    url = create_database(external.url or "", "restored_dump")
    crm = partial(_crm, url=url, graph_url=falkor.start(), graph_name="backup_dump",
                  data_dir=tmp_path / "data")
    done = await asyncio.to_thread(crm, "restore", str(backup))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"database restored as of {manifest.dumped_at.isoformat()}" in done.stdout
    assert "graph and ledger agree" in done.stdout and "intact" in done.stdout, done.stdout
    assert "pg_restore (items): 100.0%" in done.stderr
    # Every write acknowledged before the dump began is there; none begun after the backup.
    acked = [write.id for write in load.writes if write.acked <= manifest.dumped_at]
    later = [write.id for write in load.writes if write.started > manifest.finished_at]
    assert len(acked) >= 5 and len(later) >= 1
    assert await asyncio.to_thread(_ids_in, url, acked + later) == set(acked)
    for argv, said in ((("graph", "verify"), "graph and ledger agree"),
                       (("audit", "verify"), "audit chain intact")):
        checked = await asyncio.to_thread(crm, *argv)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert said in checked.stdout
    await _serves_new_writes_without_duplicates(source.settings.model_copy(update={
        "database_url": url, "graph_name": "backup_dump", "data_dir": tmp_path / "data"}))


async def test_point_in_time_restore_into_an_external_database(
        falkor: EmbeddedFalkorDB, full_backup: Taken, external: EmbeddedPostgres,
        tmp_path: Path) -> None:
    backup, load = full_backup.directory, full_backup.load
    manifest = Manifest.read(backup)
    after_backup = [write for write in load.writes if write.started > manifest.finished_at]
    assert len(after_backup) >= 3
    to = after_backup[1].acked
    url = create_database(external.url or "", "restored_pitr")
    done = await asyncio.to_thread(
        _crm, "restore", str(backup), "--to", to.isoformat(), url=url,
        graph_url=falkor.start(), graph_name="backup_pitr_external", data_dir=tmp_path / "d")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"database restored as of {to.isoformat()}" in done.stdout
    assert "graph and ledger agree" in done.stdout and "intact" in done.stdout, done.stdout
    before = [write.id for write in load.writes if write.acked <= to]
    after = [write.id for write in load.writes if write.started > to]
    assert len(after) >= 1
    assert await asyncio.to_thread(_ids_in, url, before + after) == set(before)


def test_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(
        falkor: EmbeddedFalkorDB, full_backup: Taken, external: EmbeddedPostgres,
        tmp_path: Path) -> None:
    url = create_database(external.url or "", "occupied")
    with logical.Libpq.of(url).connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS operator_notes (note text)")
        conn.execute("INSERT INTO operator_notes VALUES ('keep me')")
    done = _crm("restore", str(full_backup.directory), url=url, graph_url=falkor.start(),
                graph_name="backup_refused", data_dir=tmp_path / "data")
    assert done.returncode == 1, done.stdout + done.stderr
    assert ("crm restore: the database of DATABASE_URL is not empty (public.operator_notes): "
            "restore into an empty database") in done.stderr
    assert logical.objects_in(url) == ["public.operator_notes"]
    with logical.Libpq.of(url).connect() as conn:
        assert conn.execute("SELECT note FROM operator_notes").fetchall() == [("keep me",)]
    assert not (tmp_path / "data").exists()  # no keys, no graph: nothing was started


def _interrupt_at(process: subprocess.Popen[str], prefix: str) -> tuple[float, str]:
    """SIGINT once a stderr line starts with `prefix`; seconds until it exited, its output."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(prefix):
            break
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    out, rest = process.communicate(timeout=60)
    return time.monotonic() - sent, out + "".join(seen) + rest


def _others_on(url: str) -> int:
    with logical.Libpq.of(url).connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND pid <> pg_backend_pid()").fetchone()
    return int(row[0]) if row else 0


def test_restore_shows_progress_and_ctrl_c_leaves_the_database_empty(
        falkor: EmbeddedFalkorDB, full_backup: Taken, external: EmbeddedPostgres,
        tmp_path: Path) -> None:
    url = create_database(external.url or "", "interrupted")
    # A transaction creating an extension the dump creates too holds pg_restore at that item
    # until the test lets go: the Ctrl-C lands while the restore's transaction is open.
    with logical.Libpq.of(url).connect() as blocker:
        blocker.execute("BEGIN")
        blocker.execute("CREATE EXTENSION btree_gin")
        process = subprocess.Popen(  # noqa: S603
            [CRM, "restore", str(full_backup.directory)], text=True, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=_env(
                DATABASE_URL=url, GRAPH_URL=falkor.start(), GRAPH_NAME="backup_interrupted",
                DATA_DIR=str(tmp_path / "data"), FIELD_KEYS=FIELD_KEY_V1,
                BLIND_INDEX_KEY=BLIND_INDEX_KEY))
        waited, output = _interrupt_at(process, "pg_restore (items):")
        blocker.execute("ROLLBACK")
    assert process.returncode == 130, output
    assert "pg_restore (items):   0.0% 0/" in output
    assert ("interrupted: the partial restore was removed; DATA_DIR (or the database of "
            "DATABASE_URL) is as before") in output
    print(f"\nstopped {waited:.2f} s after SIGINT", flush=True)  # reported, not asserted
    deadline = time.monotonic() + 30
    while _others_on(url) and time.monotonic() < deadline:
        time.sleep(0.1)  # the killed pg_restore's session ends once its lock wait does
    assert logical.objects_in(url) == []
    with logical.Libpq.of(url).connect() as conn:
        assert conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall() == [
            ("plpgsql",)]


def test_restore_into_data_dir_shows_progress_and_ctrl_c_removes_the_cluster(
        falkor: EmbeddedFalkorDB, full_backup: Taken, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process = subprocess.Popen(  # noqa: S603
        [CRM, "restore", str(full_backup.directory)], text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=_env(
            DATA_DIR=str(data_dir), GRAPH_URL=falkor.start(), GRAPH_NAME="backup_ctrl_c",
            FIELD_KEYS=FIELD_KEY_V1, BLIND_INDEX_KEY=BLIND_INDEX_KEY))
    # The first progress line comes before anything is unpacked; the server start, the WAL
    # replay and the rebuild after it take seconds: the SIGINT lands in one of them.
    waited, output = _interrupt_at(process, "unpack:")
    assert process.returncode == 130, output
    assert re.search(r"^unpack: +[\d.]+% [\d.]+/[\d.]+ MiB [\d.]+ MiB/s ETA \d+ s$", output, re.M)
    assert "restored: " not in output
    assert "interrupted: the partial restore was removed" in output
    print(f"\nstopped {waited:.2f} s after SIGINT", flush=True)  # reported, not asserted
    assert not (data_dir / "pg").exists()


def test_restore_into_an_older_server_is_refused(full_backup: Taken,
                                                 external: EmbeddedPostgres) -> None:
    url = create_database(external.url or "", "older")
    newer = dataclasses.replace(Manifest.read(full_backup.directory), server_version="99.1")
    with pytest.raises(recovery.RestoreRefused, match="the backup is of PostgreSQL 99, "
                       "DATABASE_URL's server runs 18: restore into PostgreSQL 99 or newer"):
        recovery.check_target(url, newer)
    assert logical.objects_in(url) == []


def test_a_damaged_backup_is_refused_and_nothing_is_restored(full_backup: Taken,
                                                             tmp_path: Path) -> None:
    backup = full_backup.directory
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    with (damaged / "pg" / "pg_wal.tar.gz").open("r+b") as handle:
        handle.seek(1000)
        flipped = bytes(byte ^ 0xFF for byte in handle.read(4))
        handle.seek(1000)
        handle.write(flipped)
    data_dir = tmp_path / "target"
    done = subprocess.run([CRM, "restore", str(damaged)], capture_output=True, text=True,  # noqa: S603
                          env=_env(DATA_DIR=str(data_dir), FIELD_KEYS=FIELD_KEY_V1,
                                   BLIND_INDEX_KEY=BLIND_INDEX_KEY), check=False, timeout=120)
    assert done.returncode == 1
    assert "pg/pg_wal.tar.gz: checksum differs" in done.stderr
    assert not (data_dir / "pg").exists()


def test_a_backup_without_a_dump_is_refused_for_a_database_url(
        full_backup: Taken, external: EmbeddedPostgres, tmp_path: Path) -> None:
    """A backup written before dumps were added (its manifest has no dump fields) still reads,
    and restores only into a DATA_DIR."""
    older = tmp_path / "older"
    shutil.copytree(full_backup.directory, older)
    body = json.loads((older / "manifest.json").read_text())
    for name in ("dump", "dump_tool_version", "dumped_at"):
        del body[name]
    del body["files"]["dump/ledger.dump"]
    shutil.rmtree(older / "dump")
    (older / "manifest.json").write_text(json.dumps(body))
    manifest = recovery.check_files(older, physical=False)
    assert manifest.dump is None and manifest.dumped_at is None
    url = create_database(external.url or "", "for_an_older_backup")
    with pytest.raises(recovery.RestoreRefused, match="this backup holds no logical dump"):
        recovery.check_target(url, manifest)
    assert logical.objects_in(url) == []


def test_retention_keeps_seven_daily_and_four_weekly() -> None:
    names = [f"202611{day:02d}T0300{minute:02d}Z" for day in range(1, 31) for minute in (0, 1)]
    kept = backups.to_keep([*names, "manual-before-upgrade"])
    assert kept == {
        "manual-before-upgrade",
        # the newest of each of the last seven days
        *(f"202611{day:02d}T030001Z" for day in range(24, 31)),
        # the newest of each of the last four ISO weeks (Sundays 29, 22, 15; 30 is a Monday)
        "20261122T030001Z", "20261115T030001Z"}


async def test_the_daily_job_keeps_seven_daily_and_four_weekly_and_trims_the_archive(
        source: Source, source_runtime: Runtime) -> None:
    """Last in this module: it trims the WAL archive the restores above replayed."""
    assert "operations:backup_daily" in scheduler.app.tasks
    assert any(task.task.name == "operations:backup_daily"
               for task in scheduler.app.periodic_registry.periodic_tasks.values())
    stores = source_runtime.stores
    root = stores.settings.backup_dir
    for day in range(1, 9):  # eight old daily backups (ISO weeks 1 and 2 of 2020)
        (root / f"202001{day:02d}T023000Z").mkdir(parents=True)
    archive = stores.settings.wal_archive_dir
    segments_before = sorted(path.name for path in archive.iterdir() if len(path.name) == 24)
    manifest, removed = await backups.scheduled(stores, datetime(2026, 12, 1, 2, 30,
                                                                 tzinfo=UTC))
    # The seven newest days (the new one and Jan 3..8) stay; so do the newest of the last four
    # weeks that have one (Dec 1, Jan 8, Jan 5: all among them already).
    assert removed == ["20200101T023000Z", "20200102T023000Z"]
    assert sorted(path.name for path in root.iterdir()) == [
        *(f"202001{day:02d}T023000Z" for day in range(3, 9)), "20261201T023000Z"]
    assert manifest.first_wal is not None
    left = sorted(path.name for path in archive.iterdir() if len(path.name) == 24)
    assert left and left[0] == manifest.first_wal
    assert set(segments_before) - set(left) == {name for name in segments_before
                                                if name < manifest.first_wal}
