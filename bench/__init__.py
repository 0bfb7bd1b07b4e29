"""Benchmarks for Graph CRM: seed a large ledger, serve the real app in-process and time real
GraphQL over HTTP. Figures only; nothing here asserts a wall-clock time.

`python -m bench` (or `make bench`) starts embedded PostgreSQL and FalkorDB in a temporary
directory, seeds 100,000 accounts with ~300,000 contacts (protected fields sealed with keys
generated into that directory) and ~10,000 ownership groups, rebuilds the graph, logs in as a
freshly created administrator and prints, per scenario, latency percentiles, round trips per
request, where the CPU went, and EXPLAIN ANALYZE of the SQL the requests sent. Scenario (d)
prices field security: pages of exactly 100 contacts read by a freshly created finance user
through 5 masked protected field selections, against the same pages read by the administrator
without protected fields (ratio target: p95 at most 1.3x). Scenario (e) compares `account(id)`
through the whole GraphQL stack with a hand-written Starlette + SQLAlchemy endpoint reading
the same row with the same authentication (`bench.handwritten`, served beside the app only
during the run): requests/second of both (target: GraphQL at least 50 % of hand-written).

Environment:
  BENCH_DATABASE_URL / BENCH_GRAPH_URL  use existing stores instead of embedded ones (the
                                        database must be empty, or set BENCH_RESET=1 to
                                        truncate accounts, contacts and edges; the graph
                                        `crm_bench` is recreated; `bench-admin-…` and
                                        `bench-finance-…` users are left behind, and the
                                        contacts' keys are not kept)
  BENCH_ACCOUNTS                        accounts to seed (default 100000)
  BENCH_SCALE (make bench SCALE=…)      several runs, each on fresh stores, at these account
                                        counts (comma/space separated; one scale above
                                        BENCH_ACCOUNTS runs BENCH_ACCOUNTS too), then a table
                                        of p50/p95 per scenario per scale
  BENCH_REQUESTS / BENCH_WARMUP         measured / warm-up requests per scenario (200 / 20)
  BENCH_SEED                            random seed of the dataset and the request mix
"""
