"""The transactional outbox and the idempotent consumer on the real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from massline.consumer import ConsumerMetrics, Delivered, EventConsumer
from massline.contracts import (
    CastVote,
    EventParseError,
    PhaseChanged,
    VoteCast,
    make_envelope,
    parse_envelope,
    topics,
)
from massline.db import create_pool, migrate
from massline.kafka import ensure_topics, outbox_producer
from massline.outbox import Outbox, replay
from massline.settings import ServiceSettings

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "no-migrations"


async def _read(bootstrap: str, topic: str, n: int, timeout: float = 20) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=f"reader-{uuid.uuid4().hex}",
                                session_timeout_ms=6000, heartbeat_interval_ms=500)
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for msgs in batch.values():
                out += msgs
        return out
    finally:
        await consumer.stop()


async def test_migrations_apply_once_and_refuse_edits(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (id int PRIMARY KEY);")
    first = await migrate(database_url, "probe", tmp_path)
    assert first == ["infra/0001_outbox_inbox.sql", "0001_things.sql"]
    assert await migrate(database_url, "probe", tmp_path) == []
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (id bigint PRIMARY KEY);")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(database_url, "probe", tmp_path)


async def test_outbox_publishes_only_committed_events_in_order_and_replays(
    database_url: str, kafka_bootstrap: str
) -> None:
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await migrate(database_url, "probe", MIGRATIONS)
    pool = await create_pool(database_url, "probe")
    producer = outbox_producer(settings, "probe")
    await ensure_topics(settings, [topic])
    await producer.start()
    outbox = Outbox("probe", "probe")
    try:
        class Probed(PhaseChanged):
            """A PhaseChanged routed to a test topic."""

        Probed.topic = topic  # type: ignore[misc]
        with pytest.raises(RuntimeError):
            async with pool.acquire() as conn, conn.transaction():
                await outbox.record(conn, Probed(campaign_id="c", phase="never"), campaign_id="c")
                raise RuntimeError("the state change failed")
        async with pool.acquire() as conn, conn.transaction():
            for phase in ("nomination", "initial_review", "voting"):
                await outbox.record(conn, Probed(campaign_id="c", phase=phase), campaign_id="c")
        assert await outbox.publish_pending(pool, producer) == 3
        assert await outbox.publish_pending(pool, producer) == 0
        messages = await _read(kafka_bootstrap, topic, 3)
        assert [m.value for m in messages] and len(messages) == 3
        phases = [parse_envelope(m.value)[0].payload["phase"] for m in messages]
        assert phases == ["nomination", "initial_review", "voting"]  # one key, one partition, recorded order
        assert all(m.key == b"c" for m in messages)

        assert await replay(pool) == 3
        assert await outbox.publish_pending(pool, producer) == 3
        again = await _read(kafka_bootstrap, topic, 6)
        assert len(again) == 6
        assert {parse_envelope(m.value)[0].event_id for m in again} == {
            parse_envelope(m.value)[0].event_id for m in messages}
    finally:
        await producer.stop()
        await pool.close()


async def test_the_relay_sends_each_vote_shard_to_its_own_partition(database_url: str, kafka_bootstrap: str) -> None:
    # By key hash alone the shards "0".."11" would land on 7 of the 12 partitions (murmur2: shards 0 and 2
    # on one, 1, 7 and 8 on another, ...), leaving five partitions, and the instances owning them, idle.
    topic = topics.VOTE
    partitions = topics.TOPICS[topic].partitions
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await migrate(database_url, "probe", MIGRATIONS)
    pool = await create_pool(database_url, "probe")
    producer = outbox_producer(settings, "probe")
    await ensure_topics(settings, [topic])
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await producer.start()
    await reader.start()
    outbox = Outbox("probe", "probe")
    campaign = f"shards-{uuid.uuid4().hex[:8]}"  # the topic is shared with other tests: only these events count
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        start = await reader.end_offsets(tps)
        assert len(start) == partitions

        def votes(shard: int) -> VoteCast:
            return VoteCast(network_shard=shard, votes=[CastVote(
                vote_id=uuid.uuid4(), voter_id=f"{campaign}-voter-{shard}", entry_id=uuid.uuid4(),
                category_id="c", count=1, cast_at=datetime.now(UTC))])

        async with pool.acquire() as conn, conn.transaction():
            recorded = await outbox.record_many(conn, [(votes(shard), campaign) for shard in range(partitions)])
        shard_of = {str(env.event_id): shard for shard, env in enumerate(recorded)}
        assert await outbox.publish_pending(pool, producer) == partitions

        reader.assign(tps)
        for tp in tps:
            reader.seek(tp, start[tp])
        landed: dict[str, tuple[int, bytes]] = {}
        deadline = time.monotonic() + 20
        while len(landed) < partitions and time.monotonic() < deadline:
            for msgs in (await reader.getmany(timeout_ms=300)).values():
                for m in msgs:
                    event_id = dict(m.headers).get("event_id", b"").decode()
                    if event_id in shard_of:
                        landed[event_id] = (m.partition, m.key)
        assert {shard_of[e]: partition for e, (partition, _) in landed.items()} == {n: n for n in range(partitions)}
        assert {shard_of[e]: key for e, (_, key) in landed.items()} == {n: str(n).encode() for n in range(partitions)}
    finally:
        await reader.stop()
        await producer.stop()
        await pool.close()


async def test_consumer_applies_each_event_once_and_dead_letters_a_failing_one(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = topics.CAMPAIGN
    (tmp_path / "0001_seen.sql").write_text("CREATE TABLE seen (phase text NOT NULL);")
    await migrate(database_url, "probe", tmp_path)
    pool = await create_pool(database_url, "probe")
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=6000,
                               kafka_heartbeat_interval_ms=500)
    await ensure_topics(settings, [topic])
    broker = KafkaBroker(kafka_bootstrap)
    consumer = EventConsumer(broker=broker, settings=settings, service=f"probe{uuid.uuid4().hex[:6]}",
                             metrics=ConsumerMetrics(CollectorRegistry()), pool_getter=lambda: pool)

    campaign = f"c-{uuid.uuid4().hex[:8]}"  # the topic is shared with other tests: only this test's events count

    async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        for item in batch:
            if item.envelope.campaign_id != campaign:
                continue
            if item.event.phase == "poison":
                raise ValueError("this phase cannot be applied")
            await conn.execute("INSERT INTO seen (phase) VALUES ($1)", item.event.phase)

    consumer.subscribe(topic, "phases", handler, events=[PhaseChanged])
    await broker.start()
    try:
        good = make_envelope(PhaseChanged(campaign_id=campaign, phase="voting"), campaign_id=campaign, producer="t")
        poison = make_envelope(PhaseChanged(campaign_id=campaign, phase="poison"), campaign_id=campaign, producer="t")
        after = make_envelope(PhaseChanged(campaign_id=campaign, phase="publication"), campaign_id=campaign,
                              producer="t")
        for env in (good, good, poison, good, after):
            await broker.publish(env.to_bytes(), topic, key=b"c")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = [r["phase"] for r in await pool.fetch("SELECT phase FROM seen")]
            if "publication" in rows:
                break
            await asyncio.sleep(0.2)
        assert sorted(rows) == ["publication", "voting"]  # the duplicate applied once, the poison not at all
        def event_id(message: Any) -> uuid.UUID | None:
            try:
                return parse_envelope(message.value)[0].event_id
            except EventParseError:  # other tests dead-letter malformed messages on the same topic
                return None

        for n in (1, 3, 10, 30):
            dead = await _read(kafka_bootstrap, f"{topic}.dlq", n, timeout=5)
            if any(event_id(m) == poison.event_id for m in dead):
                break
        reasons = [dict(m.headers).get("x-dead-letter-reason") for m in dead if event_id(m) == poison.event_id]
        assert reasons == [b"handler_failed"]
    finally:
        await broker.stop()
        await pool.close()
