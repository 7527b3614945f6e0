"""Downstream tools read what the system publishes, with the settings docs/integration.md gives for the embedded
broker: kcat (Debian's, librdkafka 2.0) and aiokafka as a consumer group.

The event is published the system's way: recorded in an outbox in a transaction and sent by the relay.
kcat is installed by `make install` (as root, from Debian's packages); without it the kcat test is skipped,
except under CI, where a missing kcat fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from massline.contracts import PhaseChanged
from massline.contracts.topics import CAMPAIGN
from massline.db import create_pool, migrate
from massline.kafka import ensure_topics, outbox_producer
from massline.outbox import Outbox
from massline.settings import ServiceSettings

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parent / "no-migrations"
# The flags docs/integration.md gives for librdkafka tools against the embedded broker.
KCAT_FLAGS = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.9.0"]


@pytest.fixture
async def published(database_url: str, kafka_bootstrap: str) -> AsyncIterator[dict[str, Any]]:
    """A PhaseChanged of a new campaign, published by an outbox relay to the public campaign topic."""
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap)
    campaign = f"downstream-{uuid.uuid4().hex[:8]}"
    await migrate(database_url, "probe", MIGRATIONS)
    pool = await create_pool(database_url, "probe")
    producer = outbox_producer(settings, "probe")
    await ensure_topics(settings, [CAMPAIGN])
    await producer.start()
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Outbox("probe", "probe").record(conn, PhaseChanged(campaign_id=campaign, phase="voting"),
                                                  campaign_id=campaign)
        assert await Outbox("probe", "probe").publish_pending(pool, producer) == 1
        yield {"campaign_id": campaign, "phase": "voting"}
    finally:
        await producer.stop()
        await pool.close()


def _kcat() -> str:
    found = shutil.which("kcat")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("kcat is not installed: `make install` installs it as root from Debian's packages (apt-get "
                    "install kcat)")
    pytest.skip("kcat is not installed (as root, `make install` or `apt-get install kcat` installs it)")


def _envelope(value: str | bytes | None) -> dict[str, Any]:
    """A record's event, or {} for one that is not: the topic is shared with other tests, and some of them
    publish malformed messages on purpose (a downstream consumer skips those too: docs/integration.md)."""
    try:
        decoded = json.loads(value or b"{}")
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _is_the_published_event(envelope: dict[str, Any], event: dict[str, Any]) -> bool:
    return envelope.get("campaign_id") == event["campaign_id"]


def _check_envelope(envelope: dict[str, Any], event: dict[str, Any]) -> None:
    """The envelope as docs/integration.md and docs/asyncapi.json describe it."""
    assert envelope["event_type"] == "PhaseChanged"
    assert {"event_id", "event_type", "schema_version", "occurred_at", "producer", "campaign_id", "payload"} <= set(
        envelope)
    assert envelope["payload"]["campaign_id"] == event["campaign_id"]
    assert envelope["payload"]["phase"] == event["phase"]
    uuid.UUID(envelope["event_id"])


async def test_kcat_reads_a_published_event_with_the_documented_flags(
    published: dict[str, Any], kafka_bootstrap: str
) -> None:
    kcat = _kcat()
    command = [kcat, "-b", kafka_bootstrap, *KCAT_FLAGS, "-C", "-t", CAMPAIGN, "-o", "0", "-e", "-q",
               "-f", "%k\t%s\n"]
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    records = [line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line]
    mine = [(key, _envelope(value)) for key, value in records
            if _is_the_published_event(_envelope(value), published)]
    assert len(mine) == 1, result.stdout
    key, envelope = mine[0]
    assert key == published["campaign_id"]  # the topic's documented key
    _check_envelope(envelope, published)


async def test_kcat_without_the_flags_cannot_read_the_embedded_broker(kafka_bootstrap: str) -> None:
    """Why the documentation gives the flags: librdkafka's version request fails against Tansu."""
    kcat = _kcat()
    command = [kcat, "-b", kafka_bootstrap, "-C", "-t", CAMPAIGN, "-o", "0", "-e", "-q"]
    result = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ApiVersionRequest failed" in result.stderr or "transport failure" in result.stderr


async def test_aiokafka_reads_a_published_event_as_a_consumer_group(
    published: dict[str, Any], kafka_bootstrap: str
) -> None:
    # The documented example's settings: own group, manual commits, history from the earliest offset.
    consumer = AIOKafkaConsumer(CAMPAIGN, bootstrap_servers=kafka_bootstrap, group_id=f"portal-{uuid.uuid4().hex}",
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                session_timeout_ms=6000, heartbeat_interval_ms=500)
    await consumer.start()
    try:
        found: list[tuple[bytes | None, dict[str, Any], list[tuple[str, bytes]]]] = []
        for _ in range(120):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    envelope = _envelope(r.value)
                    if _is_the_published_event(envelope, published):
                        found.append((r.key, envelope, list(r.headers)))
            if found:
                break
        await consumer.commit()
    finally:
        await consumer.stop()
    assert len(found) == 1
    key, envelope, headers = found[0]
    assert key == published["campaign_id"].encode()
    _check_envelope(envelope, published)
    assert dict(headers)["event_type"] == b"PhaseChanged"
    assert dict(headers)["event_id"] == envelope["event_id"].encode()
