"""The runtime every service is built on: pool, broker, outbox relay, consumers, health and metrics."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from .consumer import ConsumerMetrics, EventConsumer, Handler
from .contracts.envelope import Event
from .contracts.topics import EPOCH_TOPIC
from .db import create_pool, migrate
from .errors import install_error_handlers
from .kafka import (
    broker_factory,
    consumer_client,
    ensure_topics,
    missing_topics,
    outbox_producer,
    topics_with_dead_letters,
)
from .logging import configure_logging
from .metrics import process_registry
from .outbox import Outbox, OutboxMetrics, replay
from .settings import ServiceSettings
from .uow import UnitOfWork

log = logging.getLogger(__name__)

BackgroundTask = Callable[["ServiceRuntime[Any]"], Coroutine[Any, Any, None]]

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

MISSING = "topics missing on the broker"


def missing_topics_problem(missing: list[str], *, hint: bool = True) -> str:
    """What readiness says when topics are missing: their names, and the command that creates them."""
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return f"{MISSING}: {shown}" + (" (create them with `massline topics apply`)" if hint else "")


class AnswerCounter:
    """ASGI middleware: the requests a service answered, per status class, so operators see its 5xx at a glance.

    It sits inside the framework's outermost error handler, so an unhandled exception (answered 500 there) passes
    through it and counts as a 5xx. A request the client abandoned before the answer counts as nothing.
    """

    CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

    def __init__(self, app: Any, counter: Counter) -> None:
        self.app = app
        self.answered = {c: counter.labels(c) for c in self.CLASSES}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def counted(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted)
        except Exception:
            self.answered["5xx"].inc()
            raise
        if status:
            self.answered.get(f"{status // 100}xx", self.answered["5xx"]).inc()


class ServiceRuntime(Generic[SettingsT]):
    """One service process: owns its schema, its broker connection and its background tasks.

    Generic in its settings, so `rt.settings` has the service's own settings type.
    """

    def __init__(
        self,
        name: str,
        settings: SettingsT,
        *,
        migrations_dir: Path,
        schema: str | None = None,
        publishes: Iterable[type[Event]] = (),
    ) -> None:
        self.name = name
        self.settings = settings
        self.schema = schema or name
        self.migrations_dir = migrations_dir
        self.registry = process_registry()
        self.broker: KafkaBroker = broker_factory(settings, name, self.registry)
        self.outbox = Outbox(
            name,
            self.schema,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retention_days=settings.outbox_retention_days,
        )
        self.outbox.metrics = OutboxMetrics.create(self.registry)
        self.lag_gauge = Gauge("massline_consumer_lag", "Messages on a partition not yet applied by its group",
                               ["group", "topic", "partition"], registry=self.registry)
        self.broker_heals = Counter("massline_broker_heals", "Times this instance found the broker had lost its topics "
                                    "and created them again, re-sending recent outbox events",
                                    registry=self.registry)
        self.dependency_up = Gauge("massline_dependency_up", "Whether this instance reached a dependency at its last "
                                   "check (1) or not (0)", ["dependency"], registry=self.registry)
        self.answers = Counter("massline_http_responses", "HTTP requests answered, per status class (5xx: failed)",
                               ["status"], registry=self.registry)
        self._pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.consumers = EventConsumer(
            broker=self.broker,
            settings=settings,
            service=name,
            metrics=ConsumerMetrics(self.registry),
            pool_getter=lambda: self.pool,
        )
        self.publishes = list(publishes)
        self._topics: set[str] = {e.topic for e in self.publishes}
        self._background: list[BackgroundTask] = []
        self._startup: list[BackgroundTask] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.started = False
        self.joined = False  # the consumers joined their groups
        # What readiness reports beyond the database: the broker as the watch last saw it, and each consumer
        # group's lag and when it last moved (group -> (lag, position sum, monotonic time of the last progress)).
        self.broker_problem = ""
        self._lag: dict[str, tuple[int, int, float]] = {}
        self._probe: AIOKafkaConsumer | None = None
        self._epoch: str | None = None
        self.instance_id = settings.instance_id or f"{socket.gethostname()}:{os.getpid()}"
        self._declare_publishers()

    def _declare_publishers(self) -> None:
        """Publishers are declared so the AsyncAPI document lists what this service emits."""
        by_topic: dict[str, list[type[Event]]] = {}
        for event in self.publishes:
            by_topic.setdefault(event.topic, []).append(event)
        from .contracts.envelope import envelope_schema

        for topic, events in by_topic.items():
            for event in events:
                self.broker.publisher(
                    topic,
                    title=f"{self.name}:{event.event_type}",
                    description=(event.__doc__ or "").strip(),
                    schema=envelope_schema(event),
                )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open yet")
        return self._pool

    def unit_of_work(self) -> UnitOfWork:
        """One transaction with this service's outbox: `async with rt.unit_of_work() as uow: ...`."""
        return UnitOfWork(self.pool, self.outbox)

    def subscribe(
        self,
        topic: str,
        name: str,
        handler: Handler,
        *,
        events: Iterable[type[Event]] | None = None,
        description: str = "",
    ) -> None:
        self._topics.add(topic)
        self.consumers.subscribe(topic, name, handler, events=events, description=description)

    def on_startup(self, step: BackgroundTask) -> BackgroundTask:
        """Run `step(runtime)` once after migrations and before the service reports ready."""
        self._startup.append(step)
        return step

    def background(self, task: BackgroundTask) -> BackgroundTask:
        """Run `task(runtime)` for the life of the service (e.g. a periodic job)."""
        self._background.append(task)
        return task

    async def start(self, *, join_in_background: bool = False) -> None:
        """Migrations, pool, topics, consumers, relay. With `join_in_background` (the HTTP server's way) the
        consumers join their groups after this returns, so the routes answer within a second or two of a restart
        instead of after the group's session timeout; readiness waits for the join."""
        problem = self.settings.production_problem()
        if problem:
            # Tokens and voter tickets signed with a known secret could be forged by anyone; a development provider
            # would send no message to anyone.
            raise RuntimeError(f"{self.name} refuses to start in production: {problem}")
        await migrate(self.settings.database_url, self.schema, self.migrations_dir)
        self._pool = await create_pool(
            self.settings.database_url,
            self.schema,
            min_size=self.settings.database_pool_min,
            max_size=self.settings.database_pool_max,
        )
        for step in self._startup:
            await step(self)
        # The database answered just now (and the broker, when it created the topics); from here the broker watch
        # checks them every round.
        self.dependency_up.labels("database").set(1)
        if self.settings.creates_topics:
            await ensure_topics(self.settings, self._topics)
            self.dependency_up.labels("broker").set(1)
        if join_in_background:
            self._tasks.append(asyncio.create_task(self._join(), name="consumers-join"))
        else:
            await self._join()
        self.producer = outbox_producer(self.settings, self.name)
        await self.producer.start()
        self._tasks.append(asyncio.create_task(self.outbox.run(self.pool, self.producer), name="outbox-relay"))
        self._tasks.append(asyncio.create_task(self._watch_lag(), name="consumer-lag"))
        self._tasks.append(asyncio.create_task(self._watch_broker(), name="broker-watch"))
        for task in self._background:
            self._tasks.append(asyncio.create_task(task(self), name=task.__name__))
        self.started = True
        # What exists now (modules, models, schemas) lives as long as the process: move it out of the
        # collector's way, so a full collection under load walks only the objects made since.
        gc.collect()
        gc.freeze()
        log.info("service started", extra={"instance": self.instance_id, "topics": sorted(self._topics)})

    async def _join(self) -> None:
        if not self.settings.creates_topics:
            await self._await_topics()
        await self._start_broker()
        self.joined = True

    def required_topics(self) -> list[str]:
        """The topics this service reads or writes, their dead-letter twins, and the broker-epoch topic."""
        return [*topics_with_dead_letters(sorted(self._topics)), EPOCH_TOPIC]

    async def _await_topics(self) -> None:
        """With topic creation off: the consumers join once the broker holds every topic of this service; until
        then readiness names the missing ones (`massline topics apply` creates them)."""
        while True:
            try:
                missing = await missing_topics(self.settings, self.required_topics())
            except Exception as exc:  # noqa: BLE001 - the broker is away: readiness says so, the next round retries
                self.broker_problem = f"{type(exc).__name__}: {exc}"[:200]
            else:
                if not missing:
                    self.broker_problem = ""
                    return
                self.broker_problem = missing_topics_problem(missing)
            await asyncio.sleep(self.settings.broker_check_interval_s)

    async def _start_broker(self) -> None:
        """Like KafkaBroker.start, but subscribers join their groups side by side.

        Each group join waits about half the session timeout; joined one after another, a service
        with four subscribers would take four times as long to become ready.
        """
        await self.broker.connect()
        await asyncio.gather(*(sub.start() for sub in self.broker.subscribers))
        for pub in self.broker.publishers:
            await pub.start()
        self.broker.running = True

    async def _watch_lag(self, interval_s: float = 5.0) -> None:
        """Consumer lag per group and partition (messages not yet applied), for operators and autoscaling."""
        while True:
            await asyncio.sleep(interval_s)
            for sub in self.broker.subscribers:
                consumer = getattr(sub, "consumer", None)
                group = getattr(sub, "group_id", None) or ""
                if consumer is None:
                    continue
                try:
                    total = positions = 0
                    for tp in consumer.assignment():
                        high = consumer.highwater(tp)
                        if high is None:
                            continue
                        position = await consumer.position(tp)
                        lag = max(high - position, 0)
                        self.lag_gauge.labels(group, tp.topic, str(tp.partition)).set(lag)
                        total += lag
                        positions += position
                    self._note_progress(group, total, positions)
                except Exception as exc:  # noqa: BLE001 - a rebalance in progress; next round will do
                    log.debug("lag not measured: %s", exc)

    def _note_progress(self, group: str, lag: int, positions: int) -> None:
        now = time.monotonic()
        _, before, moved_at = self._lag.get(group, (0, -1, now))
        self._lag[group] = (lag, positions, now if positions != before or lag == 0 else moved_at)

    def consumer_problems(self) -> list[str]:
        """Consumer groups too far behind, or with work waiting and no progress for a while."""
        problems = []
        now = time.monotonic()
        for group, (lag, _, moved_at) in sorted(self._lag.items()):
            if lag > self.settings.ready_consumer_max_lag:
                problems.append(f"{group}: {lag} messages behind (limit {self.settings.ready_consumer_max_lag})")
            elif lag and now - moved_at > self.settings.ready_consumer_stuck_s:
                problems.append(f"{group}: {lag} messages waiting, no progress for {now - moved_at:.0f}s")
        return problems

    async def _watch_broker(self) -> None:
        """Notice a broker that lost this service's topics (restarted empty, or a new cluster) and heal it."""
        while True:
            await asyncio.sleep(self.settings.broker_check_interval_s)
            await self._check_database()
            try:
                reason = await self._broker_lost()
            except Exception as exc:  # noqa: BLE001 - the broker is away: readiness says so, the next round retries
                self.broker_problem = f"{type(exc).__name__}: {exc}"[:200]
                self.dependency_up.labels("broker").set(0)
                continue
            self.broker_problem = ""
            self.dependency_up.labels("broker").set(1)
            if reason and not self.settings.creates_topics and reason.startswith(MISSING):
                self.broker_problem = reason  # creating topics is `massline topics apply`'s job here
            elif reason:
                try:
                    await self._heal_broker(reason)
                except Exception as exc:  # noqa: BLE001 - database or broker away mid-way: the next round retries
                    self.broker_problem = f"healing the broker failed: {type(exc).__name__}: {exc}"[:200]
                    self.outbox.broker_reset = True

    async def _check_database(self) -> bool:
        """Whether the database answers within 2 s; `massline_dependency_up{dependency="database"}` says it."""
        try:
            up = bool(await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2) == 1)
        except Exception:  # noqa: BLE001 - any failure means unreachable
            up = False
        self.dependency_up.labels("database").set(1 if up else 0)
        return up

    async def _broker_lost(self) -> str:
        """Why the broker no longer holds what this service published or reads, or "" when it does.

        Three signs, any of them enough: an acknowledgement below an earlier one, a topic of this service missing,
        or a broker epoch other than the one this instance saw (another service re-created the topics first).
        """
        if self.outbox.broker_reset:
            return "the broker acknowledged an event at an offset below an earlier one"
        probe = await self._probe_client()
        existing = await asyncio.wait_for(probe.topics(), 10)
        wanted = self.required_topics() if not self.settings.creates_topics else topics_with_dead_letters(
            sorted(self._topics))
        missing = [t for t in wanted if t not in existing]
        if missing:
            return missing_topics_problem(missing, hint=not self.settings.creates_topics)
        epoch = await self._broker_epoch(EPOCH_TOPIC in existing)
        if self._epoch is None:
            self._epoch = epoch
        elif epoch != self._epoch:
            return f"a new broker epoch ({epoch[:8]}, was {self._epoch[:8]})"
        return ""

    async def _probe_client(self) -> AIOKafkaConsumer:
        if self._probe is None:
            probe = consumer_client(self.settings, client_id=f"massline-{self.name}-probe", enable_auto_commit=False,
                                    auto_offset_reset="earliest")
            await asyncio.wait_for(probe.start(), 10)
            self._probe = probe
        return self._probe

    async def _broker_epoch(self, exists: bool) -> str:
        """The broker's life, as the first record of the epoch topic: whichever service comes first writes it."""
        probe = await self._probe_client()
        tp = TopicPartition(EPOCH_TOPIC, 0)
        if not exists and self.settings.creates_topics:
            await ensure_topics(self.settings, [EPOCH_TOPIC], dead_letters=False)
        if tp not in probe.assignment():
            # Assigned once the topic exists: a client assigned a topic the broker does not have yet logs an error
            # at every metadata refresh until it does.
            probe.assign([tp])
        for _ in range(2):
            await probe.seek_to_beginning(tp)
            batch = await probe.getmany(tp, timeout_ms=2000, max_records=1)
            records = batch.get(tp, [])
            if records:
                return bytes(records[0].value or b"").decode("ascii", "replace")
            if self.producer is None:
                break
            await self.producer.send_and_wait(EPOCH_TOPIC, uuid.uuid4().hex.encode(), partition=0)
        raise RuntimeError("the broker epoch could not be read")

    async def _heal_broker(self, reason: str) -> None:
        minutes = self.settings.broker_loss_replay_minutes
        log.warning("the broker lost this service's events (%s): creating the topics again and re-sending the "
                    "last %d minutes of the outbox", reason, minutes)
        self.outbox.acknowledged.clear()
        self.outbox.broker_reset = False
        if self.settings.creates_topics:
            await ensure_topics(self.settings, self._topics)
        self._epoch = await self._broker_epoch(True)
        # What this service's consumers read now is new or sent again: read each partition from its start (the
        # events already applied are skipped), not from a position the old broker had reached.
        for sub in self.broker.subscribers:
            consumer = getattr(sub, "consumer", None)
            if consumer is not None and consumer.assignment():
                await consumer.seek_to_beginning(*consumer.assignment())
        since = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
        count = await replay(self.pool, since=since)
        self.broker_heals.inc()
        log.warning("broker healed: topics created again, %d outbox events queued to be sent again", count)

    async def stop(self) -> None:
        self.outbox.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.producer is not None:
            await self.producer.stop()
        if self._probe is not None:
            await self._probe.stop()
        await self.broker.stop()
        if self._pool is not None:
            await self._pool.close()
        log.info("service stopped")

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            checks["database"] = await asyncio.wait_for(self.pool.fetchval("SELECT 1"), 2) == 1
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = False
            checks["database_error"] = str(exc)[:200]
        self.dependency_up.labels("database").set(1 if checks["database"] else 0)
        try:
            checks["broker"] = bool(await self.broker.ping(timeout=2)) if self.started and self.joined else False
            if self.started and not self.joined:
                checks["broker_error"] = "the consumers are joining their groups"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = False
            checks["broker_error"] = str(exc)[:200]
        if self.broker_problem:
            checks["broker"] = False
            checks["broker_error"] = self.broker_problem
        stale = time.monotonic() - self.outbox.last_success if self.outbox.last_success else 0.0
        relay_ok = not (self.outbox.last_error and stale > self.settings.ready_relay_stuck_s)
        checks["relay"] = relay_ok
        if not relay_ok:
            checks["relay_error"] = f"cannot publish for {stale:.0f}s: {self.outbox.last_error}"
        problems = self.consumer_problems()
        checks["consumers"] = not problems
        if problems:
            checks["consumers_error"] = "; ".join(problems)[:400]
        checks["ready"] = bool(self.started and checks["database"] and checks["broker"] and relay_ok and not problems)
        return checks

    def health_router(self) -> APIRouter:
        router = APIRouter(tags=["health"])

        @router.get("/health/live")
        async def live() -> dict[str, Any]:
            return {"service": self.name, "status": "live", "pid": os.getpid(), "instance": self.instance_id}

        @router.get("/health/ready")
        async def ready() -> JSONResponse:
            checks = await self.readiness() if self._pool is not None else {"ready": False}
            body = {"service": self.name, "status": "ready" if checks["ready"] else "not_ready", "checks": checks}
            return JSONResponse(body, status_code=200 if checks["ready"] else 503)

        @router.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return router

    def build_app(
        self, routers: Iterable[APIRouter], *, title: str, description: str = "", deps: object = None
    ) -> FastAPI:
        """The service's FastAPI app. `deps` is the service's dataclass of dependencies, which its routes
        receive through a typed `Depends` (see each service's `deps.py`)."""
        configure_logging(self.name, self.settings.log_level)

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            await self.start(join_in_background=True)
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
        app.state.runtime = self
        app.state.deps = deps
        install_error_handlers(app, max_body_bytes=self.settings.max_body_bytes)
        app.add_middleware(AnswerCounter, counter=self.answers)
        app.include_router(self.health_router())
        for router in routers:
            app.include_router(router)
        return app


async def runtime_of(request: Request) -> ServiceRuntime[Any]:
    """FastAPI dependency: the runtime of the service handling the request."""
    runtime: ServiceRuntime[Any] = request.app.state.runtime
    return runtime


# Route parameter type: `rt: Runtime` gives a route the runtime of its service.
Runtime = Annotated[ServiceRuntime[Any], Depends(runtime_of)]
