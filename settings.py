"""One typed settings object, read from the environment. Every limit is a named setting."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from core.limits import COMMENT, MESSAGE, PASSWORD, TEXT_LIMITS, TITLE, USERNAME
from core.telemetry import TracingConfig
from settings_sources import ConsulKVSource

DEFAULT_JWT_SECRET = "insecure-development-secret-change-me"


class Settings(BaseSettings):
    # A refused start names the setting and the rule, never the value read (it may be a secret).
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "production"
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    # Connections: an idle keep-alive connection is closed after this long; once MAX_CONNECTIONS
    # connections (or requests in flight) are open in a worker, new requests get a 503 at once (0: no
    # cap; every open subscription is a connection, so leave room for them); on SIGTERM, requests in
    # flight get this long to finish.
    keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    # The event loop each worker runs. uvloop takes new connections one per turn of the loop: with a
    # worker saturated, a phone connecting waited about a turn (32 requests' work) per connection ahead
    # of it, seconds at a time; asyncio's own loop takes them all each turn, at the same throughput.
    server_loop: Literal["asyncio", "uvloop"] = "asyncio"
    max_connections: int = Field(default=20_000, ge=0)
    graceful_shutdown_seconds: int = Field(default=30, ge=1)
    # Slow clients: a connection gets this long to send each request's line and headers (from connecting
    # or from the previous response), and a body this long between two of its pieces; else a 408.
    header_read_timeout_seconds: float = Field(default=10.0, gt=0)
    body_read_timeout_seconds: float = Field(default=20.0, gt=0)
    # /readyz answers within this bound, whatever a part's probe is doing.
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    # After SIGTERM, /readyz answers 503 for this long while requests are still served, so that a load
    # balancer's health check takes the process out before it stops accepting (the check interval times
    # the failures that mark a server down, plus a margin); then subscriptions are closed (1001) and the
    # process stops as above. 0: no such pause.
    shutdown_drain_seconds: float = Field(default=0, ge=0)
    data_dir: Path = Path("./var")
    log_level: str = "info"
    # text: readable lines (the default); json: one JSON object per line, for log collectors.
    log_format: Literal["text", "json"] = "text"

    # Database: SQLite under DATA_DIR unless DATABASE_URL is given (mysql+asyncmy://...).
    database_url: str = ""
    db_pool_size: int = 10
    db_max_overflow: int = 20
    db_pool_recycle_seconds: int = 1800
    # Seconds a request waits for a free pooled connection before it is answered SERVICE_BUSY.
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    # Seconds a read statement may run before the database aborts it (TIMEOUT); 0: no limit.
    db_statement_timeout_seconds: float = Field(default=5.0, ge=0)
    db_echo: bool = False
    # SQLite: small Core reads on the event loop's own read-only connection (storage/inline_reads.py),
    # and write transactions run on the loop's thread from BEGIN to COMMIT (storage/inline_writes.py).
    db_inline_reads: bool = True
    db_inline_writes: bool = True

    # Cache: Redis when REDIS_URL is set, else in-process.
    redis_url: str = ""
    # Entries of the in-process cache (its rate-limit counters are kept apart, never evicted to make room).
    cache_max_entries: int = 10_000
    # Namespace of this deployment's keys in a shared Redis.
    cache_prefix: str = "douyin:"
    # Results that never change for their key (a list's unchanging part, by its ids): entries kept in
    # each process, and for how long in Redis when it is set.
    result_cache_entries: int = 5_000
    result_cache_ttl_seconds: int = 3600
    # Redis outages: each command gives up after this long (connecting included), and is retried twice
    # with backoff on a connection error (a connection the server dropped is replaced, not reported);
    # a connection idle this long is checked before it is used again.
    redis_socket_timeout_seconds: float = Field(default=1.0, gt=0)
    redis_health_check_seconds: int = Field(default=10, ge=0)
    # While Redis is unreachable the cache works in-process (per worker): Redis is tried again this often,
    # and entries stored meanwhile live at most CACHE_DEGRADED_TTL_SECONDS (other workers cannot reach
    # them to invalidate them).
    cache_retry_seconds: float = Field(default=2.0, gt=0)
    cache_degraded_ttl_seconds: int = Field(default=5, ge=1)

    # Object storage: MinIO/S3 when S3_ENDPOINT is set, else local disk under DATA_DIR/media.
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "douyin"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    # Address phones use for objects (e.g. https://cdn.example.com/douyin); default: http(s)://S3_ENDPOINT/bucket.
    s3_public_url: str = ""
    # 0 = a public-read bucket policy and plain URLs; above 0 = presigned GET URLs valid this long.
    s3_presign_seconds: int = 0
    # S3 calls: connecting gives up after the first, each wait for the server after the second; a
    # failed call (connection error, 5xx) is tried again this many times.
    s3_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    s3_read_timeout_seconds: float = Field(default=15.0, gt=0)
    s3_retries: int = Field(default=1, ge=0)
    # Threads for blocking work, one pool per kind, so that one stalling cannot starve another: object
    # store calls, and password hashing (argon2 is slow on purpose; sign-ins beyond this wait in turn).
    # ffmpeg runs in MEDIA_MAX_JOBS threads.
    object_store_threads: int = Field(default=8, ge=1)
    password_hash_threads: int = Field(default=2, ge=1)

    # Address phones use to reach this server (media URLs); default: taken from each request's Host.
    public_base_url: str = ""

    jwt_secret: str = DEFAULT_JWT_SECRET
    jwt_ttl_seconds: int = 7 * 24 * 3600
    # Sign-in throttle, per (username, client address) and per client address, so that a stranger's
    # guesses never lock the user out from the user's own address. Every attempt is counted before its
    # password is checked; past the free ones each further attempt must wait twice as long as the one
    # before (from LOGIN_BACKOFF_BASE_SECONDS up to LOGIN_BACKOFF_MAX_SECONDS; RATE_LIMITED meanwhile).
    # A success forgets its name's count; counts are forgotten a window after the last attempt.
    login_max_failures: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=50, ge=1)
    login_backoff_base_seconds: float = Field(default=1.0, gt=0)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0)
    login_failure_window_seconds: int = Field(default=300, ge=1)

    # Rate limits per client address and per signed-in user, in the `limits` notation (`30/minute`,
    # several joined by `;`: `10/minute;100/day`); empty turns one off. Sliding-window counters in Redis
    # when REDIS_URL is set (shared by every worker and replica), else in-process. Over a limit:
    # RATE_LIMITED with the seconds to wait (REST status_code 6). RATE_LIMITS_ENABLED=false turns them
    # all off (benchmarks); the sign-in throttle stays.
    rate_limits_enabled: bool = True
    # Every request to /graphql or a douyin route.
    rate_limit_operations_per_address: str = "1200/minute"
    rate_limit_operations_per_user: str = "600/minute"
    rate_limit_register_per_address: str = "40/minute;400/day"
    rate_limit_sign_in_per_address: str = "60/minute"
    rate_limit_comment_per_address: str = "120/minute"
    rate_limit_comment_per_user: str = "30/minute"
    rate_limit_message_per_address: str = "480/minute"
    rate_limit_message_per_user: str = "120/minute"
    # Likes and follows (and undoing them).
    rate_limit_social_per_address: str = "480/minute"
    rate_limit_social_per_user: str = "120/minute"
    rate_limit_upload_per_address: str = "20/minute;200/day"
    rate_limit_upload_per_user: str = "10/minute;100/day"
    # Addresses of proxies (load balancers) whose X-Forwarded-For / X-Forwarded-Proto name the client
    # (comma-separated IPs or networks, * for any); the client address of every limit comes from them.
    forwarded_allow_ips: str = "127.0.0.1"

    @model_validator(mode="after")
    def _refuse_unreadable_rate_limits(self) -> Settings:
        for name in type(self).model_fields:
            if name.startswith("rate_limit_") and getattr(self, name).strip():
                try:
                    parse_many(getattr(self, name))
                except ValueError as error:
                    raise ValueError(
                        f"{name.upper()} is not a rate limit like 30/minute or 10/minute;100/day"
                    ) from error
        return self

    # GraphiQL on GET /graphql, and schema introspection (which GraphiQL needs): unset means on, except
    # with ENV=production, where they are off unless enabled here.
    graphiql: bool | None = None
    introspection: bool | None = None
    # Web front ends on other origins that may call the API from a browser: comma-separated origins
    # (https://app.example.com), or * for any; empty: same-origin only.
    cors_origins: str = ""
    seed_demo: bool = True

    # GraphQL guard rails.
    max_query_depth: int = 12
    max_query_aliases: int = 30
    max_query_tokens: int = 3000
    max_page_size: int = 100
    # Objects and list items one operation may return, estimated before it runs by multiplying nested
    # page sizes (`first`); above it: QUERY_TOO_COMPLEX. The REST routes' operations need at most about
    # 500, a feed page of 100 with 3 comments under each video about 1,100; lists nested two deep at full
    # pages (100 x 100) are refused. Execution costs roughly a millisecond per object on a busy 2-core
    # machine, so the default keeps one query to about 2 s there.
    max_query_cost: int = Field(default=2_000, ge=1)
    # Seconds one GraphQL operation (or one REST call) may take before it is answered TIMEOUT; 0: no limit.
    operation_timeout_seconds: float = Field(default=10.0, ge=0)

    # Input limits, counted in characters. The maxima default to, and may not exceed, the widths of the
    # columns that store the texts (core/limits.py).
    username_min: int = 1
    username_max: int = USERNAME.default_max
    password_min: int = 6
    password_max: int = PASSWORD.default_max
    title_max: int = TITLE.default_max
    comment_max: int = COMMENT.default_max
    message_max: int = MESSAGE.default_max

    upload_max_bytes: int = Field(default=200 * 1024 * 1024)
    # Uploads being received at once by one worker, per signed-in user and per client address (an upload
    # whose token comes after its file counts for its address only); and the scratch space (DATA_DIR/tmp)
    # they may reserve together, each its declared length (or UPLOAD_MAX_BYTES when undeclared). Over
    # any: RATE_LIMITED before a byte of the file is stored.
    upload_max_concurrent_per_user: int = Field(default=2, ge=1)
    upload_max_concurrent_per_address: int = Field(default=4, ge=1)
    # Of an address's, those whose token had not come before the file (the sender is not known yet).
    upload_max_concurrent_anonymous_per_address: int = Field(default=1, ge=1)
    upload_scratch_max_mib: int = Field(default=2048, ge=1)
    # An upload body is dropped when no byte came for UPLOAD_IDLE_TIMEOUT_SECONDS, or when the whole of
    # it took longer than UPLOAD_READ_TIMEOUT_SECONDS (200 MiB in 10 minutes is about 2.7 Mbit/s).
    upload_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    upload_read_timeout_seconds: float = Field(default=600.0, gt=0)
    # Any other request body (a JSON GraphQL operation is read whole into memory).
    max_request_body_bytes: int = 1024 * 1024
    # Videos processed by ffmpeg at once in one process (about one per core).
    media_max_jobs: int = 2
    # REST feed page size (the APK shows what it gets; the contract says at most 30).
    feed_page_size: int = 30

    # Observability. Tracing follows the standard OpenTelemetry variables and is off when none is set.
    otel_service_name: str = ""
    otel_traces_exporter: str = ""
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_protocol: str = ""
    otel_traces_sampler: str = ""
    otel_traces_sampler_arg: str = ""
    otel_resource_attributes: str = ""
    # GET /metrics: off (404), loopback (127.0.0.1/::1 only), or token (Authorization: Bearer METRICS_TOKEN).
    metrics_access: Literal["off", "loopback", "token"] = "loopback"
    metrics_token: str = ""
    # Operation names of /graphql clients counted under their own name (comma-separated); others: "other".
    metrics_operation_names: str = ""
    # prometheus_client's multiprocess directory; `manage.py serve` sets it (DATA_DIR/metrics by default).
    prometheus_multiproc_dir: str = ""

    @model_validator(mode="after")
    def _refuse_unusable_observability(self) -> Settings:
        problems = self.tracing_config.problems()
        if problems:
            raise ValueError("; ".join(problems))
        if self.metrics_access == "token" and len(self.metrics_token) < 16:
            raise ValueError("METRICS_ACCESS=token needs a METRICS_TOKEN of at least 16 characters")
        return self

    # Realtime chat: the `messageReceived` subscription over WebSocket on /graphql.
    # Subscriptions one user may hold open at once on one worker process.
    subscriptions_per_user: int = Field(default=10, ge=1)
    # Notices one subscription may have waiting; past that it is caught up from the database instead.
    subscription_queue_size: int = Field(default=100, ge=1)
    # Seconds a WebSocket client has after the handshake to send `connection_init` (else closed, 4408).
    ws_init_timeout_seconds: float = Field(default=10.0, gt=0)
    # WebSocket keep-alive: protocol pings every interval (and `ka` messages on the legacy graphql-ws),
    # closing a connection whose pong is this late; 0 turns pings off.
    ws_ping_interval_seconds: float = Field(default=20.0, ge=0)
    ws_ping_timeout_seconds: float = Field(default=20.0, ge=0)
    # permessage-deflate (browsers offer it): about 40 KiB of zlib state per connection on the worker
    # (115 KiB instead of 73 in the subscription benchmark), to compress messages of a few hundred bytes.
    ws_per_message_deflate: bool = False

    # Consul, off unless CONSUL_HTTP_ADDR (host:port or a URL of the local agent) is set: each process
    # registers its address (service ID `<CONSUL_SERVICE_NAME>-<address>:<PORT>`, an HTTP check on
    # /readyz) and deregisters when it goes away; keys under CONSUL_KV_PREFIX, named like the variables
    # (`<prefix>FEED_PAGE_SIZE`), overlay the defaults (the environment wins). Unreachable Consul: a
    # warning, or with CONSUL_REQUIRED=true a refused start. These come from the environment only.
    consul_http_addr: str = ""
    consul_http_token: str = ""
    consul_required: bool = False
    consul_kv_prefix: str = "douyin-graphql/config/"
    consul_service_name: str = "douyin-graphql"
    # The address other machines reach this process at; default: HOST, or this host's name when HOST
    # is a wildcard (0.0.0.0, ::).
    consul_service_address: str = ""
    consul_check_interval_seconds: int = Field(default=10, ge=1)
    # Consul takes a service whose check stays critical this long off by itself (at least a minute).
    consul_deregister_after_seconds: int = Field(default=60, ge=60)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: arguments, the environment, then Consul's KV over the defaults.
        consul = ConsulKVSource(settings_cls)
        return init_settings, env_settings, dotenv_settings, file_secret_settings, consul

    @model_validator(mode="after")
    def _refuse_required_consul_without_address(self) -> Settings:
        if self.consul_required and not self.consul_http_addr:
            raise ValueError("CONSUL_REQUIRED=true needs CONSUL_HTTP_ADDR (the address of the Consul agent)")
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env != "development" and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError(
                "JWT_SECRET is the built-in default; set JWT_SECRET (or ENV=development for local use)"
            )
        if len(self.jwt_secret) < 16:
            raise ValueError("JWT_SECRET must be at least 16 characters")
        return self

    @model_validator(mode="after")
    def _refuse_limits_the_columns_cannot_hold(self) -> Settings:
        for limit in TEXT_LIMITS:
            if limit.setting is None:
                continue
            value = int(getattr(self, limit.setting))
            name = limit.setting.upper()
            if value < 1:
                raise ValueError(f"{name}={value} must be at least 1")
            if limit.width is not None and value > limit.width:
                raise ValueError(
                    f"{name}={value} is more than the {limit.column} column holds ({limit.width} characters);"
                    " a wider column needs a new database migration"
                )
        for low, high in (("username_min", "username_max"), ("password_min", "password_max")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low.upper()} must not be more than {high.upper()}")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'douyin.db').resolve()}"

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.env != "production"

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.graphiql_enabled

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def tracing_config(self) -> TracingConfig:
        return TracingConfig(
            service_name=self.otel_service_name,
            exporter=self.otel_traces_exporter,
            endpoint=self.otel_exporter_otlp_endpoint,
            protocol=self.otel_exporter_otlp_protocol,
            sampler=self.otel_traces_sampler,
            sampler_arg=self.otel_traces_sampler_arg,
            resource_attributes=self.otel_resource_attributes,
        )

    @property
    def metrics_operation_list(self) -> list[str]:
        return [name.strip() for name in self.metrics_operation_names.split(",") if name.strip()]

    @property
    def advertised_address(self) -> str:
        """The host other machines reach this process at (its Consul registration)."""
        if self.consul_service_address:
            return self.consul_service_address
        if self.host in ("0.0.0.0", "::", ""):
            return socket.gethostname()
        return self.host

    @property
    def media_dir(self) -> Path:
        return (self.data_dir / "media").resolve()
