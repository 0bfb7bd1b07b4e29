"""Keeps the embedded stores of `crm serve` running: a thread polls each store's process and
restarts a dead one on the same data directory and address (so the URLs the app holds stay
valid), with exponential backoff between failed attempts. External stores (DATABASE_URL /
GRAPH_URL) are someone else's to run and are never supervised.

A thread, not an asyncio task: a restart blocks for as long as crash recovery takes, and the
stores' children are tied to the thread that started them (`PR_SET_PDEATHSIG` fires when that
thread ends), so the same thread that restarts them also stops them at the end."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from itertools import count
from typing import Protocol

log = logging.getLogger("crm.supervisor")

POLL_SECONDS = 0.5
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0


def backoff(first: float, cap: float) -> Iterator[float]:
    """Waits before each restart attempt: `first`, doubling, at most `cap`."""
    for step in count():
        yield min(first * 2**step, cap)


class Supervised(Protocol):
    """An embedded store (relational/embedded.py, graph/embedded.py)."""

    def alive(self) -> bool: ...

    def restart(self) -> None: ...

    def stop(self) -> None: ...


class Supervisor:
    def __init__(self, stores: dict[str, Supervised], *, poll_seconds: float = POLL_SECONDS,
                 backoff_first: float = BACKOFF_FIRST_SECONDS,
                 backoff_cap: float = BACKOFF_CAP_SECONDS) -> None:
        self._stores = stores
        self._poll = poll_seconds
        self._first, self._cap = backoff_first, backoff_cap
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._down: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="store-supervisor", daemon=True)

    def down(self) -> frozenset[str]:
        """Names of the stores that are dead or being restarted right now."""
        with self._lock:
            return frozenset(self._down)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop supervising and stop the stores (from the thread that may have started them)."""
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self._poll):
                for name, store in self._stores.items():
                    if not self._stopping.is_set() and not store.alive():
                        self._heal(name, store)
        finally:
            for name, store in reversed(self._stores.items()):
                try:
                    store.stop()
                except Exception:
                    log.exception("could not stop the embedded %s store", name)

    def _heal(self, name: str, store: Supervised) -> None:
        with self._lock:
            self._down.add(name)
        log.warning("the embedded %s store died; restarting it", name)
        died = time.monotonic()
        delays = backoff(self._first, self._cap)
        delay, attempt = next(delays), 0
        while not self._stopping.wait(delay):
            attempt += 1
            try:
                store.restart()
            except Exception as error:
                delay = next(delays)
                log.warning("restart %d of the embedded %s store failed, next in %.1f s: %s",
                            attempt, name, delay, error)
                continue
            log.warning("the embedded %s store is back after %.1f s (attempt %d)",
                        name, time.monotonic() - died, attempt)
            break
        with self._lock:
            self._down.discard(name)


@contextlib.contextmanager
def supervise(stores: Sequence[tuple[str, Supervised]]) -> Iterator[Supervisor | None]:
    """Supervise `stores` for as long as the block runs; they are stopped on exit. None when
    there is nothing to supervise."""
    if not stores:
        yield None
        return
    supervisor = Supervisor(dict(stores))
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.close()
