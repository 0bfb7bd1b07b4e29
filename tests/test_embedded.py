"""The embedded stores are real server processes that keep their data across restarts."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from falkordb import FalkorDB
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from graph.embedded import EmbeddedFalkorDB, EmbeddedFalkorDBError
from relational.embedded import EmbeddedPostgres, create_database


def _libpq(url: str) -> str:
    """psycopg takes the SQLAlchemy URL once the driver suffix is gone."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _graph_client(url: str) -> FalkorDB:
    parts = urlsplit(url)
    return FalkorDB(host=parts.hostname, port=parts.port)


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data") as server:
        assert server.url is not None
        yield server.url


# -- PostgreSQL ---------------------------------------------------------------------


def test_postgres_keeps_data_across_restart(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "nested" / "pg")
    url = server.start()
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("CREATE TABLE account (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO account VALUES (1, '华东重工')")
    server.stop()
    assert not server.is_running()
    server.stop()  # idempotent

    assert server.start() == url
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT id, name FROM account").fetchall() == [(1, "华东重工")]
    server.stop()


def test_postgres_listens_on_its_own_socket_only(pg_url: str) -> None:
    with psycopg.connect(_libpq(pg_url)) as conn:
        row = conn.execute(
            "SELECT inet_server_addr(), current_setting('listen_addresses'), "
            "current_setting('unix_socket_directories')"
        ).fetchone()
    socket_dir = parse_qs(urlsplit(pg_url).query)["host"][0]
    assert row is not None
    assert row[0] is None  # a unix-socket connection: no TCP, no clash with :5432
    assert row[1] == ""
    assert row[2] == socket_dir


async def test_postgres_serves_sqlalchemy_async(pg_url: str) -> None:
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT current_user"))).scalar_one() == "postgres"
    finally:
        await engine.dispose()


def test_create_database_is_idempotent(pg_url: str) -> None:
    url = create_database(pg_url, "crm_idempotent")
    assert create_database(pg_url, "crm_idempotent") == url
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("crm_idempotent",)


def test_pg_trgm_matches_chinese_names(pg_url: str) -> None:
    url = create_database(pg_url, "crm_trgm")
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
        row = conn.execute(
            "SELECT similarity('华东重工', '华东重工'), '华东重工集团' % '华东重工',"
            " similarity('华东重工', 'Acme')"
        ).fetchone()
    assert row == (1.0, True, 0.0)


def test_postgres_takes_over_a_server_left_by_a_crashed_owner(tmp_path: Path) -> None:
    crashed = EmbeddedPostgres(tmp_path / "pg")
    url = crashed.start()
    with psycopg.connect(_libpq(url)) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    old_pid = int((tmp_path / "pg" / "postmaster.pid").read_text().split()[0])

    successor = EmbeddedPostgres(tmp_path / "pg")
    assert successor.start() == url
    new_pid = int((tmp_path / "pg" / "postmaster.pid").read_text().split()[0])
    assert new_pid != old_pid
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT to_regclass('kept')::text").fetchone() == ("kept",)
    successor.stop()
    crashed.stop()
    assert not (tmp_path / "pg" / "postmaster.pid").exists()


def test_postgres_starts_despite_stale_pid_file(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    server.start()
    server.stop()
    # A pid file naming a live process that is not postgres (a recycled pid).
    pid_file = tmp_path / "pg" / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{tmp_path / 'pg'}\n")
    url = server.start()
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    server.stop()


def test_relative_data_dir_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert EmbeddedPostgres(Path(".data/pg")).data_dir == tmp_path / ".data" / "pg"
    assert EmbeddedFalkorDB(Path(".data/graph")).data_dir == tmp_path / ".data" / "graph"


# -- FalkorDB -----------------------------------------------------------------------


def test_falkordb_keeps_graph_across_restart(tmp_path: Path) -> None:
    server = EmbeddedFalkorDB(tmp_path / "graph")
    url = server.start()
    assert url.startswith("falkordb://127.0.0.1:")
    assert server.is_running()
    with _graph_client(url) as db:
        db.select_graph("crm").query("CREATE (:Account {name: $name})", {"name": "华东重工"})
    server.stop()
    assert not server.is_running()
    server.stop()  # idempotent

    assert server.start() == url  # same port on restart
    with _graph_client(url) as db:
        result = db.select_graph("crm").query("MATCH (a:Account) RETURN a.name")
        assert result.result_set == [["华东重工"]]
        assert db.list_graphs() == ["crm"]  # the readiness probe left nothing behind
    server.stop()


def test_falkordb_replaces_a_server_left_on_its_data_dir(tmp_path: Path) -> None:
    crashed = EmbeddedFalkorDB(tmp_path / "graph")
    crashed.start()
    with EmbeddedFalkorDB(tmp_path / "graph") as successor:
        assert not crashed.is_running()  # two servers must never share one AOF
        assert successor.is_running()
    crashed.stop()


def test_falkordb_reports_a_taken_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedFalkorDB(tmp_path / "graph", port=taken.getsockname()[1])
        with pytest.raises(EmbeddedFalkorDBError, match="Address already in use"):
            server.start()
    assert not server.is_running()
