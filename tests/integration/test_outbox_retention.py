"""Outbox retention on the real PostgreSQL and broker: old published rows go, everything replay needs stays."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from massline.contracts import PhaseChanged, parse_envelope
from massline.db import create_pool, migrate
from massline.kafka import ensure_topics, outbox_producer
from massline.outbox import Outbox, OutboxMetrics, prune, replay
from massline.settings import ServiceSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NO_MIGRATIONS = Path(__file__).parent / "no-migrations"  # only the shared outbox and inbox tables


class Probed(PhaseChanged):
    """A PhaseChanged routed to a test topic."""


async def _massline(database_url: str, *args: str) -> tuple[int, str]:
    env = {**os.environ, "MASSLINE_DATABASE_URL": database_url, "MASSLINE_ENV": "test"}
    env.pop("MASSLINE_OUTBOX_RETENTION_DAYS", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.operations", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def _record(pool: asyncpg.Pool, outbox: Outbox, *phases: str) -> list[uuid.UUID]:
    async with pool.acquire() as conn, conn.transaction():
        envelopes = await outbox.record_many(conn, [(Probed(campaign_id="c", phase=p), "c") for p in phases])
    return [env.event_id for env in envelopes]


async def _age(pool: asyncpg.Pool, event_ids: list[uuid.UUID], days: int) -> None:
    await pool.execute("UPDATE outbox SET created_at = now() - make_interval(days => $2) WHERE event_id = ANY($1)",
                       event_ids, days)


async def _kept(pool: asyncpg.Pool) -> set[uuid.UUID]:
    return {r["event_id"] for r in await pool.fetch("SELECT event_id FROM outbox")}


async def _read(bootstrap: str, topic: str, n: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=f"reader-{uuid.uuid4().hex}",
                                session_timeout_ms=6000, heartbeat_interval_ms=500)
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + 30
        while len(out) < n and time.monotonic() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=300)).values():
                out += msgs
        return out
    finally:
        await consumer.stop()


async def test_prune_deletes_only_published_rows_past_retention_and_recent_ones_still_replay(
    database_url: str, kafka_bootstrap: str
) -> None:
    topic = f"test.retention.{uuid.uuid4().hex[:8]}"
    Probed.topic = topic  # type: ignore[misc]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await migrate(database_url, "voting", NO_MIGRATIONS)  # the schema the command line prunes with --service voting
    pool = await create_pool(database_url, "voting")
    producer = outbox_producer(settings, "voting")
    await ensure_topics(settings, [topic])
    await producer.start()
    outbox = Outbox("voting", "voting")
    try:
        old = await _record(pool, outbox, "nomination", "initial_review")
        recent = await _record(pool, outbox, "voting", "expert_review")
        assert await outbox.publish_pending(pool, producer) == 4
        await _age(pool, old, days=20)

        code, out = await _massline(database_url, "outbox", "prune", "--service", "voting", "--older-than-days", "30")
        assert code == 0, out
        assert "voting: pruned 0 published event(s) recorded more than 30 day(s) ago" in out
        assert await _kept(pool) == {*old, *recent}

        # A replay in progress (rows marked unpublished, not yet sent again) is never cut short.
        assert await replay(pool) == 4
        code, out = await _massline(database_url, "outbox", "prune", "--service", "voting")  # the default, 14 days
        assert code == 0, out
        assert "voting: pruned 0 published event(s) recorded more than 14 day(s) ago" in out
        assert await _kept(pool) == {*old, *recent}

        assert await outbox.publish_pending(pool, producer) == 4
        code, out = await _massline(database_url, "outbox", "prune", "--service", "voting")
        assert code == 0, out
        assert "voting: pruned 2 published event(s) recorded more than 14 day(s) ago" in out
        oldest = await pool.fetchval("SELECT min(created_at) FROM outbox")
        assert f"replay reaches back to {oldest.isoformat(timespec='seconds')}" in out
        assert await _kept(pool) == set(recent)

        # Every service at once: schemas that were never migrated say so instead of failing.
        code, out = await _massline(database_url, "outbox", "prune")
        assert code == 0, out
        assert "voting: pruned 0 published event(s)" in out and "scoring: no outbox" in out

        # Replay of what retention kept still works: the recent events reach the topic again.
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        assert await replay(pool, since=since) == 2
        assert await outbox.publish_pending(pool, producer) == 2
        seen = [parse_envelope(m.value)[0].event_id for m in await _read(kafka_bootstrap, topic, 10)]
        assert sorted(map(str, seen)) == sorted(map(str, [*old, *old, *recent, *recent, *recent]))
    finally:
        await producer.stop()
        await pool.close()


async def test_prune_goes_in_bounded_chunks_and_skips_unpublished_rows(database_url: str) -> None:
    await migrate(database_url, "probe", NO_MIGRATIONS)
    pool = await create_pool(database_url, "probe")
    try:
        # Ids in recording order: seven old rows with an unpublished one among them, then three recent ones.
        await pool.execute(
            "INSERT INTO outbox (event_id, event_type, topic, body, created_at, published_at) "
            "SELECT gen_random_uuid(), 'PhaseChanged', 't', '{}'::bytea, "
            "       CASE WHEN n <= 7 THEN now() - interval '20 days' ELSE now() END, "
            "       CASE WHEN n = 4 THEN NULL ELSE now() END "
            "FROM generate_series(1, 10) AS n ORDER BY n"
        )
        assert await prune(pool, older_than=timedelta(days=14), chunk_rows=2) == 6
        rows = await pool.fetch("SELECT id, published_at IS NULL AS unpublished FROM outbox ORDER BY id")
        assert [r["unpublished"] for r in rows] == [True, False, False, False]
        assert await prune(pool, older_than=timedelta(days=14), chunk_rows=2) == 0
    finally:
        await pool.close()


async def test_the_relay_prunes_by_itself_and_counts_what_it_deleted(database_url: str, kafka_bootstrap: str) -> None:
    topic = f"test.retention.{uuid.uuid4().hex[:8]}"
    Probed.topic = topic  # type: ignore[misc]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await migrate(database_url, "probe", NO_MIGRATIONS)
    pool = await create_pool(database_url, "probe")
    producer = outbox_producer(settings, "probe")
    await ensure_topics(settings, [topic])
    await producer.start()
    registry = CollectorRegistry()
    outbox = Outbox("probe", "probe", retention_days=14, prune_interval_s=0.2)
    outbox.metrics = OutboxMetrics.create(registry)
    relay = asyncio.create_task(outbox.run(pool, producer))
    try:
        old = await _record(pool, outbox, "nomination", "initial_review")
        recent = await _record(pool, outbox, "voting")
        deadline = time.monotonic() + 30
        while await outbox.pending(pool) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await _age(pool, old, days=15)
        while await _kept(pool) != set(recent) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await _kept(pool) == set(recent)
        assert registry.get_sample_value("massline_outbox_pruned_total") == 2
        assert registry.get_sample_value("massline_outbox_published_total") == 3
    finally:
        outbox.stop()
        await asyncio.wait_for(relay, 10)
        await producer.stop()
        await pool.close()


async def test_the_oldest_waiting_event_age_tells_how_long_the_relay_has_been_behind(
    database_url: str, kafka_bootstrap: str
) -> None:
    topic = f"test.retention.{uuid.uuid4().hex[:8]}"
    Probed.topic = topic  # type: ignore[misc]
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    await migrate(database_url, "probe", NO_MIGRATIONS)
    pool = await create_pool(database_url, "probe")
    producer = outbox_producer(settings, "probe")
    await ensure_topics(settings, [topic])
    await producer.start()
    registry = CollectorRegistry()
    outbox = Outbox("probe", "probe")
    outbox.metrics = OutboxMetrics.create(registry)
    try:
        await outbox.measure(pool)
        assert registry.get_sample_value("massline_outbox_oldest_age_seconds") == 0  # nothing waits
        first = await _record(pool, outbox, "nomination")
        await _record(pool, outbox, "voting")
        await pool.execute("UPDATE outbox SET created_at = now() - interval '10 minutes' WHERE event_id = ANY($1)",
                           first)
        await outbox.measure(pool)
        age = registry.get_sample_value("massline_outbox_oldest_age_seconds")
        assert age is not None and 600 <= age < 3600  # the older of the two, recorded ten minutes ago
        assert registry.get_sample_value("massline_outbox_pending") == 2
        assert await outbox.publish_pending(pool, producer) == 2
        await outbox.measure(pool)
        assert registry.get_sample_value("massline_outbox_oldest_age_seconds") == 0
        assert registry.get_sample_value("massline_outbox_pending") == 0
    finally:
        await producer.stop()
        await pool.close()
