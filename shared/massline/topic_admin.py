"""`massline topics apply` and `massline topics check`: the broker holds the declared topics, or says how it differs.

The declarations are the topic catalog's (`contracts.topics.declared_topics`): partitions per topic, one partition
per dead-letter twin, retention MASSLINE_KAFKA_TOPIC_RETENTION_HOURS (the broker-epoch topic: kept forever).
Partitions are increased only when asked, never decreased; retention is reported, never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from .contracts.topics import TopicDeclaration, declared_topics
from .kafka import admin_client, new_topic, retention_ms
from .settings import ServiceSettings

EXIT_DIFFERS = 1
EXIT_UNREACHABLE = 3


class TopicsError(Exception):
    """A failure with a stable code, for the command line."""

    def __init__(self, code: str, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


@dataclass
class TopicState:
    """One declared topic as the broker holds it, and what `apply` did about it."""

    declared: TopicDeclaration
    partitions: int | None = None  # None: not on the broker
    retention_ms: int | None = None  # None: the broker did not say
    done: str = ""  # "created" or "partitions increased"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.partitions is not None and not self.problems

    def status(self) -> str:
        if self.partitions is None:
            return "missing"
        return "; ".join([*([self.done] if self.done else []), *self.problems]) or "ok"

    def compare(self) -> None:
        """Note how the topic on the broker differs from its declaration."""
        self.problems = []
        if self.partitions is None:
            return
        want = self.declared.partitions
        if self.partitions < want:
            self.problems.append(f"differs: {self.partitions} partitions, {want} declared "
                                 "(--increase-partitions adds them)")
        elif self.partitions > want:
            self.problems.append(f"differs: {self.partitions} partitions, {want} declared (never decreased)")
        if self.retention_ms is not None and self.retention_ms != self.declared.retention_ms:
            self.problems.append(f"differs: retention.ms {self.retention_ms}, {self.declared.retention_ms} declared")


def _config_value(response: Any, name: str) -> str | None:
    for resource in response.resources:
        for entry in resource[4]:
            if entry[0] == name:
                return str(entry[1]) if entry[1] is not None else None
    return None


async def _read(admin: AIOKafkaAdminClient, states: list[TopicState]) -> None:
    existing = set(await admin.list_topics())
    present = [s for s in states if s.declared.name in existing]
    for s in states:
        s.partitions = s.retention_ms = None
    if not present:
        return
    for described in await admin.describe_topics([s.declared.name for s in present]):
        for s in present:
            if s.declared.name == described["topic"]:
                s.partitions = len(described["partitions"])
    for s in present:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, s.declared.name)])
        value = _config_value(responses[0], "retention.ms") if responses else None
        s.retention_ms = int(value) if value not in (None, "") else None


async def _connected(settings: ServiceSettings) -> AIOKafkaAdminClient:
    admin = admin_client(settings, "massline-topics")
    try:
        await admin.start()
    except (KafkaError, OSError) as exc:
        await admin.close()
        raise TopicsError("broker_unreachable", f"cannot reach the broker at {settings.kafka_bootstrap_servers} "
                          f"({type(exc).__name__}: {exc})", EXIT_UNREACHABLE) from None
    return admin


async def check_topics(settings: ServiceSettings) -> list[TopicState]:
    """Every declared topic as the broker holds it; changes nothing."""
    states = [TopicState(d) for d in declared_topics(retention_ms(settings))]
    admin = await _connected(settings)
    try:
        await _read(admin, states)
    finally:
        await admin.close()
    for s in states:
        s.compare()
    return states


async def apply_topics(settings: ServiceSettings, *, increase_partitions: bool = False) -> list[TopicState]:
    """Create the missing declared topics; with `increase_partitions`, add partitions to topics that have fewer."""
    states = [TopicState(d) for d in declared_topics(retention_ms(settings))]
    admin = await _connected(settings)
    try:
        await _read(admin, states)
        missing = [s for s in states if s.partitions is None]
        if missing:
            try:
                await admin.create_topics([new_topic(settings, s.declared.name) for s in missing])
            except TopicAlreadyExistsError:
                pass  # a service created one meanwhile: the second read below shows it
        short = [s for s in states if s.partitions is not None and s.partitions < s.declared.partitions]
        refused = await _increase(admin, short) if increase_partitions and short else ""
        was = {s.declared.name: s.partitions for s in states}
        await _read(admin, states)
    finally:
        await admin.close()
    for s in states:
        s.compare()
        before = was[s.declared.name]
        if before is None and s.partitions is not None:
            s.done = "created"
        elif before is not None and s.partitions is not None and s.partitions > before:
            s.done = f"partitions increased {before} -> {s.partitions}"
        elif refused and s in short:
            s.problems.append(f"partitions not increased: {refused}")
    return states


async def _increase(admin: AIOKafkaAdminClient, short: list[TopicState]) -> str:
    """Add partitions up to the declared count; the broker's refusal, or "" when it accepted."""
    try:
        await admin.create_partitions({s.declared.name: NewPartitions(s.declared.partitions) for s in short})
    except KafkaError as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return ""


def table(states: list[TopicState]) -> str:
    """The report: one row per declared topic."""
    rows = [("TOPIC", "PARTITIONS", "BROKER", "RETENTION_MS", "BROKER", "STATUS")]
    for s in states:
        rows.append((
            s.declared.name, str(s.declared.partitions), "-" if s.partitions is None else str(s.partitions),
            str(s.declared.retention_ms), "-" if s.retention_ms is None else str(s.retention_ms), s.status(),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5] for r in rows)
