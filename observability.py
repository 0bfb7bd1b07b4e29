"""What an operator watches: the log (structlog: JSON lines, or readable lines in a terminal;
the standard library's loggers — ours, uvicorn's, alembic's — go through the same renderer),
and progress of long commands (a bar with rate and ETA in a terminal, plain lines otherwise).

It imports nothing of the project but settings, so every root module can use it."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from settings import Settings

# Keys that never reach a log line, whatever a caller passes (values are dropped, not masked).
_SECRET_KEYS = frozenset({"password", "token", "access_token", "refresh_token", "secret",
                          "authorization", "phone", "email", "id_number", "idnumber", "code",
                          "variables", "query", "passphrase"})


def _drop_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in [key for key in event if key.lower() in _SECRET_KEYS]:
        del event[key]
    return event


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """The one logging set-up of every process (`crm serve`, other `crm` commands)."""
    out = stream or sys.stderr
    console = settings.log_format == "console" or (
        settings.log_format == "auto" and out.isatty())
    shared: list[Any] = [structlog.contextvars.merge_contextvars,
                         structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                         structlog.processors.TimeStamper(fmt="iso", utc=True), _drop_secrets]
    renderer: Any = (structlog.dev.ConsoleRenderer(colors=out.isatty()) if console
                     else structlog.processors.JSONRenderer(ensure_ascii=False))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger, cache_logger_on_first_use=True)
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info, renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # One line per request comes from the GraphQL layer; uvicorn's access line would repeat
    # it with the full URL.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Library chatter at INFO (pool check-ins, migration steps) is not the operator's news;
    # the pool's logger is named after its class, which lives in our relational package.
    for name in ("alembic", "sqlalchemy", "relational.repositories.health.CountingPool"):
        logging.getLogger(name).setLevel(logging.WARNING)


Update = Callable[[int, int], None]  # (done, total)
PLAIN_EVERY_SECONDS = 2.0


def _plain(label: str, unit: str, out: TextIO) -> Update:
    """Progress as plain lines (a log file, CI): at most one every couple of seconds, and the
    last one; each with the rate and the time left."""
    started = time.monotonic()
    last = [0.0]

    def update(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PLAIN_EVERY_SECONDS and done < total:
            return
        last[0] = now
        elapsed = max(now - started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 and total else 0.0
        share = f"{100 * done / total:5.1f}%" if total else "  -  "
        size = (f"{done / 2**20:.1f}/{total / 2**20:.1f} MiB" if unit == "B"
                else f"{done}/{total}")
        speed = f"{rate / 2**20:.1f} MiB/s" if unit == "B" else f"{rate:.0f}/s"
        print(f"{label}: {share} {size} {speed} ETA {left:.0f} s", file=out, flush=True)

    return update


class _RowRate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


@contextlib.contextmanager
def progress(out: TextIO | None = None) -> Iterator[Callable[[str, str], Update]]:
    """A factory of progress displays, one per phase (`phase("backup", "B")`), shown one after
    the other: a rich bar with rate and ETA in a terminal, plain lines otherwise. `unit` "B"
    shows sizes and MiB/s, "" counts rows."""
    stream = out or sys.stderr
    if not stream.isatty():
        yield lambda label, unit: _plain(label, unit, stream)
        return
    console = Console(file=stream)
    shown: list[Progress] = []

    def phase(label: str, unit: str) -> Update:
        for bar in shown:
            bar.stop()
        sized = (DownloadColumn(), TransferSpeedColumn()) if unit == "B" else (
            MofNCompleteColumn(), _RowRate())
        bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                       *sized, TimeRemainingColumn(), console=console)
        shown[:] = [bar]
        task = bar.add_task(label, total=None)
        bar.start()

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        return update

    try:
        yield phase
    finally:
        for bar in shown:
            bar.stop()
