"""The process's Prometheus metrics (`/metrics`, prometheus-client). Counted where the event
happens (a use case, the request boundary); the gauges of the stores (pool, outbox backlog,
projector lag, job queue) are sampled when `/metrics` is scraped."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from graph.engine import RoundTrips

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("crm_graphql_requests", "GraphQL operations by operation name and outcome "
                   "code (OK or the first error's code)", ["operation", "outcome"],
                   registry=REGISTRY)
LATENCY = Histogram("crm_graphql_request_seconds", "Duration of GraphQL operations",
                    ["operation", "outcome"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SENSITIVE_READS = Counter("crm_sensitive_reads", "Protected fields read (in clear, masked or "
                          "refused), by the reader's role", ["role"], registry=REGISTRY)
RATE_LIMITED = Counter("crm_rate_limit_refusals", "GraphQL requests refused by the rate limit",
                       registry=REGISTRY)
LOGIN_FAILURES = Counter("crm_login_failures", "Failed logins (wrong password, unknown user, "
                         "locked account)", registry=REGISTRY)
POOL_IN_USE = Gauge("crm_db_pool_in_use", "Ledger connections checked out of the pool",
                    registry=REGISTRY)
POOL_WAITING = Gauge("crm_db_pool_waiting", "Requests waiting for a ledger connection",
                     registry=REGISTRY)
OUTBOX_BACKLOG = Gauge("crm_outbox_backlog", "Outbox events not yet applied to the graph",
                       registry=REGISTRY)
PROJECTOR_LAG = Gauge("crm_projector_lag_seconds", "Age of the oldest event the graph has not "
                      "applied (0 when current)", registry=REGISTRY)
JOB_QUEUE = Gauge("crm_jobs_queued", "Durable jobs waiting to run", registry=REGISTRY)
JOB_FAILURES = Gauge("crm_jobs_failed", "Durable jobs that failed", registry=REGISTRY)


def sensitive_reads(roles: tuple[str, ...], count: int) -> None:
    for role in roles or ("none",):
        SENSITIVE_READS.labels(role=role).inc(count)


def count_round_trips() -> list[int]:
    """From here on, graph round trips of this request (and the tasks it starts) are counted
    into the returned box as well."""
    box = [0]
    RoundTrips.current.set(box)
    return box


class _GraphRoundTrips(Collector):
    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily("crm_graph_round_trips", "Cypher statements sent to the graph",
                                  value=RoundTrips.total)


REGISTRY.register(_GraphRoundTrips())
