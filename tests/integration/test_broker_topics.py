"""Topics are created by `ensure_topics` alone, with the catalog's partitions, never by a client that asks first.

A broker that lost its topics (the embedded one restarted empty) is healed by the services: they create their
topics again. Meanwhile the outbox relay keeps sending and the consumers keep asking for metadata; had their
requests let the broker create the topics, they would exist with the broker's default partition count (Tansu: 4)
and the vote topic's shards above it could never be published again ("Unrecognized partition").
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaTimeoutError, UnknownTopicOrPartitionError

from massline.contracts.topics import TOPICS, TopicSpec
from massline.kafka import ensure_topics
from massline.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def _partitions(bootstrap: str, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
        return len((await admin.describe_topics([topic]))[0]["partitions"])
    finally:
        await admin.close()


async def test_a_sharded_topic_keeps_its_partitions_when_the_relay_asks_for_it_first(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"massline.probe-{uuid.uuid4().hex[:8]}.v1"
    monkeypatch.setitem(TOPICS, topic, TopicSpec(topic, "shard", 12, "a sharded probe topic", sharded=True))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=1500)
    await producer.start()
    try:
        # The relay sends before the service created the topic: the send fails, and nothing is created.
        with pytest.raises((UnknownTopicOrPartitionError, KafkaTimeoutError)):
            await producer.send_and_wait(topic, b"vote", key=b"11", partition=11)
        assert await _partitions(kafka_bootstrap, topic) is None
        await ensure_topics(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap), [topic], dead_letters=False)
        assert await _partitions(kafka_bootstrap, topic) == 12
        sent = await producer.send_and_wait(topic, b"vote", key=b"11", partition=11)
        assert sent.partition == 11
    finally:
        await producer.stop()
