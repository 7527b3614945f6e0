"""The lag exporter reports what a consumer group has not read, from the broker, even when no consumer runs.

A group commits offset k of N messages and stops: the exporter (its own process, as `make run` starts it) says
N - k, and more messages raise it. This is what lets operators see a dead consumer: its service says nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from massline.broker_lag import BrokerLag
from massline.settings import ServiceSettings
from services.operations.devstack import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def _topic(bootstrap: str, partitions: int) -> str:
    topic = f"massline.lagprobe-{uuid.uuid4().hex[:8]}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()
    return topic


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
    await p.start()
    yield p
    await p.stop()


async def _send(producer: AIOKafkaProducer, topic: str, partition: int, count: int) -> None:
    for i in range(count):
        await producer.send_and_wait(topic, f"m{i}".encode(), partition=partition)


async def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """A consumer of `group` commits, then stops for good: nothing reads for the group afterwards."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


@pytest.fixture
def exporter(kafka_bootstrap: str, tmp_path: Path) -> Iterator[str]:
    """`massline lag-exporter` in its own process, reading the test broker twice a second."""
    port = free_port()
    env = {**os.environ, "MASSLINE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "MASSLINE_LAG_INTERVAL_S": "0.5"}
    with (tmp_path / "lag-exporter.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.operations", "lag-exporter", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _sample(text: str, name: str, **labels: str) -> float | None:
    """One sample of the exposition text, its labels in any order."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


async def _scraped(url: str, name: str, want: float, **labels: str) -> float | None:
    """The exporter's value once it is `want`, or the last one seen after a minute of reading it (the exporter reads
    the broker every half second, so a reading may fall between two sends)."""
    deadline = time.monotonic() + 60
    value: float | None = None
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                value = _sample((await client.get(f"{url}/metrics", timeout=2)).text, name, **labels)
            except httpx.HTTPError:
                value = None  # not listening yet
            if value == want:
                break
            await asyncio.sleep(0.2)
    return value


async def test_the_embedded_broker_answers_the_next_offset_as_the_end(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic = await _topic(kafka_bootstrap, 1)
    group = f"lag-{uuid.uuid4().hex[:8]}"
    await _send(producer, topic, 0, 7)
    await _commit(kafka_bootstrap, group, {TopicPartition(topic, 0): 7})
    async with BrokerLag(ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)) as broker:
        (read,) = [p for p in await broker.read() if p.group == group]
    # Kafka's log end offset: 7 messages end at 7, and a group that read them all is 0 behind.
    assert (read.end, read.committed, read.lag) == (7, 7, 0)


async def test_a_group_that_stopped_reading_shows_growing_lag(
    kafka_bootstrap: str, producer: AIOKafkaProducer, exporter: str
) -> None:
    topic = await _topic(kafka_bootstrap, 2)
    group = f"lag-{uuid.uuid4().hex[:8]}"
    n, k = 10, 4
    await _send(producer, topic, 0, n)
    await _send(producer, topic, 1, 3)  # a partition the group never committed on: all of it is waiting
    await _commit(kafka_bootstrap, group, {TopicPartition(topic, 0): k})

    assert await _scraped(exporter, "massline_broker_consumer_lag", n - k,
                          group=group, topic=topic, partition="0") == n - k
    assert await _scraped(exporter, "massline_broker_consumer_lag", 3, group=group, topic=topic, partition="1") == 3
    assert await _scraped(exporter, "massline_broker_consumer_group_lag", n - k + 3, group=group) == n - k + 3

    await _send(producer, topic, 0, 5)  # more arrives, nobody reads: the lag grows
    assert await _scraped(exporter, "massline_broker_consumer_lag", n - k + 5,
                          group=group, topic=topic, partition="0") == n - k + 5
    assert await _scraped(exporter, "massline_broker_consumer_group_lag", n - k + 8, group=group) == n - k + 8
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{exporter}/metrics")).text
        ready = await client.get(f"{exporter}/health/ready")
    assert _sample(text, "massline_dependency_up", dependency="broker") == 1
    assert ready.status_code == 200
