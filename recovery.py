"""Backup, restore and the check of a backup (`crm backup`, `crm restore`, `crm backup verify`).

A backup directory holds `pg/` (PostgreSQL's `pg_basebackup`: the whole cluster, its WAL and
PostgreSQL's own manifest), `keys.env.sealed` (the field-encryption keys under a passphrase;
absent, with a loud warning, when no passphrase is given) and `manifest.json` (time, versions,
checksums of every file, the ledger's high-water marks before and after the copy) and
`dump/ledger.dump` (`pg_dump -Fc` of the database). A restore into `DATA_DIR` unpacks `pg/`
into it and replays the WAL archive (up to `--to`); a restore into the empty database of a
`DATABASE_URL` restores the dump with `pg_restore` (with `--to`: recovers `pg/` to that time in
a scratch cluster first and dumps that). Either way the graph is then rebuilt from the ledger
and the graph and the audit chain are checked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from auth import key_backup
from auth.keys import KEY_FILE_NAME
from relational import backup as pg
from relational import logical_backup as logical
from relational.database import make_engine, make_sessionmaker
from relational.embedded import EmbeddedPostgres
from relational.ledger import Ledger
from services import audit, backups, graph_sync
from services.backups import SEALED_KEYS, Manifest
from services.stores import Stores
from settings import Settings

log = logging.getLogger("crm.backup")

Phase = backups.Phase


RestoreRefused = backups.Refused
take = backups.take


def check_files(directory: Path, *, physical: bool = True) -> Manifest:
    """The manifest of a backup whose files are all there and unchanged (RestoreRefused else);
    PostgreSQL's own manifest is checked too when the physical copy is to be used."""
    try:
        manifest = Manifest.read(directory)
    except ValueError as error:
        raise RestoreRefused(str(error)) from None
    damaged = manifest.damaged(directory)
    if damaged:
        raise RestoreRefused("the backup is damaged: " + "; ".join(damaged))
    if not physical:
        return manifest
    try:
        pg.verify_backup(directory / "pg")
    except pg.BackupError as error:
        raise RestoreRefused(str(error)) from None
    return manifest


def _warn(text: str) -> None:
    backups.warn(text)


def _restore_keys(settings: Settings, directory: Path, manifest: Manifest,
                  passphrase: str | None) -> None:
    target = settings.data_dir.resolve() / KEY_FILE_NAME
    if settings.field_keys is not None and settings.blind_index_key is not None:
        return  # the keys come from the environment, as they did for the backup
    sealed = directory / SEALED_KEYS
    if manifest.keys != "sealed" or not sealed.exists():
        if not target.exists():
            _warn("this backup holds no keys and none are configured: put the original "
                  f"keys.env into {target.parent} (or set FIELD_KEYS and BLIND_INDEX_KEY) "
                  "before serving, or encrypted fields cannot be read")
        return
    if not passphrase:
        raise RestoreRefused("the keys of this backup are sealed: set BACKUP_PASSPHRASE")
    try:
        text = key_backup.unseal(sealed.read_text(), passphrase)
    except Exception as error:
        raise RestoreRefused(str(error)) from None
    if target.exists():
        if target.read_text() != text:
            raise RestoreRefused(f"{target} exists and holds other keys: move it away first")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def unpack(settings: Settings, directory: Path, *, data_dir: Path, to: datetime | None,
           wal_archive: Path | None, passphrase: str | None, phase: Phase,
           replay_archive: bool = True, checked: Manifest | None = None) -> Manifest:
    """Everything of a restore before the server starts: the backup checked, the keys back,
    the cluster unpacked into the empty `data_dir` with its recovery settings. A failure or a
    Ctrl-C leaves `data_dir` as it was (removed). `checked`: the manifest, if `check_files`
    has already passed."""
    manifest = checked or check_files(directory)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise RestoreRefused(f"{data_dir} is not empty: restore into an empty DATA_DIR")
    if to is not None and to < manifest.finished_at:
        raise RestoreRefused(f"--to {to.isoformat()} is before the backup finished "
                             f"({manifest.finished_at.isoformat()}): use an older backup")
    archive = wal_archive or (Path(manifest.wal_archive) if manifest.wal_archive else None)
    if not replay_archive:
        archive = None
    if archive is not None and not archive.is_dir():
        if to is not None:
            raise RestoreRefused(f"the WAL archive {archive} does not exist")
        _warn(f"WAL archive {archive} not found: restoring to the end of the backup only")
        archive = None
    _restore_keys(settings, directory, manifest, passphrase)
    try:
        pg.extract(directory / "pg", data_dir, phase("unpack", "B"))
        pg.configure_recovery(data_dir, archive, to)
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    return manifest


@dataclass
class Checked:
    """What a restored ledger holds, and what is wrong with it."""

    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)
    audit_records: int = 0
    dump_items: int | None = None  # entries of the logical dump's table of contents


async def check_ledger(ledger: Ledger, manifest: Manifest) -> Checked:
    """Row counts, everything committed before the backup began present, the audit chain."""
    counts = await backups.high_water(ledger.read)
    checked = Checked(counts, backups.short_of(counts, manifest))
    report = await audit.verify(ledger.read)
    checked.audit_records = report.records
    checked.problems += [f"audit chain: {problem}" for problem in report.problems]
    return checked


async def rebuild_graph(stores: Stores, phase: Phase) -> graph_sync.Report:
    """The graph recreated from the restored ledger, then compared with it. Events pending in
    the restored outbox are covered by the rebuild and marked projected; new events continue
    after the restored ids, so nothing is projected twice."""
    await graph_sync.rebuild(stores.ledger, stores.graph, progress=phase("graph rebuild", ""))
    return await graph_sync.verify(stores.read, stores.graph)


async def verify(settings: Settings, directory: Path, *, passphrase: str | None,
                 phase: Phase) -> Checked:
    """`crm backup verify`: the backup restored into a scratch instance (a temporary
    directory, removed afterwards) to the end of the backup, then checked; the logical dump's
    table of contents is read too."""
    with tempfile.TemporaryDirectory(prefix="crm-verify-") as scratch:
        scratch_settings = settings.model_copy(update={"data_dir": Path(scratch)})
        manifest = unpack(scratch_settings, directory, data_dir=Path(scratch) / "pg", to=None,
                          wal_archive=None, passphrase=passphrase, phase=phase,
                          replay_archive=False)
        with EmbeddedPostgres(Path(scratch) / "pg", port=_scratch_port()) as server:
            url = server.url or ""
            database = make_engine(url.replace("/postgres?", f"/{manifest.database}?"),
                                   pool_size=1)
            try:
                from composition import AUDIT_CHAIN

                ledger = Ledger(make_sessionmaker(database), AUDIT_CHAIN)
                checked = await check_ledger(ledger, manifest)
            finally:
                await database.dispose()
            if manifest.dump:
                checked.dump_items = logical.entries(pg.tool("pg_restore"),
                                                     directory / manifest.dump)
            return checked


def check_target(url: str, manifest: Manifest) -> None:
    """The database a restore goes into: empty, and of the backup's major version or newer
    (PostgreSQL's tools do not promise a dump loads into an older server)."""
    if manifest.dump is None or manifest.dump_tool_version is None:
        raise RestoreRefused("this backup holds no logical dump (it predates them), so it "
                             "restores only into an empty DATA_DIR: unset DATABASE_URL")
    try:
        found = logical.objects_in(url)
        target = logical.server_major(url)
    except psycopg.Error as error:
        raise RestoreRefused(f"cannot reach the target database: {error}".strip()) from None
    if found:
        raise RestoreRefused(f"the database of DATABASE_URL is not empty ({', '.join(found)}"
                             f"{', …' if len(found) >= 5 else ''}): restore into an empty "
                             "database (createdb a new one)")
    source = logical.major(manifest.server_version)
    if target < source:
        raise RestoreRefused(f"the backup is of PostgreSQL {source}, DATABASE_URL's server "
                             f"runs {target}: restore into PostgreSQL {source} or newer")


def restore_database(settings: Settings, directory: Path, *, to: datetime | None,
                     wal_archive: Path | None, passphrase: str | None, phase: Phase) -> Manifest:
    """`crm restore` into the empty database DATABASE_URL names (an external PostgreSQL).
    Without `--to`: the backup's logical dump, with `pg_restore`, as of `dumped_at`. With
    `--to`: point-in-time recovery needs the physical copy and the WAL archive, so they are
    recovered to `--to` in a scratch cluster (removed afterwards), dumped, and that dump
    restored. Either way the target is written in one transaction: a failure or a Ctrl-C
    leaves it empty."""
    url = settings.database_url or ""
    manifest = check_files(directory, physical=to is not None)
    check_target(url, manifest)
    if to is None:
        _restore_keys(settings, directory, manifest, passphrase)
        asyncio.run(logical.restore(url, directory / (manifest.dump or ""),
                                    dumped_by=manifest.dump_tool_version or "",
                                    progress=phase("pg_restore (items)", "")))
        return manifest
    with tempfile.TemporaryDirectory(prefix="crm-pitr-") as scratch:
        unpack(settings, directory, data_dir=Path(scratch) / "pg", to=to,
               wal_archive=wal_archive, passphrase=passphrase, phase=phase, checked=manifest)
        with EmbeddedPostgres(Path(scratch) / "pg", port=_scratch_port()) as server:
            recovered = (server.url or "").replace("/postgres?", f"/{manifest.database}?")
            pg.wait_promoted(recovered, timeout=4 * 3600)
            dump = Path(scratch) / "recovered.dump"
            dumped_by = asyncio.run(logical.dump(recovered, dump, phase("dump (tables)", "")))
        asyncio.run(logical.restore(url, dump, dumped_by=dumped_by,
                                    progress=phase("pg_restore (items)", "")))
    return manifest


def _scratch_port() -> int:
    # The port only names the socket file in the scratch dir; any unused number will do.
    return 40000 + os.getpid() % 20000


__all__ = ["Checked", "RestoreRefused", "check_files", "check_ledger", "check_target",
           "rebuild_graph", "restore_database", "take", "unpack", "verify"]
