"""The Kafka broker of a service: factory, topic creation, and the raw-bytes decoder consumers use."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import aiokafka.client
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

from .contracts.topics import TOPICS, dead_letter_topic
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


def broker_factory(settings: ServiceSettings, service: str, registry: CollectorRegistry) -> KafkaBroker:
    """A broker with FastStream's Prometheus middleware; idempotence only where the broker supports it."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"massline-{service}",
        enable_idempotence=settings.kafka_enable_idempotence,
        acks="all",
        linger_ms=5,
        middlewares=(KafkaPrometheusMiddleware(registry=registry, app_name=service),),
        logger=logging.getLogger(f"massline.{service}.broker"),
    )


def outbox_producer(settings: ServiceSettings, service: str) -> AIOKafkaProducer:
    """The relay's own producer: plain aiokafka, so publishing an outbox row costs no framework layers."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
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


async def ensure_topics(
    settings: ServiceSettings, names: Iterable[str], *, attempts: int = 30, dead_letters: bool = True
) -> None:
    """Create the topics (and their dead-letter twins) this service uses, if they are missing."""
    wanted = topics_with_dead_letters(sorted(set(names))) if dead_letters else sorted(set(names))
    for attempt in range(attempts):
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(
                    n,
                    num_partitions=TOPICS[n].partitions if n in TOPICS else 1,
                    replication_factor=1 if settings.env != "production" else -1,
                    topic_configs={"retention.ms": str(settings.kafka_topic_retention_hours * 3_600_000)},
                )
                for n in wanted
                if n not in existing
            ]
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
