"""Settings every service reads from the environment (prefix MASSLINE_)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What a service needs to reach the broker and the database, and how to behave."""

    model_config = SettingsConfigDict(env_prefix="MASSLINE_", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development", description="production turns on the strict checks (webhook targets, secrets)."
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/massline",
        description="PostgreSQL DSN; each service uses its own schema in it.",
    )
    database_pool_min: int = 2
    database_pool_max: int = 10
    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", description="Comma-separated host:port list.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How every Kafka client of the system connects: SSL encrypts, SASL_* authenticates.")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism, with SASL_PLAINTEXT or SASL_SSL.")
    kafka_sasl_username: str = Field("", description="SASL user (required with SASL_PLAINTEXT or SASL_SSL).")
    kafka_sasl_password: SecretStr = Field(SecretStr(""), description="SASL password (never logged).")
    kafka_ssl_cafile: str = Field("", description="PEM file of the CA that signed the broker's certificate "
                                  "(SSL, SASL_SSL); empty: the system's CA store.")
    kafka_ssl_certfile: str = Field("", description="PEM client certificate, for brokers that require one (mTLS).")
    kafka_ssl_keyfile: str = Field("", description="PEM private key of the client certificate.")
    kafka_create_topics: bool | None = Field(
        None, description="Whether a service creates its missing topics at start and after a broker loss. Default: "
        "yes, except with MASSLINE_ENV=production, where topics come from `massline topics apply` and a missing "
        "topic makes the service not ready.")
    # Tansu (the embedded broker) has no InitProducerId, so the idempotent producer is a setting.
    kafka_enable_idempotence: bool = False
    # Every consumer-group join waits about half the session timeout: short in dev and tests.
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 1_000
    kafka_topic_partitions: int = Field(6, description="Partitions for topics this service creates.")
    kafka_consumer_max_records: int = 500
    kafka_topic_retention_hours: int = Field(
        168, ge=1,
        description="Retention of the topics a service creates (Kafka deletes older messages). The outbox keeps "
                    "events longer (MASSLINE_OUTBOX_RETENTION_DAYS), so `massline replay` reaches further back.")
    secret_key: str = Field(
        "development-secret-change-me-in-production", description="Signs staff tokens and voter tickets."
    )
    log_level: str = "INFO"
    max_body_bytes: int = Field(1 << 20, ge=1024, description="Request bodies over this size are refused (413).")
    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 0.5
    outbox_retention_days: int = Field(
        14,
        ge=1,
        description="Published outbox rows are kept this long, so `massline replay` reaches back this far; "
        "the relay deletes older published rows (never unpublished ones).",
    )
    instance_id: str = Field("", description="Distinguishes replicas in logs; defaults to host:pid.")
    broker_check_interval_s: float = Field(
        5.0, gt=0, description="How often a service checks that the broker still holds its topics.")
    broker_loss_replay_minutes: int = Field(
        60, ge=1,
        description="When the broker lost its topics (restarted empty, or a new cluster), each service creates them "
                    "again and sends its outbox's events of this many past minutes again, so whatever a consumer had "
                    "not applied reaches it (consumers skip what they already applied). Keep it above the longest "
                    "consumer lag you tolerate.")
    ready_consumer_max_lag: int = Field(
        100_000, ge=1, description="A consumer group further behind than this makes the service not ready.")
    ready_consumer_stuck_s: float = Field(
        60.0, gt=0, description="A consumer group with work waiting and no progress for this long is stuck: not ready.")
    ready_relay_stuck_s: float = Field(
        30.0, gt=0, description="An outbox relay failing to publish for this long makes the service not ready.")

    @model_validator(mode="after")
    def _kafka_security_complete(self) -> Self:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(f"MASSLINE_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                             "MASSLINE_KAFKA_SASL_USERNAME and MASSLINE_KAFKA_SASL_PASSWORD")
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            raise ValueError("MASSLINE_KAFKA_SSL_KEYFILE needs MASSLINE_KAFKA_SSL_CERTFILE")
        return self

    @property
    def creates_topics(self) -> bool:
        """Services create missing topics: MASSLINE_KAFKA_CREATE_TOPICS, by default off in production only."""
        if self.kafka_create_topics is not None:
            return self.kafka_create_topics
        return self.env != "production"

    def production_problem(self) -> str | None:
        """Why this service must not start as configured (production only); None when it may. Services add theirs."""
        return secret_problem(self)


# Values that appear in this repository's files: a production service refuses to sign with them.
KNOWN_DEFAULT_SECRETS = {"development-secret-change-me-in-production", "change-me-in-production"}


def secret_problem(settings: ServiceSettings) -> str | None:
    """Why the signing secret is unfit for production, or None when it is fit (or not in production)."""
    if settings.env != "production":
        return None
    if settings.secret_key in KNOWN_DEFAULT_SECRETS:
        return "MASSLINE_SECRET_KEY is a default from the repository; set a random secret (openssl rand -hex 32)"
    if len(settings.secret_key.encode()) < 32:
        return "MASSLINE_SECRET_KEY is shorter than 32 bytes; set a random secret (openssl rand -hex 32)"
    return None
