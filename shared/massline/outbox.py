"""Transactional outbox: record events with the state change, publish them after commit, replay on demand."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter, Gauge

from .contracts.envelope import Envelope, Event, make_envelope

log = logging.getLogger(__name__)

_INSERT = """
INSERT INTO outbox (event_id, event_type, topic, message_key, body)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[])
"""


@dataclass
class OutboxMetrics:
    published: Counter
    pending: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "OutboxMetrics":
        return cls(
            Counter("massline_outbox_published", "Events published from the outbox", registry=registry),
            Gauge("massline_outbox_pending", "Events recorded but not yet published", registry=registry),
        )


class Outbox:
    """Records events in the caller's transaction; a relay task publishes them in order."""

    def __init__(self, producer: str, schema: str, *, batch_size: int = 500, poll_interval_s: float = 0.5) -> None:
        self.producer = producer
        self.channel = f"massline_outbox_{schema}"
        self.lock_name = f"massline-outbox-{schema}"
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._stopping = False
        self.metrics: OutboxMetrics | None = None

    async def record(self, conn: asyncpg.Connection, event: Event, *, campaign_id: str) -> Envelope:
        return (await self.record_many(conn, [(event, campaign_id)]))[0]

    async def record_many(
        self, conn: asyncpg.Connection, events: Sequence[tuple[Event, str]]
    ) -> list[Envelope]:
        """Record events in the current transaction (one statement for the whole batch)."""
        if not events:
            return []
        envelopes = [make_envelope(e, campaign_id=c, producer=self.producer) for e, c in events]
        await conn.execute(
            _INSERT,
            [env.event_id for env in envelopes],
            [env.event_type for env in envelopes],
            [e.topic for e, _ in events],
            [e.key() for e, _ in events],
            [env.to_bytes() for env in envelopes],
        )
        # Delivered only if the transaction commits: the relay wakes for committed events alone.
        await conn.execute("SELECT pg_notify($1, '')", self.channel)
        return envelopes

    async def publish_pending(self, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> int:
        """Publish one batch in id order; rows are marked only after the broker confirmed them."""
        async with pool.acquire() as conn, conn.transaction():
            # One relay per schema at a time keeps per-key order across replicas.
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", self.lock_name):
                return 0
            rows = await conn.fetch(
                "SELECT id, event_id, event_type, topic, message_key, body FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                self.batch_size,
            )
            if not rows:
                return 0
            futures = []
            for r in rows:
                # The producer batches sends itself; each future resolves when the broker acknowledged.
                futures.append(
                    await producer.send(
                        r["topic"],
                        bytes(r["body"]),
                        key=r["message_key"].encode() if r["message_key"] is not None else None,
                        headers=[
                            ("content-type", b"application/json"),
                            ("event_type", r["event_type"].encode()),
                            ("event_id", str(r["event_id"]).encode()),
                        ],
                    )
                )
            await asyncio.gather(*futures)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        if self.metrics:
            self.metrics.published.inc(len(rows))
        return len(rows)

    async def pending(self, pool: asyncpg.Pool) -> int:
        return await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")

    async def run(self, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        """The relay loop: publish what is pending, then sleep until notified or the poll interval passes."""
        listener = await pool.acquire()
        await listener.add_listener(self.channel, self._on_notify)
        backoff = 0.2
        gauge_at = 0.0
        try:
            while not self._stopping:
                try:
                    published = await self.publish_pending(pool, producer)
                    backoff = 0.2
                    now = asyncio.get_running_loop().time()
                    if self.metrics and now - gauge_at > 5:  # a count is not free on a busy outbox
                        self.metrics.pending.set(await self.pending(pool))
                        gauge_at = now
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # broker or database unavailable: keep the rows, retry later
                    log.warning("outbox relay could not publish: %s", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published >= self.batch_size:
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
        finally:
            try:
                await listener.remove_listener(self.channel, self._on_notify)
            finally:
                await pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()


async def replay(pool: asyncpg.Pool, *, since: str | None = None) -> int:
    """Mark recorded events unpublished so the relay sends them again (consumers are idempotent)."""
    if since:
        status = await pool.execute(
            "UPDATE outbox SET published_at = NULL WHERE created_at >= $1::text::timestamptz", since
        )
    else:
        status = await pool.execute("UPDATE outbox SET published_at = NULL")
    count = int(status.split()[-1])
    await pool.execute("SELECT pg_notify($1, '')", f"massline_outbox_{await pool.fetchval('SELECT current_schema()')}")
    return count
