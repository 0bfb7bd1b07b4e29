"""An unreachable graph fails fast and the same way on both engines: connecting plus retrying
is bounded by GRAPH_TIMEOUT_SECONDS (the Neo4j driver's own retry budget is 30 s)."""

from __future__ import annotations

import pytest

from graph.embedded import EmbeddedFalkorDB
from graph.engine import GraphUnavailable, connect
from graph.falkor import FalkorEngine
from graph.neo4j_engine import Neo4jEngine
from tests.conftest import free_port


@pytest.mark.parametrize("scheme", ["bolt", "falkordb"])
async def test_a_graph_nobody_listens_on_is_unavailable(scheme: str) -> None:
    engine = connect(f"{scheme}://127.0.0.1:{free_port()}", "crm", timeout_seconds=1.0)
    try:
        with pytest.raises(GraphUnavailable):
            await engine.read("RETURN 1 AS one")
    finally:
        await engine.close()


def test_the_neo4j_driver_gets_the_budget_not_its_defaults() -> None:
    engine = connect("neo4j://127.0.0.1:7687", "crm", timeout_seconds=3.0)
    assert isinstance(engine, Neo4jEngine)
    driver = engine._driver
    # Half the budget to connect, half to retry (the driver defaults are 30 s and 30 s).
    assert driver._pool.pool_config.connection_timeout == 1.5
    assert driver._default_workspace_config.max_transaction_retry_time == 1.5
    assert driver._default_workspace_config.connection_acquisition_timeout == 3.0


async def test_falkordb_connects_within_the_budget(falkor: EmbeddedFalkorDB) -> None:
    engine = connect(falkor.start(), "crm", timeout_seconds=3.0)
    assert isinstance(engine, FalkorEngine)
    try:
        assert await engine.write("RETURN 1 AS one") == [{"one": 1}]
        db, _ = await engine._connected()
        assert db.connection.connection_pool.connection_kwargs["socket_connect_timeout"] == 1.0
    finally:
        await engine.close()
