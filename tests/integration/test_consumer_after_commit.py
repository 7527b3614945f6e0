"""A consumer's handler may keep state in memory that must follow only what was committed: what it returns runs
after its transaction commits, and never for a transaction that failed, even one that failed at the commit itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from massline.consumer import ConsumerMetrics, Delivered, EventConsumer
from massline.contracts import PhaseChanged, make_envelope, topics
from massline.db import create_pool, migrate
from massline.kafka import ensure_topics
from massline.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def test_what_a_handler_returns_runs_only_after_its_transaction_committed(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    # A deferred constraint fails at COMMIT, after the handler has returned: the handler cannot see it coming.
    (tmp_path / "0001_applied.sql").write_text(
        "CREATE TABLE applied (phase text NOT NULL, "
        "CONSTRAINT applied_once UNIQUE (phase) DEFERRABLE INITIALLY DEFERRED);")
    schema = f"after{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, tmp_path)
    pool = await create_pool(database_url, schema)
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=6000,
                               kafka_heartbeat_interval_ms=500)
    await ensure_topics(settings, [topics.CAMPAIGN])
    broker = KafkaBroker(kafka_bootstrap)
    consumer = EventConsumer(broker=broker, settings=settings, service=schema,
                             metrics=ConsumerMetrics(CollectorRegistry()), pool_getter=lambda: pool)
    campaign = f"c-{uuid.uuid4().hex[:8]}"  # the topic is shared with other tests: only this test's events count
    in_memory: list[str] = []

    async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> Callable[[], None]:
        phases = [i.event.phase for i in batch if i.envelope.campaign_id == campaign]  # type: ignore[attr-defined]
        for phase in phases:
            await conn.execute("INSERT INTO applied (phase) VALUES ($1)", phase)
            if phase == "closed":  # twice: refused only when the transaction commits
                await conn.execute("INSERT INTO applied (phase) VALUES ($1)", phase)
        return lambda: in_memory.extend(phases)

    consumer.subscribe(topics.CAMPAIGN, "after", handler, events=[PhaseChanged])
    await broker.start()
    try:
        for phase in ("voting", "closed", "publication"):
            env = make_envelope(PhaseChanged(campaign_id=campaign, phase=phase), campaign_id=campaign, producer="t")
            await broker.publish(env.to_bytes(), topics.CAMPAIGN, key=b"c")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "publication" not in in_memory:
            await asyncio.sleep(0.2)
        stored = sorted(r["phase"] for r in await pool.fetch("SELECT phase FROM applied"))
        assert stored == ["publication", "voting"]
        # memory holds exactly what was committed: not the phase whose commit failed, nothing twice
        assert sorted(in_memory) == stored
    finally:
        await broker.stop()
        await pool.close()
