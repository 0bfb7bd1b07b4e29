"""Backups as the operator sees them: the manifest that says what a backup holds (time,
versions, checksums, the ledger's high-water marks), its check, and retention of scheduled
backups (the newest per day for 7 days, per ISO week for 4 weeks)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from auth import key_backup
from relational import backup as pg
from relational import logical_backup as logical
from relational.ledger import Reader
from relational.repositories import backups as repo
from services.stores import Stores
from settings import Settings

log = logging.getLogger("crm.backup")
# A progress display for one phase: phase(label, unit) -> update(done, total).
Phase = Callable[[str, str], Callable[[int, int], None]]


class Refused(RuntimeError):
    """A backup or restore that would overwrite data or cannot read the backup; nothing was
    changed."""


def warn(text: str) -> None:
    """Loud: the log, and a banner on stderr for whoever runs the command."""
    log.warning(text)
    print(f"\n*** WARNING: {text} ***\n", file=sys.stderr, flush=True)

MANIFEST = "manifest.json"
SEALED_KEYS = "keys.env.sealed"
DUMP = "dump/ledger.dump"
FORMAT = 1
KEEP_DAILY = 7
KEEP_WEEKLY = 4
# Scheduled backups are directories named after their start time, so they sort by age.
STAMP = "%Y%m%dT%H%M%SZ"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(directory: Path) -> dict[str, str]:
    """sha256 of every file of a backup but the manifest itself."""
    return {str(path.relative_to(directory)): sha256(path)
            for path in sorted(directory.rglob("*")) if path.is_file() and path.name != MANIFEST}


async def high_water(read: Reader) -> dict[str, int]:
    """Row counts and the last audit seq / outbox id: the audit log and the outbox only grow,
    so a restore of a backup started after this must hold at least these."""
    async with read() as session:
        return await repo.high_water(session)


@dataclass(frozen=True)
class Manifest:
    created_at: datetime
    finished_at: datetime
    server_version: str
    tool_version: str
    app_version: str
    migration: str | None
    database: str
    wal_archive: str | None
    archive_timeout: str | None
    first_wal: str | None  # the oldest archived WAL segment a restore of this backup needs
    keys: str  # "sealed" | "absent"
    before: dict[str, int]
    after: dict[str, int]
    files: dict[str, str]
    # The logical dump (`pg_dump -Fc` of the database) that restores into a DATABASE_URL;
    # absent from backups written before it was added. Every write acknowledged before
    # `dumped_at` is in it.
    dump: str | None = None
    dump_tool_version: str | None = None
    dumped_at: datetime | None = None

    def write(self, directory: Path) -> None:
        body: dict[str, Any] = {"format": FORMAT, **self.__dict__,
                                "created_at": self.created_at.isoformat(),
                                "finished_at": self.finished_at.isoformat(),
                                "dumped_at": self.dumped_at.isoformat() if self.dumped_at
                                else None}
        (directory / MANIFEST).write_text(json.dumps(body, indent=1, ensure_ascii=False))

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        try:
            body = json.loads((directory / MANIFEST).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{directory} holds no readable {MANIFEST}: {error}") from None
        if body.pop("format", None) != FORMAT:
            raise ValueError(f"{directory / MANIFEST} is not a Graph CRM backup manifest")
        body["created_at"] = datetime.fromisoformat(body["created_at"])
        body["finished_at"] = datetime.fromisoformat(body["finished_at"])
        if body.get("dumped_at"):
            body["dumped_at"] = datetime.fromisoformat(body["dumped_at"])
        return cls(**body)

    def damaged(self, directory: Path) -> list[str]:
        """Files missing or changed since the backup was written."""
        found = checksums(directory)
        return sorted([f"{name}: missing" for name in self.files.keys() - found.keys()]
                      + [f"{name}: checksum differs" for name, digest in self.files.items()
                         if name in found and found[name] != digest])


def _seal_keys(settings: Settings, directory: Path, passphrase: str | None) -> str:
    text = key_backup.key_file_text(settings)
    if text is None:
        warn("no field-encryption keys found: encrypted fields of this backup cannot be read")
        return "absent"
    if not passphrase:
        warn("BACKUP_PASSPHRASE is not set: the field-encryption keys are NOT in this backup. "
              "Keep a copy of the keys (keys.env or FIELD_KEYS/BLIND_INDEX_KEY) elsewhere, or "
              "the encrypted contact fields of this backup are lost")
        return "absent"
    descriptor = os.open(directory / SEALED_KEYS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key_backup.seal(text, passphrase))
    return "sealed"


def _empty_dir(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise Refused(f"{directory} is not empty")
    directory.mkdir(parents=True, exist_ok=True)


async def take(stores: Stores, directory: Path, *, passphrase: str | None,
               phase: Phase) -> Manifest:
    """A consistent backup of the ledger the stores are connected to, into `directory`: the
    physical copy of the cluster (point-in-time recovery starts from it) and a logical dump of
    the database (restores into another server's empty database). Cancelled (Ctrl-C), the
    copy stops at once and nothing of it is left."""
    settings = stores.settings
    url = settings.database_url or ""
    _empty_dir(directory)
    try:
        started = datetime.now(UTC)
        facts = pg.server_facts(url)
        keys = _seal_keys(settings, directory, passphrase)
        archiving = facts["archive_mode"] == "on"
        first_wal = pg.current_segment(url) if archiving else None
        before = await high_water(stores.read)
        await pg.base_backup(url, directory / "pg", phase("backup", "B"))
        dumped_at = datetime.now(UTC)
        dump_tool = await logical.dump(url, directory / DUMP, phase("dump (tables)", ""))
        after = await high_water(stores.read)
        manifest = Manifest(
            created_at=started, finished_at=datetime.now(UTC),
            server_version=str(facts["server_version"]),
            tool_version=pg.tool_version("pg_basebackup"), app_version=version("graph-crm"),
            migration=str(facts["migration"]) if facts["migration"] else None,
            database=pg.database_name(url),
            wal_archive=str(settings.wal_archive_dir) if archiving else None,
            archive_timeout=str(facts["archive_timeout"]) if archiving else None,
            first_wal=first_wal, keys=keys, before=before, after=after,
            files=checksums(directory), dump=DUMP, dump_tool_version=dump_tool,
            dumped_at=dumped_at)
        manifest.write(directory)
    except BaseException:
        # Cut short (Ctrl-C, a failed copy): no half backup is left to be mistaken for one.
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return manifest




def short_of(restored: dict[str, int], manifest: Manifest) -> list[str]:
    """What a restored ledger lacks of what was committed before the backup began."""
    return [f"{name}: {restored.get(name, 0)} < {floor} (committed before the backup began)"
            for name, floor in manifest.before.items()
            if name.startswith("max_") and restored.get(name, 0) < floor]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


def _parsed(name: str) -> datetime | None:
    try:
        return datetime.strptime(name, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def to_keep(names: Iterable[str], *, daily: int = KEEP_DAILY,
            weekly: int = KEEP_WEEKLY) -> set[str]:
    """Of backups named by `stamp`, the newest of each of the last `daily` days that have one
    and the newest of each of the last `weekly` ISO weeks; names that are not stamps are
    never touched (kept)."""
    dated = sorted(((moment, name) for name in names if (moment := _parsed(name))),
                   reverse=True)
    keep = {name for name in names if _parsed(name) is None}
    days: dict[object, str] = {}
    weeks: dict[object, str] = {}
    for moment, name in dated:
        days.setdefault(moment.date(), name)
        weeks.setdefault(moment.isocalendar()[:2], name)
    keep.update(list(days.values())[:daily])
    keep.update(list(weeks.values())[:weekly])
    return keep


def prune(root: Path) -> list[str]:
    """Delete the scheduled backups under `root` that retention no longer keeps."""
    names = [path.name for path in root.iterdir() if path.is_dir()] if root.exists() else []
    keep = to_keep(names)
    removed = sorted(set(names) - keep)
    for name in removed:
        shutil.rmtree(root / name)
    return removed


def _quiet(label: str, unit: str) -> Callable[[int, int], None]:
    return lambda done, total: None


async def scheduled(stores: Stores, when: datetime) -> tuple[Manifest, list[str]]:
    """The daily backup of the scheduler: into BACKUP_ROOT/<stamp>, then retention (7 daily,
    4 weekly) and the WAL archive trimmed to what the oldest kept backup needs."""
    settings = stores.settings
    root = settings.backup_dir
    passphrase = (settings.backup_passphrase.get_secret_value()
                  if settings.backup_passphrase else None)
    manifest = await take(stores, root / stamp(when), passphrase=passphrase, phase=_quiet)
    removed = prune(root)
    _trim_archive(root, settings)
    log.info("scheduled backup %s written; removed %s", stamp(when), removed or "nothing")
    return manifest, removed


def _trim_archive(root: Path, settings: Settings) -> None:
    """`pg_archivecleanup`: archived WAL older than the oldest kept backup's start goes."""
    starts = []
    for path in sorted(root.iterdir()):
        try:
            first = Manifest.read(path).first_wal
        except ValueError:
            continue
        if first:
            starts.append(first)
    archive = settings.wal_archive_dir
    if starts and archive.is_dir():
        subprocess.run([str(pg.tool("pg_archivecleanup")), str(archive), min(starts)],  # noqa: S603
                       check=True, capture_output=True, timeout=600)
