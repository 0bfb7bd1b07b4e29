"""One settings class for the whole application (environment variables, `.env`)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration read from the environment; every field has a safe default."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    port: int = Field(default=8000, description="HTTP port of `crm serve`")
    host: str = Field(default="127.0.0.1", description="bind address of `crm serve`")
    data_dir: Path = Field(default=Path(".data"), description="embedded stores keep data here")
    database_url: str | None = Field(
        default=None,
        description="postgresql+psycopg://… of an external Postgres; unset → embedded Postgres",
    )
    graph_url: str | None = Field(
        default=None,
        description="neo4j://user:pass@host:7687 or falkordb://host:port; unset → embedded",
    )
    graph_name: str = Field(default="crm", description="graph (FalkorDB) or database (Neo4j) name")
    seed_demo: bool = Field(default=True, description="`crm serve` seeds the demo dataset once")

    graphiql: bool = Field(default=False, description="serve GraphiQL at /graphql")
    explorer_dir: Path = Field(
        default=Path(__file__).resolve().parent / "web" / "static",
        description="files of the /explore page (`make install` copies its script there)")
    introspection: bool = Field(default=False, description="allow schema introspection")
    rate_limit_per_minute: int = Field(default=600, ge=1,
                                       description="GraphQL requests per user or API token")
    anonymous_rate_limit_per_minute: int = Field(default=120, ge=1,
                                                 description="requests per client address")
    sensitive_reads_per_minute: int = Field(
        default=2000, ge=1, description="protected-field reads per user and minute before a "
                                       "security event is recorded")
    max_query_cost: int = Field(default=20000, ge=100,
                                description="fields × page sizes of nested connections")
    cors_origins: list[str] = Field(default_factory=list,
                                    description="origins allowed to call the API from a browser")
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=2000, ge=100)
    max_page_size: int = Field(default=100, ge=1, le=100)
    max_group_depth: int = Field(default=32, ge=1, le=50)
    quote_discount_threshold_pct: Decimal = Field(
        default=Decimal(10), ge=0, le=100,
        description="a quote discounted above this percent needs a manager's approval")
    min_closed_deals_to_train: int = Field(
        default=40, ge=10, description="closed deals the win model needs; fewer: rule-based")

    jwt_secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="HMAC key of access tokens; set it (the same on every instance) in production",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=120)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    password_hash_memory_kib: int = Field(default=65536, ge=1024,
                                          description="argon2id memory cost of new hashes")
    password_hash_time_cost: int = Field(default=3, ge=1, description="argon2id passes")
    login_max_failures: int = Field(default=5, ge=1, description="failures before a lock-out")
    login_lock_minutes: int = Field(default=15, ge=1)
    login_backoff_seconds: float = Field(
        default=0.5, ge=0, description="delay per recent failure before answering a login")

    sms_gateway: Literal["file", "none"] = Field(
        default="file", description="step-up SMS: `file` appends to $DATA_DIR/sms-outbox.log, "
                                    "`none` offers TOTP only")
    step_up_code_minutes: int = Field(default=5, ge=1, le=30,
                                      description="an SMS step-up code is valid this long")
    step_up_max_attempts: int = Field(default=5, ge=1, le=10,
                                      description="wrong codes before a challenge is burned")
    step_up_starts_per_hour: int = Field(default=10, ge=1,
                                         description="step-up challenges per session and hour")

    field_keys: SecretStr | None = Field(
        default=None,
        description="SM4 field keys '1:<32 hex>,2:<32 hex>'; unset → $DATA_DIR/keys.env "
                    "(generated once)",
    )
    field_key_current: int | None = Field(
        default=None, ge=1, description="key version new envelopes use; unset → the highest")
    blind_index_key: SecretStr | None = Field(
        default=None, description="HMAC-SM3 blind-index key, ≥ 32 hex chars, also the root of "
                                   "the cursor-sealing key: the same on every instance; unset → "
                                   "keys.env")

    reporting_currency: str = Field(default="CNY", min_length=3, max_length=3)
    projector_retry_seconds: float = Field(default=2.0, gt=0)
    graph_timeout_seconds: float = Field(
        default=3.0, gt=0, description="connect + retry budget of a graph call: an unreachable "
                                       "graph fails within about this long on either engine")
    projection_wait_seconds: float = Field(
        default=2.0, ge=0, description="how long a mutation waits for the graph to apply its "
                                       "change before answering (read your own writes)")
    db_pool_size: int = Field(default=10, ge=1)
    db_connect_timeout_seconds: int = Field(
        default=3, ge=1, description="connecting to PostgreSQL gives up after this long")
    db_pool_timeout_seconds: float = Field(
        default=3.0, gt=0, description="longest wait for a free connection of the pool")
    unavailable_retry_after_seconds: int = Field(
        default=2, ge=1, description="`Retry-After` (and `retryAfter`) of an UNAVAILABLE or "
                                     "OUTCOME_UNKNOWN answer while a store is unreachable")
    idempotency_retention_hours: int = Field(
        default=24, ge=1, description="how long an idempotency key of a create is remembered")
    event_retention_days: float = Field(
        default=7, gt=0, description="outbox events are kept (and subscription cursors "
                                     "resumable) this long")
    subscription_poll_seconds: float = Field(
        default=1.0, gt=0, description="the dispatcher reads the outbox at least this often "
                                       "(NOTIFY wakes it sooner)")
    subscription_queue_limit: int = Field(
        default=1000, ge=1, description="events one subscriber may fall behind before the "
                                        "server closes its socket (1013; it resumes)")
    subscriptions_per_connection: int = Field(default=20, ge=1)
    subscriptions_per_identity: int = Field(default=100, ge=1)
    ws_init_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a WebSocket must send connection_init within this "
                                        "long (else 4408)")
    ws_auth_recheck_seconds: float = Field(
        default=30.0, gt=0, description="how often an open socket's token is checked again "
                                        "(expiry and revocation end it with 4403)")
    worker_in_process: bool = Field(
        default=True, description="`crm serve` runs a job worker in the app process (`crm "
                                  "worker` runs one alone)")
    worker_concurrency: int = Field(default=4, ge=1, le=64,
                                    description="jobs one worker runs at the same time")
    worker_shutdown_seconds: float = Field(
        default=10.0, ge=0, description="how long a stopping worker waits for its running jobs; "
                                        "one still running is re-queued by the next worker")
    churn_after_days: int = Field(
        default=365, ge=30, description="a customer with no order and no interaction this long "
                                        "becomes CHURNED (lifecycle rule)")
    care_follow_up_days: int = Field(
        default=30, ge=1, le=365, description="days without an interaction after which the "
        "account owner gets a follow-up reminder (each user may set their own)")
    care_renewal_notice_days: int = Field(
        default=30, ge=1, le=365, description="days before a contract's term ends that its "
        "renewal reminder is due")
    care_date_notice_days: int = Field(
        default=3, ge=0, le=60, description="days before a contact's important date that its "
        "reminder is due")
    winback_campaign: str = Field(
        default="流失挽回", description="campaign a CHURNED account is enrolled in, if it exists")
    value_tier_revenue_weight: str = Field(
        default="0.01", description="share of annual revenue counted in the value-tier score")
    value_tier_thresholds: str = Field(
        default="5000000,1000000,100000", description="score needed for tiers A,B,C (else D)")
    log_level: str = Field(default="INFO")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="one line per event: JSON lines, or readable `console` "
                                    "lines; `auto` → console in a terminal, JSON otherwise")

    wal_archive: Path | None = Field(
        default=None, description="continuous WAL archive of the embedded PostgreSQL; unset → "
                                  "$DATA_DIR/wal-archive (put it on another disk or host)")
    archive_timeout_seconds: int = Field(
        default=300, ge=1, le=900, description="a WAL segment is archived at least this often "
                                               "while there are writes: the RPO bound")
    backup_passphrase: SecretStr | None = Field(
        default=None, description="seals the key file inside backups; unset → backups hold no "
                                  "keys (with a loud warning)")
    backup_root: Path | None = Field(
        default=None, description="scheduled daily backups go here (7 daily, 4 weekly kept); "
                                  "unset → $DATA_DIR/backups")
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token for /metrics from other hosts (loopback needs "
                                  "none); unset → loopback only")
    report_timezone: str = Field(default="Asia/Shanghai",
                                 description="months of the data-use audit report begin here")
    ready_max_projector_lag_seconds: float = Field(
        default=30.0, gt=0, description="/readyz is not ready while the graph is further behind "
                                        "the newest commit than this")

    @property
    def wal_archive_dir(self) -> Path:
        return (self.wal_archive or self.data_dir / "wal-archive").expanduser().resolve()

    @property
    def backup_dir(self) -> Path:
        return (self.backup_root or self.data_dir / "backups").expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
