"""Benchmarks for Graph CRM: seed a large ledger, serve the real app in-process and time real
GraphQL over HTTP. Figures only; nothing here asserts a wall-clock time.

`python -m bench` (or `make bench`) starts embedded PostgreSQL and FalkorDB in a temporary
directory, seeds 100,000 accounts with their contacts and group structures, rebuilds the graph,
and prints latency percentiles and round trips per request for the main read scenarios.

Environment:
  BENCH_DATABASE_URL / BENCH_GRAPH_URL  use existing stores instead of embedded ones (the
                                        database must be empty, or set BENCH_RESET=1 to
                                        truncate accounts, contacts and edges; the graph
                                        `crm_bench` is recreated)
  BENCH_ACCOUNTS                        accounts to seed (default 100000)
  BENCH_REQUESTS / BENCH_WARMUP         measured / warm-up requests per scenario (200 / 20)
  BENCH_SEED                            random seed of the dataset and the request mix
"""
