"""The Kafka clients of the system (one place sets their connection and security), topic creation, and the
raw-bytes decoder consumers use."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from typing import Any

import aiokafka.client
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.metadata import MetadataRequest
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from .contracts.topics import dead_letter_topic, declared_topic
from .settings import ServiceSettings

log = logging.getLogger(__name__)


def _metadata_request(topics: list[str] | None = None, allow_auto_topic_creation: bool | None = None) -> Any:
    """A metadata request that never asks the broker to create the topics it names.

    aiokafka's clients ask for auto-creation by default. A broker that lost its topics would then create each with
    its own default partition count (Tansu: 4, Kafka: `num.partitions`) as soon as a producer or consumer asks for
    it, before `ensure_topics` creates it with the catalog's count; a topic exists from then on, so it stays too
    small: the relay's sends to a vote shard above it fail ("Unrecognized partition") until the broker is replaced.
    Topics are created by `ensure_topics` alone.
    """
    return MetadataRequest(topics, allow_auto_topic_creation=False)


aiokafka.client.MetadataRequest = _metadata_request


_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL connections (the broker's name is checked against its certificate)."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_cafile or None,
        certfile=settings.kafka_ssl_certfile or None,
        keyfile=settings.kafka_ssl_keyfile or None,
    )
    return context


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The one place the connection security is built: FastStream's security object for the settings.

    The FastStream broker takes it as is; the plain aiokafka clients take the same object's arguments
    (`client_options`), so every client of the system connects the same way.
    """
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return _SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=protocol == "SASL_SSL",
    )


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Bootstrap servers and security arguments for an aiokafka client (producer, consumer or admin)."""
    return {"bootstrap_servers": settings.kafka_bootstrap_servers, **parse_security(kafka_security(settings))}


def admin_client(settings: ServiceSettings, client_id: str = "massline-admin") -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(client_id=client_id, **client_options(settings))


def consumer_client(settings: ServiceSettings, *topics: str, **options: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, **client_options(settings), **options)


def producer_client(settings: ServiceSettings, **options: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**client_options(settings), **options)


def broker_factory(settings: ServiceSettings, service: str, registry: CollectorRegistry) -> KafkaBroker:
    """A broker with FastStream's Prometheus middleware; idempotence only where the broker supports it."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=kafka_security(settings),
        client_id=f"massline-{service}",
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        linger_ms=5,
        middlewares=(KafkaPrometheusMiddleware(registry=registry, app_name=service),),
        logger=logging.getLogger(f"massline.{service}.broker"),
    )


def outbox_producer(settings: ServiceSettings, service: str) -> AIOKafkaProducer:
    """The relay's own producer: plain aiokafka, so publishing an outbox row costs no framework layers."""
    return producer_client(
        settings,
        client_id=f"massline-{service}-outbox",
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        linger_ms=5,
    )


async def raw_decoder(msg: Any) -> None:
    """Consumers read the raw records themselves, so a malformed body reaches them instead of crashing."""
    return None


def topics_with_dead_letters(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out += [name, dead_letter_topic(name)]
    return out


def retention_ms(settings: ServiceSettings) -> int:
    return settings.kafka_topic_retention_hours * 3_600_000


def new_topic(settings: ServiceSettings, name: str) -> NewTopic:
    """A topic as declared in the catalog (partitions, retention), to create."""
    declared = declared_topic(name, retention_ms(settings))
    return NewTopic(
        name,
        num_partitions=declared.partitions,
        replication_factor=1 if settings.env != "production" else -1,
        topic_configs={"retention.ms": str(declared.retention_ms)},
    )


async def missing_topics(settings: ServiceSettings, names: Iterable[str]) -> list[str]:
    """Which of these topics the broker lacks (the check services make instead of creating them in production)."""
    admin = admin_client(settings)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    finally:
        await admin.close()
    return [n for n in names if n not in existing]


async def ensure_topics(
    settings: ServiceSettings, names: Iterable[str], *, attempts: int = 30, dead_letters: bool = True
) -> None:
    """Create the topics (and their dead-letter twins) this service uses, if they are missing."""
    wanted = topics_with_dead_letters(sorted(set(names))) if dead_letters else sorted(set(names))
    for attempt in range(attempts):
        admin = admin_client(settings)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [new_topic(settings, n) for n in wanted if n not in existing]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass  # another service created it between our list and create
            return
        except (KafkaError, OSError) as exc:
            log.warning("broker not ready for topic creation (%s), retrying", exc)
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
        finally:
            await admin.close()
    raise RuntimeError(f"could not create topics on {settings.kafka_bootstrap_servers}")
