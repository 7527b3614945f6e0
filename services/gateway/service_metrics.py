"""The services' own counters as the gateway samples them for the operator's view."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger("massline.gateway")


@dataclass(frozen=True)
class ServiceReading:
    """What one service's `/metrics` said at one moment, reduced to what the operator's view shows."""

    lag: dict[str, float]  # consumer group -> messages waiting
    dead: dict[str, float]  # topic -> messages dead-lettered
    server_errors: float  # requests answered 5xx
    accepted: dict[str, float]  # campaign -> votes accepted (the voting service)
    refused: dict[tuple[str, str], float]  # (campaign, code) -> vote requests refused (the voting service)
    outbox_pending: float | None = None  # events recorded, not yet published (None: not reported)
    outbox_age: float | None = None  # seconds since the oldest unpublished event was recorded (None: not reported)
    broker_lag: dict[str, float] = field(default_factory=dict)  # group -> lag as the broker's exporter reports it


@dataclass(frozen=True)
class Sample:
    at: float
    services: dict[str, ServiceReading | None]  # None: the service's metrics could not be read


def read_metrics(text: str) -> ServiceReading:
    lag: dict[str, float] = {}
    dead: dict[str, float] = {}
    accepted: dict[str, float] = {}
    refused: dict[tuple[str, str], float] = {}
    broker_lag: dict[str, float] = {}
    server_errors = 0.0
    pending: float | None = None
    age: float | None = None
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "massline_consumer_lag":
                add(lag, s.labels.get("group", ""), s.value)
            elif s.name == "massline_broker_consumer_lag":
                add(broker_lag, s.labels.get("group", ""), s.value)
            elif s.name == "massline_dead_letters_total":
                add(dead, s.labels.get("topic", ""), s.value)
            elif s.name == "massline_http_responses_total" and s.labels.get("status") == "5xx":
                server_errors += s.value
            elif s.name == "massline_votes_accepted_total":
                add(accepted, s.labels.get("campaign", ""), s.value)
            elif s.name == "massline_votes_rejected_total":
                add(refused, (s.labels.get("campaign", ""), s.labels.get("code", "")), s.value)
            elif s.name == "massline_outbox_pending":
                pending = (pending or 0.0) + s.value
            elif s.name == "massline_outbox_oldest_age_seconds":
                age = max(age or 0.0, s.value)
    return ServiceReading(lag, dead, server_errors, accepted, refused, pending, age, broker_lag)


def add(totals: dict[Any, float], key: Any, value: float) -> None:
    totals[key] = totals.get(key, 0.0) + value


def increase(values: list[float | None]) -> float | None:
    """How much a counter grew over readings in time order (None: not read then); a drop is a restart, from 0.

    None when fewer than two readings exist: growth cannot be told from one.
    """
    total, previous, seen = 0.0, None, 0
    for v in values:
        if v is None:
            continue
        if previous is not None:
            total += v - previous if v >= previous else v
        previous, seen = v, seen + 1
    return total if seen >= 2 else None


class ServiceMetrics:
    """Every service's own counters, sampled every 15 s in the background and when the operations page opens.

    The samples of the last 30 minutes are kept in memory: the vote rate per campaign and the errors per service
    are the growth of counters between them. The last sample is always the newest reading, but one taken within a
    few seconds of the sample before it is replaced by the next, so page views do not crowd the history out.
    """

    INTERVAL_S = 15.0
    KEEP_S = 1800.0
    MIN_SPACING_S = 5.0
    ERROR_WINDOW_S = 600.0

    def __init__(self, upstreams: dict[str, str], client: Callable[[], httpx.AsyncClient]) -> None:
        self.upstreams = upstreams
        self.client = client
        self.samples: deque[Sample] = deque(maxlen=1000)

    async def read(self) -> Sample:
        async def one(name: str, base: str) -> tuple[str, ServiceReading | None]:
            try:
                r = await self.client().get(f"{base}/metrics", timeout=3)
                r.raise_for_status()
                return name, read_metrics(r.text)
            except (httpx.HTTPError, ValueError):
                return name, None

        got = await asyncio.gather(*(one(n, b) for n, b in sorted(self.upstreams.items())))
        return Sample(time.time(), dict(got))

    async def sample(self) -> Sample:
        taken = await self.read()
        if len(self.samples) >= 2 and self.samples[-1].at - self.samples[-2].at < self.MIN_SPACING_S:
            self.samples[-1] = taken
        else:
            self.samples.append(taken)
        while self.samples and taken.at - self.samples[0].at > self.KEEP_S:
            self.samples.popleft()
        return taken

    async def run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:  # the operator's view must never take the gateway down
                log.warning("sampling the services' metrics failed", exc_info=True)
            await asyncio.sleep(self.INTERVAL_S)
