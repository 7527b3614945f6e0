"""Idempotent batch consumers with dead-letter handling.

A batch is read raw; messages that cannot be parsed go to the topic's dead-letter twin with their
key, headers and the reason. The rest are applied in one transaction that also records their ids,
so redelivery and replay change nothing. If the batch fails, each event is retried alone and the
one that still fails is dead-lettered: nothing is half-applied and the consumer goes on.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry, Counter

from .contracts.envelope import Envelope, Event, EventParseError, parse_envelope
from .contracts.topics import dead_letter_topic
from .db import Connection
from .kafka import raw_decoder
from .logging import event_context
from .settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    """One event as the handler sees it."""

    envelope: Envelope
    event: Event
    topic: str
    partition: int
    offset: int


# A handler may return a function to call once its transaction has committed (for state kept in memory that must
# follow only what was committed); it is not called when the transaction fails.
Handler = Callable[[Connection, Sequence[Delivered]], Awaitable[Callable[[], None] | None]]


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.applied = Counter(
            "massline_events_applied", "Events applied by a consumer", ["consumer", "event_type"], registry=registry
        )
        self.duplicates = Counter(
            "massline_events_duplicate", "Redelivered events skipped", ["consumer"], registry=registry
        )
        self.dead_letters = Counter(
            "massline_dead_letters", "Messages sent to a dead-letter topic", ["topic", "reason"], registry=registry
        )


def _headers(record: Any) -> dict[str, str]:
    return {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for k, v in (record.headers or ())}


_TRANSIENT = (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.CannotConnectNowError, OSError)


class EventConsumer:
    """Register with `subscribe`; the service runtime wires pool, broker and metrics."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        settings: ServiceSettings,
        service: str,
        metrics: ConsumerMetrics,
        pool_getter: Callable[[], asyncpg.Pool],
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.service = service
        self.metrics = metrics
        self._pool = pool_getter

    def subscribe(
        self,
        topic: str,
        name: str,
        handler: Handler,
        *,
        events: Iterable[type[Event]] | None = None,
        description: str = "",
    ) -> None:
        """Apply `events` from `topic` with `handler(conn, delivered)` once each, under consumer `name`."""
        wanted = {e.event_type for e in events} if events is not None else None
        consumer = f"{self.service}.{name}"

        async def on_batch(msg: KafkaMessage) -> None:
            records = msg.raw_message if isinstance(msg.raw_message, (list, tuple)) else [msg.raw_message]
            await self._handle(topic, consumer, handler, wanted, list(records))

        on_batch.__name__ = f"on_{name}"
        on_batch.__doc__ = description or handler.__doc__
        self.broker.subscriber(
            topic,
            batch=True,
            group_id=consumer,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms,
            max_records=self.settings.kafka_consumer_max_records,
            batch_timeout_ms=50,
            ack_policy=AckPolicy.ACK,
            decoder=raw_decoder,
            title=f"{consumer}:{topic}",
            description=description or (handler.__doc__ or "").strip(),
        )(on_batch)

    async def _handle(
        self, topic: str, consumer: str, handler: Handler, wanted: set[str] | None, records: list[Any]
    ) -> None:
        good: list[Delivered] = []
        for record in records:
            try:
                env, event = parse_envelope(record.value)
            except EventParseError as exc:
                await self.dead_letter(topic, record, exc.code, exc.detail)
                continue
            if wanted is not None and env.event_type not in wanted:
                continue
            good.append(Delivered(env, event, record.topic, record.partition, record.offset))
        if not good:
            return
        try:
            await self._apply(consumer, handler, good)
        except _TRANSIENT:
            raise
        except Exception:
            log.warning("batch of %d failed in %s; applying one by one", len(good), consumer, exc_info=True)
            for item in good:
                with event_context(str(item.envelope.event_id), item.envelope.campaign_id):
                    try:
                        await self._apply(consumer, handler, [item])
                    except _TRANSIENT:
                        raise
                    except Exception as exc:
                        log.exception("event could not be applied; dead-lettered")
                        record = next(r for r in records if r.offset == item.offset and r.partition == item.partition)
                        await self.dead_letter(topic, record, "handler_failed", f"{type(exc).__name__}: {exc}")

    async def _apply(self, consumer: str, handler: Handler, items: list[Delivered]) -> None:
        # The database may be briefly away (restart, failover): wait for it rather than lose the batch.
        for attempt in range(60):
            try:
                async with self._pool().acquire() as conn, conn.transaction():
                    fresh_ids = {
                        r["event_id"]
                        for r in await conn.fetch(
                            "INSERT INTO processed_events (consumer, event_id) "
                            "SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
                            consumer,
                            list({i.envelope.event_id for i in items}),
                        )
                    }
                    fresh: list[Delivered] = []
                    after: Callable[[], None] | None = None
                    for item in items:
                        if item.envelope.event_id in fresh_ids:
                            fresh.append(item)
                            fresh_ids.discard(item.envelope.event_id)  # a duplicate inside one batch
                    if len(fresh) < len(items):
                        self.metrics.duplicates.labels(consumer).inc(len(items) - len(fresh))
                    if fresh:
                        after = await handler(conn, fresh)
                if callable(after):
                    after()
                for item in fresh:
                    self.metrics.applied.labels(consumer, item.envelope.event_type).inc()
                self._log_applied(consumer, fresh)
                return
            except _TRANSIENT as exc:
                log.warning("database unavailable in %s (%s); retrying", consumer, exc)
                await asyncio.sleep(min(0.5 * (attempt + 1), 5))
        raise RuntimeError(f"{consumer}: database unavailable")

    @staticmethod
    def _log_applied(consumer: str, fresh: list[Delivered]) -> None:
        # One line per event while traffic is light; a summary line per batch on the hot path.
        if len(fresh) <= 20:
            for item in fresh:
                with event_context(str(item.envelope.event_id), item.envelope.campaign_id):
                    log.info("event applied", extra={"consumer": consumer, "event_type": item.envelope.event_type})
        elif fresh:
            campaigns = {i.envelope.campaign_id for i in fresh}
            with event_context(None, campaigns.pop() if len(campaigns) == 1 else None):
                log.info("batch applied", extra={"consumer": consumer, "events": len(fresh),
                                                 "first_event_id": str(fresh[0].envelope.event_id)})

    async def dead_letter(self, topic: str, record: Any, reason: str, detail: str) -> None:
        """Republish the original bytes with their key and headers, plus why, to the dead-letter twin."""
        headers = _headers(record)
        headers.update(
            {
                "x-dead-letter-reason": reason,
                "x-dead-letter-detail": detail[:1000],
                "x-original-topic": record.topic,
                "x-original-partition": str(record.partition),
                "x-original-offset": str(record.offset),
                "x-dead-letter-consumer": self.service,
                "x-dead-letter-id": str(uuid.uuid4()),
            }
        )
        await self.broker.publish(record.value or b"", dead_letter_topic(topic), key=record.key, headers=headers)
        self.metrics.dead_letters.labels(topic, reason).inc()
        event_id = headers.get("event_id")
        with event_context(event_id, None):
            log.warning(
                "message dead-lettered",
                extra={"topic": topic, "reason": reason, "detail": detail[:300], "offset": record.offset},
            )
