"""The logical half of a backup: `pg_dump` of the ledger's database in the custom format, and
its `pg_restore` into an empty database named by a URL (an external PostgreSQL, which a
physical copy of a whole cluster cannot be put into).

The client programs are chosen by major version: `pg_dump` of the source server's major
version when one is installed (`/usr/lib/postgresql/N/bin` or PATH), else the shipped one
(any newer `pg_dump` reads an older server); `pg_restore` of the target's major version when it
can read the archive, else the shipped one. A `pg_restore` newer than the target server may
emit settings the server does not know (a 18 one sets `transaction_timeout`, unknown before
17); the restore runs in one transaction, so such a failure leaves the target empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from relational.backup import BackupError, Progress, run_with_progress, tool

# `pg_dump -v`: one line per table whose rows it copies; `pg_restore -v`: one per TOC entry.
_DUMPING = re.compile(rb"dumping contents of table")
_RESTORING = re.compile(rb"^pg_restore: (creating|processing|executing|setting|restoring) ")
_MAJOR = re.compile(r"(\d+)")
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True)
class Libpq:
    """What a client program needs to reach the database of a SQLAlchemy URL: the connection
    string, and the password as an environment variable (never on a command line)."""

    conninfo: str
    env: dict[str, str]

    @classmethod
    def of(cls, url: str) -> Libpq:
        parsed = make_url(url)
        parts = {"host": parsed.host or parsed.query.get("host"),
                 "port": parsed.port or parsed.query.get("port"), "user": parsed.username,
                 "dbname": parsed.database}
        env: dict[str, str] = {}
        if parsed.password:
            env["PGPASSWORD"] = parsed.password
        return cls(" ".join(f"{key}='{value}'" for key, value in parts.items() if value), env)

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.conninfo, autocommit=True,
                               password=self.env.get("PGPASSWORD"))


def major(version: str) -> int:
    """The major version of `18.1`, `15.20 (Debian …)` or `pg_dump (PostgreSQL) 18.6`."""
    found = _MAJOR.search(version)
    if found is None:
        raise BackupError(f"no PostgreSQL version in {version!r}")
    return int(found.group(1))


def _version_of(program: Path) -> int:
    result = subprocess.run([str(program), "--version"], capture_output=True,  # noqa: S603
                            check=True, timeout=30)
    return major(result.stdout.decode())


def client(name: str, server_major: int, *, at_least: int = 0) -> tuple[Path, int]:
    """The client program `name` of the server's major version if installed and not older than
    `at_least`, else the shipped one; with its major version."""
    candidates = [Path(f"/usr/lib/postgresql/{server_major}/bin/{name}")]
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.exists():
            version = _version_of(candidate)
            if version == server_major and version >= at_least:
                return candidate, version
    shipped = tool(name)
    version = _version_of(shipped)
    if version < at_least:
        raise BackupError(f"`{name}` {version} cannot read an archive written by pg_dump "
                          f"{at_least}: install the PostgreSQL {at_least} client tools")
    return shipped, version


def server_major(url: str) -> int:
    with Libpq.of(url).connect() as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    return int(row[0]) // 10000 if row else 0


def objects_in(url: str, limit: int = 5) -> list[str]:
    """Tables, views, sequences and functions of the database outside the system schemas (an
    extension's own objects do not count: an operator may have created those beforehand)."""
    with Libpq.of(url).connect() as conn:
        rows = conn.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname <> ALL(%(system)s) AND n.nspname NOT LIKE 'pg_temp%%' "
            "AND n.nspname NOT LIKE 'pg_toast_temp%%' AND NOT EXISTS ("
            "  SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
            "  AND d.objid = c.oid AND d.deptype = 'e') "
            "UNION ALL SELECT n.nspname || '.' || p.proname || '()' FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname <> ALL(%(system)s) AND NOT EXISTS ("
            "  SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
            "  AND d.objid = p.oid AND d.deptype = 'e') "
            "ORDER BY 1 LIMIT %(limit)s",
            {"system": list(_SYSTEM_SCHEMAS), "limit": limit}).fetchall()
    return [str(row[0]) for row in rows]


def table_count(url: str) -> int:
    with Libpq.of(url).connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(%s)",
            (list(_SYSTEM_SCHEMAS),)).fetchone()
    return int(row[0]) if row else 0


def _counting(pattern: re.Pattern[bytes], total: int,
              progress: Progress) -> Callable[[bytes], bool]:
    """A reader of a tool's verbose lines: each one matching `pattern` is one step done."""
    done = [0]

    def on_line(line: bytes) -> bool:
        if not pattern.search(line):
            return False
        done[0] = min(done[0] + 1, total)
        progress(done[0], total)
        return True

    progress(0, total)
    return on_line


def _prepare_dump(url: str) -> tuple[Path, int, str]:
    program, _ = client("pg_dump", server_major(url))
    version = subprocess.run([str(program), "--version"], capture_output=True,  # noqa: S603
                             check=True, timeout=30).stdout.decode().strip()
    return program, max(table_count(url), 1), version


async def dump(url: str, target: Path, progress: Progress) -> str:
    """`pg_dump -Fc` of the database at `url` into the file `target`; the version of the
    `pg_dump` that wrote it. Cancelled (Ctrl-C), the tool stops at once and the file goes."""
    libpq = Libpq.of(url)
    program, total, version = await asyncio.to_thread(_prepare_dump, url)
    os.makedirs(target.parent, exist_ok=True)
    try:
        await run_with_progress(
            [str(program), "-Fc", "-v", "-f", str(target), "-d", libpq.conninfo],
            _counting(_DUMPING, total, progress), env=libpq.env)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(target)
        raise
    progress(total, total)
    return version


def entries(program: Path, archive: Path) -> int:
    """How many items the archive's table of contents lists."""
    listed = subprocess.run([str(program), "-l", str(archive)], capture_output=True,  # noqa: S603
                            timeout=600, check=False)
    if listed.returncode != 0:
        raise BackupError("pg_restore -l: " + listed.stderr.decode(errors="replace").strip())
    return sum(1 for line in listed.stdout.splitlines() if line and not line.startswith(b";"))


def _prepare_restore(url: str, archive: Path, dumped_by: str) -> tuple[Path, int]:
    program, _ = client("pg_restore", server_major(url), at_least=major(dumped_by))
    return program, max(entries(program, archive), 1)


async def restore(url: str, archive: Path, *, dumped_by: str, progress: Progress) -> None:
    """`pg_restore` of the archive into the (empty) database at `url`, in one transaction: a
    failure or a Ctrl-C leaves the database as it was. Objects belong to the connecting role
    (no owners or grants of the source are replayed)."""
    libpq = Libpq.of(url)
    program, total = await asyncio.to_thread(_prepare_restore, url, archive, dumped_by)
    await run_with_progress(
        [str(program), "-v", "--exit-on-error", "--single-transaction", "--no-owner",
         "--no-privileges", "-d", libpq.conninfo, str(archive)],
        _counting(_RESTORING, total, progress), env=libpq.env)
    progress(total, total)
