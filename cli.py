"""The `crm` command: serve, migrate, seed, graph rebuild/verify."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psutil

from composition import open_stores
from graph.projection import Projector
from relational.migrate import upgrade
from services import key_rotation
from services.audit import verify as verify_audit
from services.demo import seed_demo
from services.graph_sync import rebuild, verify
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

            postgres = stack.enter_context(EmbeddedPostgres(settings.data_dir / "pg"))
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

    counts = await rebuild(stores.ledger, stores.graph)
    print("graph rebuilt: " + ", ".join(f"{value} {key}" for key, value in counts.items()))
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
    report = await key_rotation.rotate(stores.ledger, stores.cipher, batch=batch)
    print("\n".join(report.summary()))
    return 0 if report.complete else 1


async def _keys_status(stores: Stores, projector: Projector) -> int:
    print("\n".join((await key_rotation.status(stores.read, stores.cipher)).summary()))
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
                            log_level=settings.log_level.lower())
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
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("seed", help="seed the demo dataset (once)")
    graph = commands.add_parser("graph", help="graph projection maintenance")
    graph.add_argument("action", choices=["rebuild", "verify"])
    audit = commands.add_parser("audit", help="audit log: check its SM3 hash chain")
    audit.add_argument("action", choices=["verify"])
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
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "serve":
        return _serve(settings)
    with stores_up(settings) as urls:
        ready = _with_urls(settings, urls)
        if args.command == "migrate":
            _migrate(ready)
            return 0
        _migrate(ready)
        works: dict[str, Work] = {
            "seed": _seed, "rebuild": _rebuild, "verify": _verify, "status": _keys_status,
            "audit": _audit_verify,  # its only action
            "rotate": partial(_keys_rotate, batch=getattr(args, "batch", 0))}
        work = works[
            args.action if args.command in {"graph", "keys"} else args.command]
        return asyncio.run(_with_stores(ready, work))


if __name__ == "__main__":
    sys.exit(main())
