"""Backup, restore and the check of a backup (`crm backup`, `crm restore`, `crm backup verify`).

A backup directory holds `pg/` (PostgreSQL's `pg_basebackup`: the whole cluster, its WAL and
PostgreSQL's own manifest), `keys.env.sealed` (the field-encryption keys under a passphrase;
absent, with a loud warning, when no passphrase is given) and `manifest.json` (time, versions,
checksums of every file, the ledger's high-water marks before and after the copy). A restore
unpacks `pg/` into an empty `DATA_DIR`, replays the WAL archive (up to `--to`), rebuilds the
graph from the ledger and checks the graph and the audit chain.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from auth import key_backup
from auth.keys import KEY_FILE_NAME
from relational import backup as pg
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


def check_files(directory: Path) -> Manifest:
    """The manifest of a backup whose files are all there and unchanged (RestoreRefused else);
    PostgreSQL's own manifest is checked too."""
    try:
        manifest = Manifest.read(directory)
    except ValueError as error:
        raise RestoreRefused(str(error)) from None
    damaged = manifest.damaged(directory)
    if damaged:
        raise RestoreRefused("the backup is damaged: " + "; ".join(damaged))
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
           replay_archive: bool = True) -> Manifest:
    """Everything of a restore before the server starts: the backup checked, the keys back,
    the cluster unpacked into the empty `data_dir` with its recovery settings. A failure or a
    Ctrl-C leaves `data_dir` as it was (removed)."""
    manifest = check_files(directory)
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
    directory, removed afterwards) to the end of the backup, then checked."""
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
                return await check_ledger(ledger, manifest)
            finally:
                await database.dispose()


def _scratch_port() -> int:
    # The port only names the socket file in the scratch dir; any unused number will do.
    return 40000 + os.getpid() % 20000


__all__ = ["Checked", "RestoreRefused", "check_files", "check_ledger",
           "rebuild_graph", "take", "unpack", "verify"]
