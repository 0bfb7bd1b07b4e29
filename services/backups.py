"""Backups as the operator sees them: the manifest that says what a backup holds (time,
versions, checksums, the ledger's high-water marks), its check, and retention of scheduled
backups (the newest per day for 7 days, per ISO week for 4 weeks)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relational.ledger import Reader
from relational.repositories import backups as repo

MANIFEST = "manifest.json"
SEALED_KEYS = "keys.env.sealed"
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
    keys: str  # "sealed" | "absent"
    before: dict[str, int]
    after: dict[str, int]
    files: dict[str, str]

    def write(self, directory: Path) -> None:
        body: dict[str, Any] = {"format": FORMAT, **self.__dict__,
                                "created_at": self.created_at.isoformat(),
                                "finished_at": self.finished_at.isoformat()}
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
        return cls(**body)

    def damaged(self, directory: Path) -> list[str]:
        """Files missing or changed since the backup was written."""
        found = checksums(directory)
        return sorted([f"{name}: missing" for name in self.files.keys() - found.keys()]
                      + [f"{name}: checksum differs" for name, digest in self.files.items()
                         if name in found and found[name] != digest])


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
