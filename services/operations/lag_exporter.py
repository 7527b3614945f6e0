"""The broker lag exporter: every consumer group's lag as the broker sees it, on /metrics.

One small process per system (`massline lag-exporter`; `make run` starts it, compose and Kubernetes run it as
`lag-exporter`). It reads the broker every MASSLINE_LAG_INTERVAL_S seconds and serves the last reading:

- `massline_broker_consumer_lag{group,topic,partition}`: messages after the group's committed offset;
- `massline_broker_consumer_group_lag{group}`: their sum per group;
- `massline_broker_lag_read_timestamp_seconds`: when the broker was last read successfully;
- `massline_dependency_up{dependency="broker"}`: whether the last read reached the broker.

While the broker cannot be read the lag series are absent (unknown), not frozen at their last value.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field

from massline.broker_lag import BrokerLag, PartitionLag
from massline.logging import configure_logging
from massline.metrics import process_registry
from massline.settings import ServiceSettings

log = logging.getLogger(__name__)


class LagExporterSettings(ServiceSettings):
    """The services' settings (the broker and its TLS/SASL login among them), and how often to read it."""

    lag_interval_s: float = Field(10.0, gt=0, description="How often the broker is read.")


@dataclass(eq=False)  # the registry keeps its collectors in a dict: compared by identity
class LagReading(Collector):
    """The last reading, served as gauges at scrape time: a group or partition gone from the broker is gone here."""

    lags: list[PartitionLag] = field(default_factory=list)
    read_at: float = 0.0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        partitions = GaugeMetricFamily("massline_broker_consumer_lag", "Messages after a consumer group's committed "
                                       "offset on a partition, as the broker sees it", labels=["group", "topic",
                                                                                                "partition"])
        groups = GaugeMetricFamily("massline_broker_consumer_group_lag", "Messages after a consumer group's committed "
                                   "offsets, summed over its partitions", labels=["group"])
        per_group: dict[str, int] = {}
        for p in self.lags:
            partitions.add_metric([p.group, p.topic, str(p.partition)], p.lag)
            per_group[p.group] = per_group.get(p.group, 0) + p.lag
        for group, lag in sorted(per_group.items()):
            groups.add_metric([group], lag)
        yield partitions
        yield groups
        if self.read_at:
            yield GaugeMetricFamily("massline_broker_lag_read_timestamp_seconds",
                                    "When the broker's consumer offsets were last read (Unix time)", value=self.read_at)


class LagExporter:
    """Reads the broker in a loop; a failed read drops the client and the lag series, the next round reconnects."""

    def __init__(self, settings: LagExporterSettings) -> None:
        self.settings = settings
        self.registry = process_registry()
        self.reading = LagReading()
        self.registry.register(self.reading)
        self.broker_up = Gauge("massline_dependency_up", "Whether this instance reached a dependency at its last "
                               "check (1) or not (0)", ["dependency"], registry=self.registry).labels("broker")
        self.client: BrokerLag | None = None
        self.error = "the broker was not read yet"

    async def read_once(self) -> None:
        try:
            if self.client is None:
                client = BrokerLag(self.settings)
                await client.start()
                self.client = client
            lags = await asyncio.wait_for(self.client.read(), 30)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - broker away: say so, reconnect next round
            self.error = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("broker lag not read: %s", self.error)
            self.broker_up.set(0)
            self.reading.lags, self.reading.read_at = [], 0.0
            if self.client is not None:
                await self.client.stop()
                self.client = None
            return
        self.error = ""
        self.broker_up.set(1)
        self.reading.lags, self.reading.read_at = lags, time.time()

    async def run(self) -> None:
        while True:
            await self.read_once()
            await asyncio.sleep(self.settings.lag_interval_s)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.stop()
            self.client = None


def create_app(settings: LagExporterSettings | None = None) -> FastAPI:
    settings = settings or LagExporterSettings()
    configure_logging("lag-exporter", settings.log_level)
    exporter = LagExporter(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(exporter.run(), name="broker-lag")
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await exporter.stop()

    app = FastAPI(title="massline lag exporter", version="1.0.0", lifespan=lifespan, openapi_url=None)
    app.state.exporter = exporter

    @app.get("/health/live")
    async def live() -> dict[str, object]:
        return {"service": "lag-exporter", "status": "live", "pid": os.getpid()}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        ok = not exporter.error
        body = {"service": "lag-exporter", "status": "ready" if ok else "not_ready",
                "checks": {"broker": ok, **({"broker_error": exporter.error} if not ok else {})}}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(exporter.registry), media_type=CONTENT_TYPE_LATEST)

    return app
