"""Where the CPU goes: this process (app + client), the embedded stores' processes, everything
else on the machine (other load skews latency on 2 cores), and the Python garbage collector."""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

Pids = dict[int, float]  # CPU seconds of each process of a store


def _spent(now: Pids, before: Pids) -> float:
    """CPU used in between by the processes alive at the end (a process that exited, such as
    redis's snapshot child, takes its time along)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())


@dataclass(frozen=True)
class CpuTimes:
    """Seconds: cumulative in a sample, an interval after subtracting two samples."""

    app: float  # this process: the app under test and the HTTP client
    postgres: float
    graph: float
    machine: float  # every CPU of the machine, busy time
    gc: float  # inside this process's garbage collector
    full_gcs: int  # collections of the oldest generation
    objects: int = 0  # objects the collector tracks (at the later sample)
    pids: tuple[Pids, Pids] = ({}, {})  # postgres, graph processes (samples only)

    def __sub__(self, other: CpuTimes) -> CpuTimes:
        return CpuTimes(self.app - other.app, _spent(self.pids[0], other.pids[0]),
                        _spent(self.pids[1], other.pids[1]), self.machine - other.machine,
                        self.gc - other.gc, self.full_gcs - other.full_gcs, self.objects)

    @property
    def other(self) -> float:
        """Busy time of everything else: other users of the machine, the kernel."""
        return max(0.0, self.machine - self.app - self.postgres - self.graph)


def _busy() -> float:
    times = psutil.cpu_times()
    idle = float(times.idle) + float(getattr(times, "iowait", 0.0))
    return float(sum(times)) - idle


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


class CpuMeter:
    """Samples CPU time; store processes are found by their working directory (the embedded
    servers chdir to their data dirs), so external stores count as `other`."""

    def __init__(self, postgres_dir: Path | None, graph_dir: Path | None) -> None:
        self._dirs = {name: path.resolve() for name, path in
                      (("postgres", postgres_dir), ("redis-server", graph_dir)) if path}
        self._gc_started = 0.0
        self._gc_total = 0.0
        self._full = 0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        self._gc_total += time.perf_counter() - self._gc_started
        if info.get("generation") == 2:
            self._full += 1

    def __enter__(self) -> CpuMeter:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._on_gc)

    def _stores(self) -> dict[str, Pids]:
        found: dict[str, Pids] = {name: {} for name in self._dirs}
        for proc in psutil.process_iter(["name"]):
            with contextlib.suppress(psutil.Error):
                name = proc.info["name"]
                if name in self._dirs and Path(proc.cwd()) == self._dirs[name]:
                    found[name][proc.pid] = _cpu(proc)
        return found

    def now(self) -> CpuTimes:
        stores = self._stores()
        postgres, graph = stores.get("postgres", {}), stores.get("redis-server", {})
        return CpuTimes(_cpu(psutil.Process()), sum(postgres.values()), sum(graph.values()),
                        _busy(), self._gc_total, self._full, len(gc.get_objects()),
                        (postgres, graph))
