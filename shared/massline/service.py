"""The runtime every service is built on: pool, broker, outbox relay, consumers, health and metrics."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Awaitable, Callable, Generic, Iterable, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from .consumer import ConsumerMetrics, EventConsumer, Handler
from .contracts.envelope import Event
from .db import create_pool, migrate
from .errors import install_error_handlers
from .kafka import broker_factory, ensure_topics, outbox_producer
from .logging import configure_logging
from .outbox import Outbox, OutboxMetrics
from .settings import ServiceSettings, secret_problem
from .uow import UnitOfWork

log = logging.getLogger(__name__)

BackgroundTask = Callable[["ServiceRuntime[Any]"], Awaitable[None]]

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


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
        self.registry = CollectorRegistry()
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
        # Service-specific objects (metrics, providers, caches) shared by its routes and subscribers.
        self.state: dict[str, Any] = {}
        self.instance_id = settings.instance_id or f"{socket.gethostname()}:{os.getpid()}"
        # Publishers are declared so the AsyncAPI document lists what this service emits.
        by_topic: dict[str, list[type[Event]]] = {}
        for event in self.publishes:
            by_topic.setdefault(event.topic, []).append(event)
        from .contracts.envelope import envelope_schema

        for topic, events in by_topic.items():
            for event in events:
                self.broker.publisher(
                    topic,
                    title=f"{name}:{event.event_type}",
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

    async def start(self) -> None:
        problem = secret_problem(self.settings)
        if problem:
            # Tokens and voter tickets signed with a known secret could be forged by anyone.
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
        await ensure_topics(self.settings, self._topics)
        await self._start_broker()
        self.producer = outbox_producer(self.settings, self.name)
        await self.producer.start()
        self._tasks.append(asyncio.create_task(self.outbox.run(self.pool, self.producer), name="outbox-relay"))
        self._tasks.append(asyncio.create_task(self._watch_lag(), name="consumer-lag"))
        for task in self._background:
            self._tasks.append(asyncio.create_task(task(self), name=task.__name__))
        self.started = True
        # What exists now (modules, models, schemas) lives as long as the process: move it out of the
        # collector's way, so a full collection under load walks only the objects made since.
        gc.collect()
        gc.freeze()
        log.info("service started", extra={"instance": self.instance_id, "topics": sorted(self._topics)})

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
                    for tp in consumer.assignment():
                        high = consumer.highwater(tp)
                        if high is None:
                            continue
                        lag = max(high - await consumer.position(tp), 0)
                        self.lag_gauge.labels(group, tp.topic, str(tp.partition)).set(lag)
                except Exception as exc:  # noqa: BLE001 - a rebalance in progress; next round will do
                    log.debug("lag not measured: %s", exc)

    async def stop(self) -> None:
        self.outbox.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.producer is not None:
            await self.producer.stop()
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
        try:
            checks["broker"] = bool(await self.broker.ping(timeout=2)) if self.started else False
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = False
            checks["broker_error"] = str(exc)[:200]
        checks["ready"] = bool(self.started and checks["database"] and checks["broker"])
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
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
        app.state.runtime = self
        app.state.deps = deps
        install_error_handlers(app)
        app.add_middleware(AnswerCounter, counter=self.answers)
        app.include_router(self.health_router())
        for router in routers:
            app.include_router(router)
        return app


async def runtime_of(request: Request) -> ServiceRuntime[Any]:
    """FastAPI dependency: the runtime of the service handling the request."""
    return request.app.state.runtime


# Route parameter type: `rt: Runtime` gives a route the runtime of its service.
Runtime = Annotated[ServiceRuntime[Any], Depends(runtime_of)]
