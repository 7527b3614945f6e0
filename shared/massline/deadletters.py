"""Dead letters: list what the consumers set aside, and send it back to its topic once the cause is fixed.

A re-drive remembers what it sent in a consumer group of its own on the dead-letter topic: the
committed offset says "every letter before this one was sent back". A re-drive limited to one
reason (`--reason`) keeps its own group per reason, so letters of other reasons stay where they are
and a later re-drive of everything does not send a letter twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from .contracts.topics import DEAD_LETTER_SUFFIX, TOPICS, dead_letter_topic, partition_for
from .kafka import admin_client, consumer_client, producer_client
from .settings import ServiceSettings

REDRIVE_GROUP = "massline.dead-letters.redrive"
REDRIVE_HEADER = "x-redriven-from"
# Headers the consumer adds when it dead-letters a message: they describe the failure, not the event.
_ANNOTATION_PREFIXES = ("x-dead-letter-", "x-original-", REDRIVE_HEADER)
_COMMIT_EVERY = 500
_IDLE_POLLS = 40  # polls of 0.5 s without a record while the partition still has some: the broker is stuck

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class DeadLetterError(Exception):
    """A failure an operator can act on: a stable code, a message in English and Chinese, an exit status."""

    def __init__(self, code: str, message: str, message_zh: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.exit_code = exit_code


@dataclass(frozen=True)
class DeadLetter:
    """One message on a dead-letter topic, with the headers the consumer added."""

    topic: str  # the dead-letter topic
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    redriven: bool = False

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        return None

    @property
    def original_topic(self) -> str:
        return self.topic.removesuffix(DEAD_LETTER_SUFFIX)

    @property
    def reason(self) -> str:
        return self.header("x-dead-letter-reason") or "unknown"

    @property
    def detail(self) -> str:
        return " ".join((self.header("x-dead-letter-detail") or "").split())

    @property
    def consumer(self) -> str:
        return self.header("x-dead-letter-consumer") or "-"

    def event(self) -> tuple[str | None, str | None]:
        """(event_type, event_id) from the headers the outbox sets, else from the body if it is an envelope."""
        event_type, event_id = self.header("event_type"), self.header("event_id")
        if event_type and event_id:
            return event_type, event_id
        try:
            body = json.loads(self.value)
        except (ValueError, UnicodeDecodeError):
            return event_type, event_id
        if isinstance(body, dict):
            event_type = event_type or (body.get("event_type") if isinstance(body.get("event_type"), str) else None)
            event_id = event_id or (body.get("event_id") if isinstance(body.get("event_id"), str) else None)
        return event_type, event_id

    def redrive_headers(self) -> list[tuple[str, bytes]]:
        """The original headers, without the dead-letter annotations, plus where this copy came from."""
        kept = [(k, v) for k, v in self.headers if not k.startswith(_ANNOTATION_PREFIXES)]
        return [*kept, (REDRIVE_HEADER, f"{self.topic}:{self.partition}:{self.offset}".encode())]

    def line(self, *, detail_chars: int = 200) -> str:
        """One line for a terminal: never the body, which may be large."""
        event_type, event_id = self.event()
        event = f"{event_type or '-'}/{event_id or '-'}"
        detail = self.detail[:detail_chars] or "-"
        status = "redriven" if self.redriven else "pending"
        return "\t".join(
            [self.topic, f"{self.partition}:{self.offset}", self.reason, detail, event, self.consumer, status]
        )


@dataclass
class TopicListing:
    topic: str  # the dead-letter topic
    exists: bool
    total: int = 0  # letters the topic holds (from its offsets)
    letters: list[DeadLetter] = field(default_factory=list)
    complete: bool = True  # False when --limit stopped the reading


@dataclass
class RedriveSummary:
    topic: str  # the original topic
    reason: str | None
    dry_run: bool
    matched: int = 0  # letters of the reason asked for, not re-driven by an earlier run
    redriven: int = 0
    skipped: int = 0  # already re-driven by an earlier run limited to their reason
    other_reasons: int = 0  # left in place because --reason asked for another reason
    exists: bool = True

    def line(self) -> str:
        verb = "would re-drive" if self.dry_run else "re-driven"
        text = f"{verb} {self.redriven} of {self.matched + self.skipped}, {self.skipped} skipped"
        if self.other_reasons:
            text += f", {self.other_reasons} with another reason left in place"
        return text


def resolve_topic(name: str) -> str:
    """The original topic for `name` (an original topic or its dead-letter twin) from the catalog."""
    original = name.removesuffix(DEAD_LETTER_SUFFIX)
    if original not in TOPICS:
        raise DeadLetterError(
            "unknown_topic",
            f"{name!r} is not a massline topic; one of: {', '.join(sorted(TOPICS))}",
            f"{name!r} 不是 massline 的主题；可用主题：{', '.join(sorted(TOPICS))}",
            EXIT_USAGE,
        )
    return original


def reason_group(reason: str) -> str:
    return f"{REDRIVE_GROUP}.reason.{re.sub(r'[^A-Za-z0-9_.-]', '_', reason)[:100]}"


def _unreachable(settings: ServiceSettings, exc: BaseException) -> DeadLetterError:
    return DeadLetterError(
        "broker_unreachable",
        f"cannot reach the broker at {settings.kafka_bootstrap_servers} ({exc})",
        f"无法连接消息代理 {settings.kafka_bootstrap_servers}",
        EXIT_UNREACHABLE,
    )


class _Session:
    """The clients one command needs, started together and always stopped."""

    def __init__(self, settings: ServiceSettings, *, group_id: str | None, producer: bool) -> None:
        self.settings = settings
        self.consumer = consumer_client(
            settings,
            client_id="massline-dead-letters",
            group_id=group_id,  # used for commits only: partitions are assigned by hand, no group is joined
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=_COMMIT_EVERY,
        )
        self.admin = admin_client(settings, "massline-dead-letters")
        self.producer = (
            producer_client(
                settings,
                client_id="massline-dead-letters",
                enable_idempotence=settings.kafka_enable_idempotence,
                acks="all",
                linger_ms=5,
            )
            if producer
            else None
        )
        self._offsets: dict[tuple[str, str], dict[TopicPartition, int]] = {}

    async def __aenter__(self) -> Self:
        try:
            await self.consumer.start()
            await self.admin.start()
            if self.producer is not None:
                await self.producer.start()
            self.topics = set(await self.consumer.topics())
        except (KafkaError, OSError) as exc:
            await self._stop()
            raise _unreachable(self.settings, exc) from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _stop(self) -> None:
        stops = [self.consumer.stop, self.admin.close] + ([self.producer.stop] if self.producer else [])
        for stop in stops:
            # A client that never started has nothing to close.
            with contextlib.suppress(Exception):
                await stop()

    def partitions(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]

    async def bounds(self, tps: list[TopicPartition]) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        return await self.consumer.beginning_offsets(tps), await self.consumer.end_offsets(tps)

    async def committed(
        self, group: str, tps: list[TopicPartition], begin: dict[TopicPartition, int], end: dict[TopicPartition, int]
    ) -> dict[TopicPartition, int]:
        """Where `group` stands on each partition, within [begin, end]; cached for the command's life."""
        cache = (group, tps[0].topic if tps else "")
        if cache not in self._offsets:
            fetched = await self.admin.list_consumer_group_offsets(group, partitions=tps)
            marks = {}
            for tp in tps:
                offset = fetched[tp].offset if tp in fetched else -1
                # Past the end: the topic was recreated (a memory broker restarted) and holds new letters.
                marks[tp] = begin[tp] if offset < 0 or offset > end[tp] else max(offset, begin[tp])
            self._offsets[cache] = marks
        return self._offsets[cache]

    async def read(self, tp: TopicPartition, start: int, end: int) -> AsyncIterator[Any]:
        """The records of one partition from `start` up to (not including) `end`."""
        if start >= end:
            return
        self.consumer.assign([tp])
        self.consumer.seek(tp, start)
        idle = 0
        while await self.consumer.position(tp) < end:
            batch = await self.consumer.getmany(tp, timeout_ms=500)
            records = batch.get(tp, [])
            if not records:
                idle += 1
                if idle >= _IDLE_POLLS:
                    raise DeadLetterError(
                        "broker_stalled",
                        f"{tp.topic}[{tp.partition}] stopped returning records before offset {end}",
                        f"读取 {tp.topic}[{tp.partition}] 在偏移量 {end} 之前停止",
                        EXIT_UNREACHABLE,
                    )
                continue
            idle = 0
            for record in records:
                if record.offset >= end:
                    return
                yield record


def _letter(record: Any, redriven: bool = False) -> DeadLetter:
    headers = tuple((k, v if isinstance(v, bytes) else str(v).encode()) for k, v in (record.headers or ()))
    return DeadLetter(record.topic, record.partition, record.offset, record.key, record.value or b"", headers,
                      redriven)


async def _is_redriven(
    session: _Session,
    letter: DeadLetter,
    tps: list[TopicPartition],
    begin: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
) -> bool:
    tp = TopicPartition(letter.topic, letter.partition)
    everything = await session.committed(REDRIVE_GROUP, tps, begin, end)
    by_reason = await session.committed(reason_group(letter.reason), tps, begin, end)
    return letter.offset < everything[tp] or letter.offset < by_reason[tp]


async def list_dead_letters(
    settings: ServiceSettings,
    *,
    topic: str | None = None,
    reason: str | None = None,
    limit: int = 100,
) -> list[TopicListing]:
    """Read the dead-letter topics (one, or every topic in the catalog) without committing anything."""
    originals = [resolve_topic(topic)] if topic else sorted(TOPICS)
    out: list[TopicListing] = []
    left = limit
    async with _Session(settings, group_id=None, producer=False) as session:
        try:
            for original in originals:
                dlq = dead_letter_topic(original)
                if dlq not in session.topics:
                    out.append(TopicListing(dlq, exists=False))
                    continue
                tps = session.partitions(dlq)
                begin, end = await session.bounds(tps)
                listing = TopicListing(dlq, exists=True, total=sum(end[tp] - begin[tp] for tp in tps))
                out.append(listing)
                for tp in tps:
                    async for record in session.read(tp, begin[tp], end[tp]):
                        if left <= 0:
                            listing.complete = False
                            break
                        letter = _letter(record)
                        if reason is not None and letter.reason != reason:
                            continue
                        redriven = await _is_redriven(session, letter, tps, begin, end)
                        listing.letters.append(_letter(record, redriven))
                        left -= 1
                    if not listing.complete:
                        break
        except KafkaError as exc:
            raise _unreachable(settings, exc) from None
    return out


async def redrive(
    settings: ServiceSettings,
    *,
    topic: str,
    reason: str | None = None,
    dry_run: bool = False,
    progress: Callable[[DeadLetter], None] = lambda _: None,
) -> RedriveSummary:
    """Send each dead letter of `topic` (of one `reason`, or all) back to `topic`, once.

    Key and headers are the original ones (less the dead-letter annotations), plus `x-redriven-from`.
    Offsets are committed only after the broker acknowledged what was sent before them: a re-drive
    that is interrupted sends again at most what was not yet committed, which idempotent consumers
    apply once.
    """
    original = resolve_topic(topic)
    dlq = dead_letter_topic(original)
    group = reason_group(reason) if reason is not None else REDRIVE_GROUP
    summary = RedriveSummary(original, reason, dry_run)
    async with _Session(settings, group_id=group, producer=not dry_run) as session:
        if dlq not in session.topics:
            summary.exists = False
            return summary
        try:
            tps = session.partitions(dlq)
            begin, end = await session.bounds(tps)
            own = await session.committed(group, tps, begin, end)
            everything = await session.committed(REDRIVE_GROUP, tps, begin, end)
            for tp in tps:
                # A re-drive of everything covers every reason: a reason's run starts past it too.
                start = max(own[tp], everything[tp])
                if start < end[tp]:
                    await _redrive_partition(session, summary, tp, start, (tps, begin, end), progress)
        except KafkaError as exc:
            raise DeadLetterError(
                "redrive_failed",
                f"the broker refused or lost a message while re-driving {dlq} ({type(exc).__name__}: {exc}); "
                "what was confirmed is committed, run the command again for the rest",
                f"重新投递 {dlq} 时消息代理出错；已确认的部分已提交，请再次运行以投递其余消息",
                EXIT_UNREACHABLE,
            ) from None
    return summary


async def _redrive_partition(
    session: _Session,
    summary: RedriveSummary,
    tp: TopicPartition,
    start: int,
    bounds: tuple[list[TopicPartition], dict[TopicPartition, int], dict[TopicPartition, int]],
    progress: Callable[[DeadLetter], None],
) -> None:
    """Re-drive one partition of the dead-letter topic from `start` to its end, committing as the broker confirms."""
    tps, begin, end = bounds
    original, reason, dry_run = summary.topic, summary.reason, summary.dry_run
    pending: list[Any] = []
    async for record in session.read(tp, start, end[tp]):
        letter = _letter(record)
        if reason is not None and letter.reason != reason:
            summary.other_reasons += 1
            continue
        if reason is None and await _is_redriven(session, letter, tps, begin, end):
            summary.skipped += 1
            continue
        summary.matched += 1
        progress(letter)
        if dry_run:
            summary.redriven += 1
            continue
        producer = session.producer
        assert producer is not None  # a session that sends has a producer
        pending.append(await producer.send(original, letter.value, key=letter.key, headers=letter.redrive_headers(),
                                           partition=partition_for(original, letter.key)))
        if len(pending) >= _COMMIT_EVERY:
            summary.redriven += await _confirm(session, pending, tp, record.offset + 1)
            pending = []
    if not dry_run:
        summary.redriven += await _confirm(session, pending, tp, end[tp])


async def _confirm(session: _Session, pending: list[asyncio.Future[Any]], tp: TopicPartition, next_offset: int) -> int:
    """Wait for the broker to acknowledge the sends, then commit past them."""
    await asyncio.gather(*pending)
    await session.consumer.commit({tp: next_offset})
    return len(pending)
