"""The `crm` command: serve, worker, jobs, migrate, seed, graph rebuild/verify, influence
recompute."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import psutil

import drill
import recovery
from composition import Runtime, open_stores, running
from graph.projection import Projector
from jobs import scheduler
from observability import configure_logging, progress
from relational import backup as pg_backup
from relational.migrate import upgrade
from relational.uow import RequestMeta
from services import audit_report, audit_report_render, key_rotation, scheduled_jobs
from services.audit import verify as verify_audit
from services.backups import Manifest
from services.demo import seed_demo
from services.errors import BadUserInput
from services.graph_sync import rebuild, verify
from services.influence import recompute_all
from services.stores import Stores
from settings import Settings, get_settings
from supervision import Supervised, supervise

Work = Callable[[Stores, Projector], Awaitable[int]]

log = logging.getLogger("crm")


@dataclass(frozen=True)
class Urls:
    database: str
    graph: str
    # The embedded stores started for this block, as ("ledger" | "graph", store).
    embedded: tuple[tuple[str, Supervised], ...] = field(default=(), compare=False)


def _runfile(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "run.json"


def _running_server(settings: Settings) -> Urls | None:
    """The stores of a `crm serve` running on this DATA_DIR, if any."""
    try:
        info = json.loads(_runfile(settings).read_text())
    except (OSError, ValueError):
        return None
    if not psutil.pid_exists(int(info.get("pid", -1))):
        return None
    return Urls(info["database_url"], info["graph_url"])


@contextlib.contextmanager
def stores_up(settings: Settings) -> Iterator[Urls]:
    """External stores from DATABASE_URL/GRAPH_URL, else those of a running `crm serve`, else
    embedded ones started for as long as the block runs."""
    running = _running_server(settings)
    embedded: list[tuple[str, Supervised]] = []
    with contextlib.ExitStack() as stack:
        database = settings.database_url or (running.database if running else None)
        graph = settings.graph_url or (running.graph if running else None)
        if database is None:
            from relational.embedded import EmbeddedPostgres

            postgres = stack.enter_context(EmbeddedPostgres(
                settings.data_dir / "pg", wal_archive=settings.wal_archive_dir,
                archive_timeout=settings.archive_timeout_seconds))
            database = postgres.start()
            embedded.append(("ledger", postgres))
        if graph is None:
            from graph.embedded import EmbeddedFalkorDB

            falkordb = stack.enter_context(EmbeddedFalkorDB(settings.data_dir / "graph"))
            graph = falkordb.start()
            embedded.append(("graph", falkordb))
        yield Urls(database, graph, tuple(embedded))


def _with_urls(settings: Settings, urls: Urls) -> Settings:
    return settings.model_copy(update={"database_url": urls.database, "graph_url": urls.graph})


async def _with_stores(settings: Settings, work: Work) -> int:
    async with open_stores(settings, pool_size=2) as runtime:
        return await work(runtime.stores, runtime.projector)


async def _seed(stores: Stores, projector: Projector) -> int:

    result = await seed_demo(stores.ledger, stores.cipher)
    await projector.catch_up()
    print(f"demo data: {'seeded' if result.seeded else 'already present, left alone'}"
          + (f" ({result.accounts} accounts, {result.contacts} contacts, "
             f"{result.ownerships} shareholdings)" if result.seeded else ""))
    return 0


async def _rebuild(stores: Stores, projector: Projector) -> int:
    """The graph, then the influence scores: a rebuild emits no events, so the projector's
    influence follower never sees it, and scores computed from the graph it replaced stay."""
    with progress() as phase:
        counts = await rebuild(stores.ledger, stores.graph, progress=phase("graph rebuild", ""))
        print("graph rebuilt: " + ", ".join(f"{value} {key}" for key, value in counts.items()),
              flush=True)
        committees = await recompute_all(stores.ledger, stores.graph, stores.clock.now().date(),
                                         progress=phase("influence recompute", ""))
    print(f"influence scores recomputed: {committees} committees")
    return 0


async def _influence_recompute(stores: Stores, projector: Projector) -> int:
    with progress() as phase:
        committees = await recompute_all(stores.ledger, stores.graph, stores.clock.now().date(),
                                         progress=phase("influence recompute", ""))
    print(f"influence scores recomputed: {committees} committees")
    return 0


async def _verify(stores: Stores, projector: Projector) -> int:

    report = await verify(stores.read, stores.graph)
    for line in report.differences:
        print(line)
    summary = ", ".join(f"{value} {key}s" for key, value in report.counts.items())
    if report.pending_events:
        print(f"note: {report.pending_events} outbox events not yet projected")
    if report.differences:
        print(f"graph and ledger DISAGREE: {len(report.differences)} differences ({summary})")
        return 1
    print(f"graph and ledger agree ({summary})")
    return 0


async def _audit_verify(stores: Stores, projector: Projector) -> int:
    report = await verify_audit(stores.read)
    for problem in report.problems:
        print(problem)
    if report.problems:
        count = len(report.problems)
        print(f"audit chain BROKEN: {count} problem{'s' if count > 1 else ''} in "
              f"{report.records} records")
        return 1
    print(f"audit chain intact: {report.records} records")
    return 0


async def _audit_report(stores: Stores, projector: Projector, *, period: str | None,
                        department: str | None, out: Path) -> int:
    if not period:
        print("crm audit report needs --period YYYY-MM", file=sys.stderr)
        return 2
    try:
        report = await audit_report.build(stores.read, period, department,
                                          timezone=stores.settings.report_timezone)
    except BadUserInput as error:
        print(f"crm audit report: {error}", file=sys.stderr)
        return 2
    async with stores.uow(RequestMeta(actor=f"cli:{getpass.getuser()}")) as uow:
        audit_report.record(uow, period, department, "html+csv")
    stem = f"audit-report-{period}" + (f"-{department}" if department else "")
    html_path, csv_path = _write_report(out, stem, report)
    totals = report.totals
    print(f"{html_path}\n{csv_path}\n{totals['sensitive_reads']} sensitive reads by "
          f"{totals['readers']} readers (previous period {totals['previous_sensitive_reads']}), "
          f"{totals['refusals']} refusals, {totals['security_events']} security events, "
          f"{len(report.anomalies)} anomalies; audit chain "
          f"{'intact' if report.chain.intact else 'BROKEN'} ({report.chain.records} records)")
    return 0 if report.chain.intact else 1


def _write_report(out: Path, stem: str, report: audit_report.Report) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / f"{stem}.html", out / f"{stem}.csv"
    html_path.write_text(audit_report_render.html(report), encoding="utf-8")
    # With a byte-order mark, spreadsheet programs read the Chinese text as UTF-8.
    csv_path.write_text(audit_report_render.csv_text(report), encoding="utf-8-sig")
    return html_path, csv_path


async def _encrypt_pending(stores: Stores, projector: Projector) -> int:
    """Plaintext left from before migration 0003 is encrypted before anything is served."""
    report = await key_rotation.rotate(stores.ledger, stores.cipher, plaintext_only=True)
    if report.encrypted or not report.complete:
        print("\n".join(report.summary()), flush=True)
    return 0


async def _keys_rotate(stores: Stores, projector: Projector, *, batch: int) -> int:
    if batch < 1:
        print("--batch must be at least 1", file=sys.stderr)
        return 2
    ring = stores.cipher.keyring
    print(key_rotation.describe_ring(ring.versions, ring.current), flush=True)
    with progress() as phase:
        report = await key_rotation.rotate(stores.ledger, stores.cipher, batch=batch,
                                           progress=phase("re-encrypt", ""))
    print("\n".join(report.summary()))
    return 0 if report.complete else 1


async def _keys_status(stores: Stores, projector: Projector) -> int:
    print("\n".join((await key_rotation.status(stores.read, stores.cipher)).summary()))
    return 0


def _passphrase(settings: Settings) -> str | None:
    return settings.backup_passphrase.get_secret_value() if settings.backup_passphrase else None


async def _backup(stores: Stores, projector: Projector, *, directory: Path) -> int:
    started = time.monotonic()
    with progress() as phase:
        manifest = await recovery.take(stores, directory, passphrase=_passphrase(stores.settings),
                                       phase=phase)
    print(f"backup written to {directory} in {time.monotonic() - started:.1f} s "
          f"(PostgreSQL {manifest.server_version}, migration {manifest.migration}, "
          f"{manifest.after['accounts']} accounts, keys {manifest.keys}; WAL archive "
          f"{manifest.wal_archive or 'OFF: no point-in-time restore'})")
    return 0


def _backup_verify(settings: Settings, directory: Path) -> int:
    started = time.monotonic()
    with progress() as phase:
        checked = asyncio.run(recovery.verify(settings, directory,
                                              passphrase=_passphrase(settings), phase=phase))
    print("restored into a scratch instance: " + ", ".join(
        f"{name} {value}" for name, value in checked.counts.items()))
    print(f"audit chain: {checked.audit_records} records checked")
    print(f"logical dump: {checked.dump_items} items readable" if checked.dump_items is not None
          else "logical dump: none in this backup (it restores only into a DATA_DIR)")
    for problem in checked.problems:
        print(problem)
    verdict = "FAILED" if checked.problems else "OK"
    print(f"backup verify {verdict} in {time.monotonic() - started:.1f} s")
    return 1 if checked.problems else 0


async def _drill(stores: Stores, projector: Projector, *, graph_url: str) -> int:
    """The recovery drill on this ledger: it writes 100 accounts (industry "recovery drill"),
    backs up, restores to a point in time into a scratch DATA_DIR and prints the figures."""
    with tempfile.TemporaryDirectory(prefix="crm-drill-") as scratch:
        figures = await drill.run(stores, Path(scratch), graph_url=graph_url,
                                  passphrase=_passphrase(stores.settings),
                                  writes_before=50, writes_between=25)
    print("\n".join(figures.lines()))
    return 0 if figures.lost_nothing else 1


def _moment(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is this machine's local time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.astimezone()


def _restore(settings: Settings, directory: Path, to: datetime | None,
             wal_archive: Path | None) -> int:
    if _running_server(settings):
        print("`crm serve` is running on this DATA_DIR: stop it first", file=sys.stderr)
        return 2
    if settings.database_url:
        return _restore_database(settings, directory, to, wal_archive)
    data_dir = settings.data_dir.resolve() / "pg"
    started = time.monotonic()
    with progress() as phase:
        manifest = recovery.unpack(settings, directory, data_dir=data_dir, to=to,
                                   wal_archive=wal_archive, passphrase=_passphrase(settings),
                                   phase=phase)
        try:
            with stores_up(settings) as urls:
                pg_backup.wait_promoted(urls.database, timeout=4 * 3600)
                code = _rebuild_and_check(settings, urls, manifest, phase, started)
        except BaseException:
            # A restore cut short leaves no half-recovered cluster to be mistaken for data.
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
    return code


def _restore_database(settings: Settings, directory: Path, to: datetime | None,
                      wal_archive: Path | None) -> int:
    """Into the empty database of DATABASE_URL: pg_restore of the backup's dump (with --to:
    of the physical copy recovered to that time in a scratch cluster)."""
    started = time.monotonic()
    with progress() as phase:
        manifest = recovery.restore_database(settings, directory, to=to,
                                             wal_archive=wal_archive,
                                             passphrase=_passphrase(settings), phase=phase)
        as_of = to or manifest.dumped_at
        print(f"database restored as of {as_of.isoformat() if as_of else 'the backup'}"
              + ("" if to else " (the end of the backup; WAL archived since is not applied: "
                 "--to TIME recovers up to a point in the archive)"), flush=True)
        try:
            with stores_up(settings) as urls:
                return _rebuild_and_check(settings, urls, manifest, phase, started)
        except KeyboardInterrupt:
            print("\ninterrupted: the database is restored; the graph is incomplete until "
                  "`crm graph rebuild` runs", file=sys.stderr)
            return 130


def _rebuild_and_check(settings: Settings, urls: Urls, manifest: Manifest,
                       phase: recovery.Phase, started: float) -> int:
    """After the ledger is back: migrations, the graph rebuilt, ledger and graph checked."""
    ready = _with_urls(settings, urls)
    _migrate(ready)
    timings = {"restore": time.monotonic() - started}
    code = asyncio.run(_with_stores(ready, partial(
        _finish_restore, manifest=manifest, phase=phase, timings=timings)))
    print(f"restore {timings['restore']:.1f} s, graph rebuild {timings['rebuild']:.1f} s, "
          f"total (RTO) {time.monotonic() - started:.1f} s")
    return code


async def _finish_restore(stores: Stores, projector: Projector, *, manifest: Manifest,
                          phase: recovery.Phase, timings: dict[str, float]) -> int:
    started = time.monotonic()
    graph = await recovery.rebuild_graph(stores, phase)
    timings["rebuild"] = time.monotonic() - started
    checked = await recovery.check_ledger(stores.ledger, manifest)
    problems = checked.problems + graph.differences
    print("restored: " + ", ".join(f"{name} {value}" for name, value in checked.counts.items()))
    print(f"audit chain: {checked.audit_records} records, "
          f"{'intact' if not checked.problems else 'PROBLEMS'}; graph and ledger "
          f"{'agree' if not graph.differences else 'DISAGREE'}")
    for problem in problems[:50]:
        print(problem)
    return 1 if problems else 0


async def _jobs(stores: Stores, projector: Projector) -> int:
    """Pending (running first, then by due time) and failed jobs."""
    found = await scheduled_jobs.overview(stores.read)
    print("jobs: " + (", ".join(f"{count} {status}" for status, count in
                                sorted(found.counts.items())) or "none"))
    for title, rows in (("pending", found.pending), ("failed", found.failed)):
        print(f"{title}:" + ("" if rows else " none"))
        for row in rows:
            due = row.scheduled_at.isoformat(timespec="seconds") if row.scheduled_at else "now"
            print(f"  #{row.id} {row.task_name} {row.status} due {due} "
                  f"attempts {row.attempts} args {json.dumps(row.args, ensure_ascii=False)}")
    return 0


async def _work(stores: Stores, projector: Projector) -> int:
    """A job worker alone (and the graph projector, so the jobs' writes reach the graph
    without a server), until SIGINT or SIGTERM."""
    runtime = Runtime(stores, projector)
    async with running(runtime):
        job = asyncio.create_task(scheduler.serve(
            runtime.jobs, concurrency=stores.settings.worker_concurrency, name="crm-worker"))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, job.cancel)
        print(f"job worker running ({stores.settings.worker_concurrency} at a time); "
              "Ctrl-C stops it", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await job
    print("job worker stopped", flush=True)
    return 0


def _migrate(settings: Settings) -> None:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set")
    upgrade(settings.database_url)


def _serve(settings: Settings) -> int:
    import uvicorn

    from app import create_app

    with stores_up(settings) as urls:
        ready = _with_urls(settings, urls)
        _migrate(ready)
        asyncio.run(_with_stores(ready, _encrypt_pending))
        if settings.seed_demo:
            asyncio.run(_with_stores(ready, _seed))
        runfile = _runfile(settings)
        runfile.parent.mkdir(parents=True, exist_ok=True)
        runfile.write_text(json.dumps({"pid": os.getpid(), "database_url": urls.database,
                                       "graph_url": urls.graph}))
        try:
            # Embedded stores that die are restarted in place while the app serves.
            with supervise(urls.embedded) as supervisor:
                app = create_app(ready, stores_down=supervisor.down if supervisor else None)
                base = f"http://{settings.host}:{settings.port}"
                print(f"Graph CRM on {base}/graphql (explorer: {base}/explore)", flush=True)
                uvicorn.run(app, host=settings.host, port=settings.port,
                            log_level=settings.log_level.lower(), log_config=None,
                            access_log=False)
        finally:
            runfile.unlink(missing_ok=True)
    return 0


def _sdl(*, check: bool, write: bool) -> int:
    from schema.root import SDL_PATH, sdl

    current = sdl()
    if write:
        SDL_PATH.write_text(current)
        print(f"wrote {SDL_PATH}")
        return 0
    committed = SDL_PATH.read_text() if SDL_PATH.exists() else ""
    if committed != current:
        print(f"{SDL_PATH} is out of date: run `make sdl` and commit it", file=sys.stderr)
        return 1
    if not check:
        print(current, end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm", description="Graph CRM")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start stores as needed, migrate, seed once, serve")
    commands.add_parser("worker", help="run a job worker alone (stores as for serve)")
    commands.add_parser("jobs", help="list pending and failed jobs")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("seed", help="seed the demo dataset (once)")
    graph = commands.add_parser("graph", help="graph projection maintenance")
    graph.add_argument("action", choices=["rebuild", "verify"])
    influence = commands.add_parser("influence", help="committees' stored influence scores")
    influence.add_argument("action", choices=["recompute"],
                           help="recompute: every committee's scores from the graph")
    audit = commands.add_parser("audit", help="audit log: `verify` its SM3 hash chain; "
                                              "`report` the data-use audit report of a month")
    audit.add_argument("action", choices=["verify", "report"])
    audit.add_argument("--period", help="report: the month, YYYY-MM")
    audit.add_argument("--department", help="report: only readers of this department")
    audit.add_argument("--out", type=Path, default=Path("."),
                       help="report: directory for audit-report-<period>.html and .csv")
    backup = commands.add_parser(
        "backup", help="`crm backup DIR`: a backup of the ledger (and the sealed keys); "
                       "`crm backup verify DIR`: restore it into a scratch instance and check it")
    backup.add_argument("target", nargs="+", metavar="[verify] DIR")
    commands.add_parser("drill", help="recovery drill on this ledger (writes 100 accounts of "
                                      "industry 'recovery drill'): backup under load, restore "
                                      "--to into a scratch dir; prints RTO and RPO figures")
    restore = commands.add_parser(
        "restore", help="restore a backup into the empty DATA_DIR, or into the empty database "
                        "DATABASE_URL names")
    restore.add_argument("directory", type=Path)
    restore.add_argument("--to", type=_moment, default=None,
                         help="point in time (ISO 8601) to recover to; default: all archived "
                              "WAL (DATA_DIR), the end of the backup (DATABASE_URL)")
    restore.add_argument("--wal-archive", type=Path, default=None,
                         help="WAL archive to replay (default: the one named in the manifest)")
    keys = commands.add_parser("keys", help="field-encryption keys").add_subparsers(
        dest="action", required=True)
    keys.add_parser("status", help="envelopes per key version, plaintext left")
    keys.add_parser("rotate", help="re-encrypt to the current key version (online)").add_argument(
        "--batch", type=int, default=key_rotation.DEFAULT_BATCH, help="rows per transaction")
    sdl = commands.add_parser("sdl", help="the committed SDL (schema/schema.graphql)")
    sdl.add_argument("--check", action="store_true", help="fail if it differs from the code")
    sdl.add_argument("--write", action="store_true", help="rewrite it from the code")
    args = parser.parse_args(argv)
    if args.command == "sdl":
        return _sdl(check=args.check, write=args.write)
    settings = get_settings()
    configure_logging(settings)
    try:
        return _run(args, settings)
    except KeyboardInterrupt:
        verifying = args.command == "backup" and args.target[0] == "verify"
        what = INTERRUPTED.get("verify" if verifying else args.command, "stopped")
        print(f"\ninterrupted: {what}", file=sys.stderr)
        return 130
    except (recovery.RestoreRefused, pg_backup.BackupError) as error:
        print(f"crm {args.command}: {error}", file=sys.stderr)
        return 1


# What is left after a Ctrl-C, per command.
INTERRUPTED = {
    "graph": "nothing in the ledger changed; the graph is incomplete until "
             "`crm graph rebuild` runs again",
    "keys": "the batches committed so far are done; `crm keys rotate` continues with the rest",
    "influence": "the stored influence scores are as they were; run `crm influence recompute` "
                 "again",
    "backup": "the partial backup was removed",
    "restore": "the partial restore was removed; DATA_DIR (or the database of DATABASE_URL) is "
               "as before",
    "verify": "nothing changed; the scratch instance was removed",
}


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(settings)
    if args.command == "backup" and args.target[0] == "verify":
        if len(args.target) != 2:
            print("usage: crm backup verify DIR", file=sys.stderr)
            return 2
        return _backup_verify(settings, Path(args.target[1]))
    if args.command == "restore":
        return _restore(settings, args.directory, args.to, args.wal_archive)
    with stores_up(settings) as urls:
        ready = _with_urls(settings, urls)
        if args.command == "migrate":
            _migrate(ready)
            return 0
        _migrate(ready)
        works: dict[str, Work] = {
            "seed": _seed, "rebuild": _rebuild, "worker": _work, "jobs": _jobs,
            "recompute": _influence_recompute,
            "verify": _verify, "status": _keys_status,
            "audit": _audit_verify if getattr(args, "action", "") == "verify" else partial(
                _audit_report, period=getattr(args, "period", None),
                department=getattr(args, "department", None),
                out=getattr(args, "out", Path("."))),
            "backup": partial(_backup, directory=Path(getattr(args, "target", ["."])[-1])),
            "drill": partial(_drill, graph_url=urls.graph),
            "rotate": partial(_keys_rotate, batch=getattr(args, "batch", 0))}
        if args.command == "backup" and len(args.target) != 1:
            print("usage: crm backup DIR | crm backup verify DIR", file=sys.stderr)
            return 2
        work = works[args.action if args.command in {"graph", "keys", "influence"}
                     else args.command]
        return asyncio.run(_with_stores(ready, work))


if __name__ == "__main__":
    sys.exit(main())
