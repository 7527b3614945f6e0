"""Dead letters on the real broker: a real consumer sets a message aside, an operator lists it and sends it back."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from massline.consumer import ConsumerMetrics, Delivered, EventConsumer
from massline.contracts import PhaseChanged, make_envelope, topics
from massline.db import create_pool, migrate
from massline.kafka import ensure_topics
from massline.settings import ServiceSettings
from services.operations.devstack import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOPIC = topics.CAMPAIGN  # one partition: the consumer sees the messages in the order they were sent


@dataclass
class Run:
    code: int
    out: str
    err: str


async def massline(bootstrap: str, *args: str) -> Run:
    """The command line as an operator runs it, in its own process."""
    env = {**os.environ, "MASSLINE_KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MASSLINE_ENV": "test"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.operations", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    return Run(proc.returncode or 0, out.decode(), err.decode())


async def _end_offset(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()


async def _read_from(bootstrap: str, topic: str, offset: int, until: int) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: list[Any] = []
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        deadline = time.monotonic() + 30
        while await consumer.position(tp) < until and time.monotonic() < deadline:
            out += (await consumer.getmany(tp, timeout_ms=300)).get(tp, [])
        return out
    finally:
        await consumer.stop()


async def _wait_for(pool: asyncpg.Pool, campaign: str, phase: str) -> list[str]:
    deadline = time.monotonic() + 60
    while True:
        rows = [r["phase"] for r in await pool.fetch("SELECT phase FROM seen WHERE campaign_id = $1 ORDER BY n",
                                                     campaign)]
        if phase in rows or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def _lines(text: str, *needles: str) -> list[str]:
    return [line for line in text.splitlines() if all(n in line for n in needles)]


async def test_a_dead_letter_is_listed_sent_back_once_the_cause_is_fixed_and_applied_once(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    campaign = f"dl-{uuid.uuid4().hex[:8]}"
    service = f"probe{uuid.uuid4().hex[:6]}"
    (tmp_path / "0001_seen.sql").write_text(
        "CREATE TABLE seen (n bigserial PRIMARY KEY, campaign_id text NOT NULL, phase text NOT NULL);")
    schema = f"redrive{uuid.uuid4().hex[:6]}"  # its own tables: other tests use the "probe" schema
    await migrate(database_url, schema, tmp_path)
    pool = await create_pool(database_url, schema)
    settings = ServiceSettings(kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=6000,
                               kafka_heartbeat_interval_ms=500)
    await ensure_topics(settings, [TOPIC])
    broker = KafkaBroker(kafka_bootstrap)
    consumer = EventConsumer(broker=broker, settings=settings, service=service,
                             metrics=ConsumerMetrics(CollectorRegistry()), pool_getter=lambda: pool)
    reader = {"knows_poison": False}  # the "fix": a reader that knows the phase the old one refused

    async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        for item in batch:
            if item.envelope.campaign_id != campaign:
                continue  # other tests' events on the shared topic
            if item.event.phase == "poison" and not reader["knows_poison"]:
                raise ValueError("phase poison is unknown to this reader")
            await conn.execute("INSERT INTO seen (campaign_id, phase) VALUES ($1, $2)", campaign, item.event.phase)

    consumer.subscribe(TOPIC, "phases", handler, events=[PhaseChanged])
    await broker.start()
    try:
        poison = make_envelope(PhaseChanged(campaign_id=campaign, phase="poison"), campaign_id=campaign, producer="t")
        first = make_envelope(PhaseChanged(campaign_id=campaign, phase="voting"), campaign_id=campaign, producer="t")
        body_marker = f"BODY-{uuid.uuid4().hex}"
        await broker.publish(poison.to_bytes(), TOPIC, key=campaign.encode(),
                             headers={"event_type": "PhaseChanged", "event_id": str(poison.event_id), "trace": "t-1"})
        await broker.publish(f'{{"not json {body_marker}'.encode(), TOPIC, key=b"garbage", headers={"trace": "t-2"})
        await broker.publish(first.to_bytes(), TOPIC, key=campaign.encode())
        assert await _wait_for(pool, campaign, "voting") == ["voting"]  # the poison was set aside, not applied

        # The operator lists the dead letters: each with its reason, never its body.
        listed = await massline(kafka_bootstrap, "dead-letters", "list", "--topic", TOPIC, "--limit", "10000")
        assert listed.code == 0, listed.err
        [poison_line] = _lines(listed.out, str(poison.event_id))
        assert poison_line.split("\t")[:3] == [f"{TOPIC}.dlq", poison_line.split("\t")[1], "handler_failed"]
        assert "ValueError: phase poison is unknown to this reader" in poison_line
        assert f"PhaseChanged/{poison.event_id}" in poison_line and service in poison_line
        assert poison_line.endswith("\tpending")
        [garbage_line] = _lines(listed.out, "\tmalformed_json\t", f"\t{service}\t")
        assert garbage_line.endswith("\tpending")
        assert body_marker not in listed.out + listed.err
        assert f"{TOPIC}.dlq:" in listed.err and "pending" in listed.err

        # A dry run shows what would go back and sends nothing.
        end_before = await _end_offset(kafka_bootstrap, TOPIC)
        dry = await massline(kafka_bootstrap, "dead-letters", "redrive", "--topic", TOPIC,
                             "--reason", "handler_failed", "--dry-run")
        assert dry.code == 0, dry.err
        assert _lines(dry.out, "would re-drive", str(poison.event_id))
        assert re.search(r"would re-drive (\d+) of \1, 0 skipped", dry.err), dry.err
        assert await _end_offset(kafka_bootstrap, TOPIC) == end_before

        # The reader is fixed; the handler_failed letters go back, the malformed one stays.
        reader["knows_poison"] = True
        sent = await massline(kafka_bootstrap, "dead-letters", "redrive", "--topic", TOPIC, "--reason", "handler_failed")
        assert sent.code == 0, sent.err
        assert _lines(sent.out, "re-driving", str(poison.event_id))
        assert not _lines(sent.out, "malformed_json")
        summary = re.search(r"re-driven (\d+) of \1, 0 skipped, (\d+) with another reason left in place", sent.err)
        assert summary and int(summary.group(1)) >= 1 and int(summary.group(2)) >= 1, sent.err
        assert await _wait_for(pool, campaign, "poison") == ["voting", "poison"]

        # On the topic: the original bytes, key and headers, the dead-letter annotations gone.
        end_after = await _end_offset(kafka_bootstrap, TOPIC)
        resent = [m for m in await _read_from(kafka_bootstrap, TOPIC, end_before, end_after)
                  if dict(m.headers).get("event_id") == str(poison.event_id).encode()]
        assert len(resent) == 1
        assert resent[0].value == poison.to_bytes() and resent[0].key == campaign.encode()
        headers = dict(resent[0].headers)
        assert headers["trace"] == b"t-1" and headers["x-redriven-from"].startswith(f"{TOPIC}.dlq:0:".encode())
        assert not [k for k in headers if k.startswith(("x-dead-letter-", "x-original-"))]

        # A second re-drive sends nothing: the first one is remembered.
        again = await massline(kafka_bootstrap, "dead-letters", "redrive", "--topic", TOPIC, "--reason", "handler_failed")
        assert again.code == 0, again.err
        assert "re-driven 0 of 0, 0 skipped" in again.err
        assert await _end_offset(kafka_bootstrap, TOPIC) == end_after

        listed = await massline(kafka_bootstrap, "dead-letters", "list", "--topic", f"{TOPIC}.dlq", "--limit", "10000")
        assert _lines(listed.out, str(poison.event_id))[0].endswith("\tredriven")
        assert _lines(listed.out, "\tmalformed_json\t", f"\t{service}\t")[0].endswith("\tpending")

        # A re-drive of every reason would send the malformed letter, and skip the one already sent back.
        everything = await massline(kafka_bootstrap, "dead-letters", "redrive", "--topic", TOPIC, "--dry-run")
        assert everything.code == 0, everything.err
        assert _lines(everything.out, "would re-drive", "\tmalformed_json\t", f"\t{service}\t")
        assert not _lines(everything.out, str(poison.event_id))
        skipped = re.search(r"would re-drive \d+ of \d+, (\d+) skipped", everything.err)
        assert skipped and int(skipped.group(1)) >= 1, everything.err

        # The consumer went on, and the re-driven event was applied exactly once.
        last = make_envelope(PhaseChanged(campaign_id=campaign, phase="publication"), campaign_id=campaign,
                             producer="t")
        await broker.publish(last.to_bytes(), TOPIC, key=campaign.encode())
        assert await _wait_for(pool, campaign, "publication") == ["voting", "poison", "publication"]
    finally:
        await broker.stop()
        await pool.close()


async def test_an_unknown_topic_and_an_unreachable_broker_are_refused_with_stable_codes(kafka_bootstrap: str) -> None:
    unknown = await massline(kafka_bootstrap, "dead-letters", "list", "--topic", "massline.nothing.v1")
    assert unknown.code == 2 and "error: unknown_topic:" in unknown.err
    unknown = await massline(kafka_bootstrap, "dead-letters", "redrive", "--topic", "massline.nothing.v1.dlq")
    assert unknown.code == 2 and "error: unknown_topic:" in unknown.err

    nowhere = f"127.0.0.1:{free_port()}"
    for args in (("list",), ("redrive", "--topic", TOPIC)):
        run = await massline(nowhere, "dead-letters", *args)
        assert run.code == 3, run.err
        assert f"error: broker_unreachable: cannot reach the broker at {nowhere}" in run.err
        assert "Traceback" not in run.err
