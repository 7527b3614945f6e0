"""Transactional outbox: record events with the state change, publish them after commit, replay on demand."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter, Gauge

from .contracts.envelope import Envelope, Event, make_envelope
from .contracts.topics import partition_for
from .db import Connection

log = logging.getLogger(__name__)

_INSERT = """
INSERT INTO outbox (event_id, event_type, topic, message_key, body)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[])
"""

# Pruning walks the primary key: ids grow with created_at, so the rows past retention are a prefix of
# the table. The boundary is the first id still within retention (found by scanning only the old
# prefix); each chunk then deletes a bounded id range, so no statement scans the young rows.
_PRUNE_BOUNDARY = """
SELECT coalesce(
    (SELECT min(id) FROM outbox WHERE created_at >= $1),
    (SELECT max(id) + 1 FROM outbox),
    0)
"""
# The conditions are repeated on the deleted row itself: a replay that marked it unpublished meanwhile
# is seen there (READ COMMITTED re-checks the target row), so an unpublished row is never deleted.
_PRUNE_CHUNK = """
WITH doomed AS (
    SELECT id FROM outbox
    WHERE id > $1 AND id < $2 AND published_at IS NOT NULL AND created_at < $3
    ORDER BY id
    LIMIT $4
), gone AS (
    DELETE FROM outbox o USING doomed
    WHERE o.id = doomed.id AND o.published_at IS NOT NULL AND o.created_at < $3
    RETURNING o.id
)
SELECT count(*) AS deleted, max(id) AS last_id FROM gone
"""
PRUNE_CHUNK_ROWS = 10_000
# Ids grow with created_at: the lowest unpublished id is the oldest event waiting (found on the partial index).
_OLDEST_PENDING_AGE = """
SELECT coalesce(extract(epoch FROM now() - (
    SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1)), 0)::float8
"""
_PENDING_COUNT = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


@dataclass
class OutboxMetrics:
    published: Counter
    pending: Gauge
    pruned: Counter
    oldest_age: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> OutboxMetrics:
        return cls(
            Counter("massline_outbox_published", "Events published from the outbox", registry=registry),
            Gauge("massline_outbox_pending", "Events recorded but not yet published", registry=registry),
            Counter("massline_outbox_pruned", "Published outbox rows deleted after the retention period",
                    registry=registry),
            Gauge("massline_outbox_oldest_age_seconds", "Age of the oldest event recorded but not yet published "
                  "(0: nothing waits)", registry=registry),
        )


class Outbox:
    """Records events in the caller's transaction; a relay task publishes them in order."""

    def __init__(
        self,
        producer: str,
        schema: str,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 0.5,
        retention_days: float | None = None,
        prune_interval_s: float = 300.0,
    ) -> None:
        self.producer = producer
        self.channel = f"massline_outbox_{schema}"
        self.lock_name = f"massline-outbox-{schema}"
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        # None: never prune (the service runtime passes MASSLINE_OUTBOX_RETENTION_DAYS).
        self.retention_days = retention_days
        self.prune_interval_s = prune_interval_s
        self._wake = asyncio.Event()
        self._stopping = False
        self.metrics: OutboxMetrics | None = None
        # The highest offset the broker acknowledged per (topic, partition). An acknowledgement below it means
        # the broker lost that partition (restarted empty): see `broker_reset`.
        self.acknowledged: dict[tuple[str, int], int] = {}
        self.broker_reset = False
        # For readiness: when the relay last published (or found nothing to publish), and its last failure.
        self.last_success = 0.0
        self.last_error = ""

    async def record(self, conn: Connection, event: Event, *, campaign_id: str) -> Envelope:
        return (await self.record_many(conn, [(event, campaign_id)]))[0]

    async def record_many(
        self, conn: Connection, events: Sequence[tuple[Event, str]]
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
                        partition=partition_for(r["topic"], r["message_key"]),
                        headers=[
                            ("content-type", b"application/json"),
                            ("event_type", r["event_type"].encode()),
                            ("event_id", str(r["event_id"]).encode()),
                        ],
                    )
                )
            acks = await asyncio.gather(*futures)
            self._note_offsets(acks)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        if self.metrics:
            self.metrics.published.inc(len(rows))
        return len(rows)

    def _note_offsets(self, acks: Sequence[Any]) -> None:
        for ack in acks:
            key = (ack.topic, ack.partition)
            if ack.offset < self.acknowledged.get(key, -1):
                self.broker_reset = True
            self.acknowledged[key] = max(ack.offset, self.acknowledged.get(key, -1))

    async def pending(self, pool: asyncpg.Pool) -> int:
        return int(await pool.fetchval(_PENDING_COUNT))

    async def oldest_pending_age(self, pool: asyncpg.Pool) -> float:
        """Seconds since the oldest unpublished event was recorded; 0 when none waits."""
        return float(await pool.fetchval(_OLDEST_PENDING_AGE))

    async def measure(self, pool: asyncpg.Pool) -> None:
        """Set the pending count and the oldest pending age. Run whether the last publish worked or not: a relay
        that cannot reach the broker is exactly when the age must keep growing."""
        if self.metrics is None:
            return
        try:
            self.metrics.pending.set(await self.pending(pool))
            self.metrics.oldest_age.set(await self.oldest_pending_age(pool))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - database away: the gauges keep their last value
            log.debug("outbox not measured: %s", exc)

    async def run(self, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        """The relay loop: publish what is pending, then sleep until notified or the poll interval passes."""
        listener = await pool.acquire()
        await listener.add_listener(self.channel, self._on_notify)
        pruner = asyncio.create_task(self._prune_periodically(pool), name="outbox-prune")
        backoff = 0.2
        gauge_at = 0.0
        try:
            while not self._stopping:
                now = asyncio.get_running_loop().time()
                if now - gauge_at > 5:  # a count is not free on a busy outbox
                    await self.measure(pool)
                    gauge_at = now
                try:
                    published = await self.publish_pending(pool, producer)
                    backoff = 0.2
                    self.last_success, self.last_error = time.monotonic(), ""
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - broker or database away: keep the rows, retry later
                    log.warning("outbox relay could not publish: %s", exc)
                    self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if published >= self.batch_size:
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            pruner.cancel()
            await asyncio.gather(pruner, return_exceptions=True)
            try:
                await listener.remove_listener(self.channel, self._on_notify)
            finally:
                await pool.release(listener)

    async def _prune_periodically(self, pool: asyncpg.Pool) -> None:
        """Beside the relay: delete published rows past retention, then sleep for the prune interval."""
        if self.retention_days is None:
            return  # an outbox built without a retention keeps its rows (tests, tools)
        retention = timedelta(days=self.retention_days)
        while not self._stopping:
            try:
                # Another replica holding the prune lock is doing this round's work: skip it.
                deleted = await prune(pool, older_than=retention, wait_for_lock=False)
                if deleted:
                    if self.metrics:
                        self.metrics.pruned.inc(deleted)
                    log.info("outbox pruned", extra={"deleted": deleted, "retention_days": self.retention_days})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database away: the rows wait for the next round
                log.warning("outbox prune failed: %s", exc)
            await asyncio.sleep(self.prune_interval_s)

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


async def prune(
    pool: asyncpg.Pool,
    *,
    older_than: timedelta,
    chunk_rows: int = PRUNE_CHUNK_ROWS,
    wait_for_lock: bool = True,
) -> int:
    """Delete published rows recorded before now - `older_than`, `chunk_rows` per statement; never unpublished ones.

    Returns how many rows were deleted. Each chunk is its own short transaction holding the schema's
    prune lock, so the relay keeps publishing meanwhile and two pruners never delete the same rows.
    Without `wait_for_lock`, a chunk whose lock another pruner holds ends the run instead of waiting.
    """
    cutoff: datetime = await pool.fetchval("SELECT now() - $1::interval", older_than)
    boundary: int = await pool.fetchval(_PRUNE_BOUNDARY, cutoff)
    lock = "SELECT pg_advisory_xact_lock(hashtext($1))" if wait_for_lock else \
        "SELECT pg_try_advisory_xact_lock(hashtext($1))"
    deleted = 0
    after = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            name = "massline-outbox-prune-" + await conn.fetchval("SELECT current_schema()")
            if await conn.fetchval(lock, name) is False:
                return deleted
            row = await conn.fetchrow(_PRUNE_CHUNK, after, boundary, cutoff, chunk_rows)
        assert row is not None  # an aggregate: always one row
        deleted += int(row["deleted"])
        if row["deleted"] < chunk_rows or row["last_id"] is None:
            return deleted
        after = row["last_id"]
        await asyncio.sleep(0)  # let the relay's own statements in between chunks

