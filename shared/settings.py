"""Settings for the shared components, read from environment variables prefixed ``LT_``.

Each service composes these in its own ``config.py``. Defaults work against the
local stack started by ``make run`` / ``make test``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.calendar import WorkingCalendar, load_calendar
from shared.catalogue.configuration import Catalogue
from shared.catalogue.loading import DEFAULT_CONFIGURATION, load_catalogue


class KafkaSettings(BaseSettings):
    """How to reach the Kafka cluster and name its topics."""

    model_config = SettingsConfigDict(env_prefix="LT_KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Comma-separated host:port list of Kafka brokers."
    )
    topic_prefix: str = Field(
        "", description="Prefix for every topic name (isolates environments and test runs)."
    )
    client_id: str = Field("lienthong", description="Client id reported to the brokers.")
    security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT",
        description="SASL_* authenticate with an OAuth access token (OAUTHBEARER); PLAINTEXT "
        "(no authentication) is for the local test broker only and must be set explicitly.",
    )
    oauth_token_url: str | None = Field(
        None, description="Keycloak token endpoint the client-credentials tokens come from."
    )
    oauth_client_id: str | None = Field(
        None, description="This service's Keycloak client (its Kafka principal)."
    )
    oauth_client_secret: SecretStr | None = Field(None, description="Its client secret.")
    ssl_cafile: str | None = Field(
        None, description="CA bundle for SASL_SSL (system CAs if unset)."
    )
    create_topics: bool = Field(
        True,
        description="Create missing topics at start-up. Off where an administrator "
        "provisions topics and ACLs (python -m infra.kafka_access) and services may not.",
    )
    request_timeout_ms: int = Field(15000, description="Broker request timeout.")
    linger_ms: int = Field(
        5,
        ge=0,
        description="How long the producer waits to fill a batch before sending it: "
        "fewer, larger produce requests for the broker, for that much latency per hop.",
    )
    replication_factor: int = Field(
        1, ge=1, description="Replicas of each topic the services create (3 on a cluster)."
    )
    min_insync_replicas: int = Field(
        1,
        ge=1,
        description="Replicas that must have a record before acks=all succeeds (2 on a cluster).",
    )


class MongoSettings(BaseSettings):
    """How to reach the MongoDB-compatible store (MongoDB 8 replica set or SecantusDB)."""

    model_config = SettingsConfigDict(env_prefix="LT_MONGO_", extra="ignore")

    uri: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true",
        description="MongoDB connection string; transactions need a replica set.",
    )
    database_prefix: str = Field(
        "lt_", description="Prefix of each service's own database name (lt_intake, ...)."
    )
    username: str | None = Field(
        None,
        description="The service's own store user (SCRAM-SHA-256), allowed only its own "
        "database. Unset: no authentication, for the shared local test store only.",
    )
    password: SecretStr | None = Field(None, description="Password of the store user.")
    auth_source: str = Field("admin", description="Database that holds the store user.")
    server_selection_timeout_ms: int = Field(5000, description="How long to wait for a server.")
    max_pool_size: int = Field(
        100,
        ge=1,
        description="Most connections the service opens to the store; commands beyond wait "
        "for one to be free.",
    )
    transaction_timeout_s: float = Field(
        30.0, gt=0, description="Upper bound of one transaction, conflict retries included."
    )
    group_commit_transactions: int = Field(
        4,
        ge=1,
        description="HTTP actions' transactions in flight at once; actions arriving "
        "meanwhile wait and then share the next transaction (group commit).",
    )
    group_commit_size: int = Field(
        16, ge=1, description="Most HTTP actions that share one transaction."
    )


class ConsumerSettings(BaseSettings):
    """Retry and batching policy of the consumer runner."""

    model_config = SettingsConfigDict(env_prefix="LT_CONSUMER_", extra="ignore")

    max_attempts: int = Field(4, ge=1, description="Handler attempts before dead-lettering.")
    backoff_initial_s: float = Field(0.2, gt=0, description="First retry delay in seconds.")
    backoff_max_s: float = Field(5.0, gt=0, description="Upper bound of one retry delay.")
    max_poll_records: int = Field(
        100, ge=1, description="Records fetched per poll: the largest batch in one transaction."
    )
    session_timeout_ms: int = Field(10000, description="Group session timeout.")
    fetch_min_bytes: int = Field(
        65536,
        ge=1,
        description="Bytes a fetch waits for (up to fetch_max_wait_ms) before it answers: "
        "more events per batch, and per transaction, for a little latency (1: none).",
    )
    fetch_max_wait_ms: int = Field(
        100, ge=0, description="Longest a fetch waits for fetch_min_bytes."
    )
    commit_interval_ms: int = Field(
        500,
        ge=0,
        description="Least time between offset commits (the effects are stored first; "
        "a crash replays at most this much, and the inbox drops the replays).",
    )


class OutboxSettings(BaseSettings):
    """How the outbox relay publishes pending events."""

    model_config = SettingsConfigDict(env_prefix="LT_OUTBOX_", extra="ignore")

    poll_interval_s: float = Field(0.25, gt=0, description="Idle wait between outbox scans.")
    batch_size: int = Field(200, ge=1, description="Pending entries published per scan.")
    lease_s: float = Field(10.0, gt=0, description="Relay leadership lease between instances.")
    retry_delay_s: float = Field(1.0, gt=0, description="Wait after a failed publish.")
    mark_sent_linger_s: float = Field(
        0.2,
        ge=0,
        description="Longest wait before published entries are marked sent (in one write, "
        "with up to batch_size others); a crash in between publishes them again.",
    )


class TelemetrySettings(BaseSettings):
    """Logging and tracing."""

    model_config = SettingsConfigDict(env_prefix="LT_TELEMETRY_", extra="ignore")

    log_level: str = Field("INFO", description="Root log level.")
    json_logs: bool = Field(True, description="One JSON object per log line.")
    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP traces endpoint (e.g. http://collector:4318); off if unset."
    )
    trace_sample_ratio: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded and exported (a caller's sampling "
        "decision is followed); without an OTLP endpoint no span is recorded.",
    )


class HttpSettings(BaseSettings):
    """Where a service's HTTP API listens (each service sets its own prefix)."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, description="Bind port.")
    max_body_bytes: int = Field(1_000_000, description="Largest accepted request body.")
    max_in_flight: int = Field(
        512,
        ge=1,
        description=(
            "Most requests handled at once; one more is refused at once with 503 "
            "overloaded and Retry-After, rather than queued behind a full CPU "
            "(health, readiness and metrics are always answered)."
        ),
    )
    keep_alive_seconds: int = Field(
        75,
        ge=1,
        description=(
            "How long an idle connection stays open. Longer than the idle timeout of the "
            "clients and proxies that pool connections (aiohttp 15 s, nginx 60 s): if the "
            "server closed first, a request sent on a connection it was closing would fail."
        ),
    )
    read_timeout_seconds: float = Field(
        20.0,
        gt=0,
        description=(
            "How long a client may take to send a whole request (headers and body), from "
            "the connection opening or the request's first byte; a late one gets 408 "
            "request_timeout and the connection is closed (slow clients cannot hold "
            "connections or in-flight places)."
        ),
    )


class CatalogueSettings(BaseSettings):
    """Which catalogue of units and procedures to load (LT_CATALOGUE_*)."""

    model_config = SettingsConfigDict(env_prefix="LT_CATALOGUE_", extra="ignore")

    configuration: str = Field(
        DEFAULT_CONFIGURATION,
        description='Hierarchy to load: "three-level" (2019 seed) or "two-level" (2025-07-01).',
    )
    data_dir: Path | None = Field(
        None, description="Folder of the catalogue files (default: data/catalogue)."
    )

    def load(self) -> Catalogue:
        return load_catalogue(self.configuration, self.data_dir)


class CalendarSettings(BaseSettings):
    """Which working-day overrides to use (LT_CALENDAR_OVERRIDES)."""

    model_config = SettingsConfigDict(
        env_prefix="LT_CALENDAR_", extra="ignore", populate_by_name=True
    )

    overrides: Path | None = Field(
        None,
        # The older intake-only name is still read, so existing deployments keep their file.
        validation_alias=AliasChoices("LT_CALENDAR_OVERRIDES", "LT_INTAKE_CALENDAR_OVERRIDES"),
        description="Working-day overrides file: swapped and make-up days "
        "(default: data/calendar/overrides.json).",
    )

    def load(self) -> WorkingCalendar:
        return load_calendar(self.overrides)


class ReferenceDataSettings(BaseSettings):
    """The catalogue and the calendar, one set for every service that decides with them."""

    model_config = SettingsConfigDict(extra="ignore")

    catalogue: CatalogueSettings = Field(
        default_factory=CatalogueSettings, description="Catalogue configuration."
    )
    calendar: CalendarSettings = Field(
        default_factory=CalendarSettings, description="Working-day calendar."
    )
