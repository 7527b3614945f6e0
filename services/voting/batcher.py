"""Casts votes in micro-batches: many requests, one transaction, one statement per table.

Single-row transactions cap PostgreSQL at a few thousand per second on small machines; the vote
path instead gathers the requests that arrive within a couple of milliseconds and settles them
together. Each request still gets its own answer, and only after the batch has committed: a 2xx
means durable. Quota rows are locked in a fixed order, so concurrent batches (other workers or
replicas) serialise per voter and can never let a voter pass the daily limit. A voter whose whole
demand in the batch fits under the limit (most of them) is settled by one conditional upsert; only
voters near their limit, or with per-entry caps, are locked and decided request by request. A
deadlock between the two kinds of batch is retried with every voter decided the slow way.

Repeated idempotency keys are rare (a client retrying), so a batch is first settled as if every key
were new: the vote insert skips keys already in the log, and if it skipped any, the transaction is
rolled back and the batch settled again after looking its keys up. The common batch so probes the
key index once per vote instead of twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from massline.contracts import CastVote, VoteCast, network_shard
from massline.contracts.ids import uuid7
from massline.outbox import Outbox

from .repository import Q

log = logging.getLogger(__name__)


@dataclass
class VoteRequest:
    campaign_id: str
    voter_id: str
    idempotency_key: str
    entry_id: uuid.UUID
    category_id: str
    count: int
    votes_per_day: int
    per_entry_daily_cap: int | None
    day: date
    cast_at: datetime
    ip_hash: str | None
    subnet: str | None
    device_hash: str | None
    identity_verified_at: datetime | None
    user_agent_hash: str | None = None
    page_viewed_at: datetime | None = None
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(frozen=True)
class VoteRefused(Exception):
    code: str
    remaining_today: int
    votes_per_day: int
    per_entry_daily_cap: int | None = None


class _KeysRepeated(Exception):
    """A key of the batch is already in the vote log: settle the batch again, looking keys up first."""


class VoteBatcher:
    def __init__(self, pool_getter: Any, outbox: Outbox, *, max_batch: int = 256, max_wait_s: float = 0.002,
                 concurrency: int = 3) -> None:
        self._pool = pool_getter
        self.outbox = outbox
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.concurrency = concurrency
        self.queue: asyncio.Queue[VoteRequest] = asyncio.Queue()
        self.batches = 0

    async def cast(self, request: VoteRequest) -> tuple[int, dict[str, Any]]:
        """(201, answer) for a new vote, (200, original answer) for a repeated key; VoteRefused otherwise."""
        await self.queue.put(request)
        return await request.future

    async def run(self) -> None:
        """Settle batches until cancelled, `concurrency` of them at a time (each on its own connection).

        A commit waits for the log to reach the disk; with one batch at a time the vote path would sit
        idle for it. Concurrent batches are safe: each locks its voters' quota rows in sorted order.
        """
        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(self._gather_and_settle())

    async def _gather_and_settle(self) -> None:
        while True:
            first = await self.queue.get()
            batch = [first]
            deadline = asyncio.get_running_loop().time() + self.max_wait_s
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except asyncio.TimeoutError:
                    break
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await self._settle_with_retry(batch)

    async def _settle_with_retry(self, batch: list[VoteRequest]) -> None:
        for attempt in range(3):
            try:
                try:
                    outcomes = await self._settle(batch, look_up_keys=attempt > 0)
                except _KeysRepeated:
                    outcomes = await self._settle(batch, look_up_keys=True)
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, asyncpg.UniqueViolationError) as exc:
                log.warning("vote batch retried (%s)", type(exc).__name__)
                await asyncio.sleep(0.005 * (attempt + 1))
                continue
            except Exception as exc:  # noqa: BLE001 - every waiting request must get an answer
                log.exception("vote batch failed")
                for req in batch:
                    if not req.future.done():
                        req.future.set_exception(exc)
                return
            self.batches += 1
            for req, outcome in zip(batch, outcomes):
                if req.future.done():
                    continue
                if isinstance(outcome, Exception):
                    req.future.set_exception(outcome)
                else:
                    req.future.set_result(outcome)
            return
        for req in batch:
            if not req.future.done():
                req.future.set_exception(RuntimeError("vote batch could not be settled"))

    async def _settle(self, batch: list[VoteRequest], *, look_up_keys: bool) -> list[Any]:
        async with self._pool().acquire() as conn, conn.transaction():
            # Most voters of a batch are far from their limit: their whole demand is taken in one
            # statement. The rest (near the limit, per-entry caps, or keys to look up) lock their rows
            # and are decided request by request.
            demand = _demand(batch)
            granted: dict[tuple[str, str, date], int] = {}
            if not look_up_keys and not any(r.per_entry_daily_cap for r in batch):
                granted = await self._take_whole(conn, batch, demand)
            rest = [r for r in batch if (r.campaign_id, r.voter_id, r.day) not in granted]
            used: dict[tuple[str, str, date], int] = {}
            entry_used: dict[tuple[str, str, uuid.UUID, date], int] = {}
            if rest:
                quota_keys = sorted({(r.campaign_id, r.voter_id, r.day) for r in rest})
                qc, qv, qd = (list(col) for col in zip(*quota_keys))
                # Lock first, then look up keys: a repeated key racing in another batch waits here.
                await conn.execute(Q.ensure_quota_rows, qc, qv, qd)
                used = {(r["campaign_id"], r["voter_id"], r["day"]): r["used"]
                        for r in await conn.fetch(Q.lock_quota_rows, qc, qv, qd)}
                entry_keys = sorted({(r.campaign_id, r.voter_id, r.entry_id, r.day)
                                     for r in rest if r.per_entry_daily_cap})
                if entry_keys:
                    ec, ev, ee, ed = (list(col) for col in zip(*entry_keys))
                    await conn.execute(Q.ensure_entry_quota_rows, ec, ev, ee, ed)
                    entry_used = {(r["campaign_id"], r["voter_id"], r["entry_id"], r["day"]): r["used"]
                                  for r in await conn.fetch(Q.lock_entry_quota_rows, ec, ev, ee, ed)}
            # A granted voter's requests all fit: deciding them from the value before the batch gives
            # each its own remaining count, and ends at the value already written.
            for qkey, after in granted.items():
                used[qkey] = after - demand[qkey]
            known = {(r["voter_id"], r["idempotency_key"]): r["response"] for r in await conn.fetch(
                Q.find_votes_by_keys, [r.campaign_id for r in batch], [r.voter_id for r in batch],
                [r.idempotency_key for r in batch])} if look_up_keys else {}

            outcomes: list[Any] = []
            accepted: list[tuple[VoteRequest, uuid.UUID, dict[str, Any]]] = []
            seen_in_batch: dict[tuple[str, str, str], dict[str, Any]] = {}
            for r in batch:
                key = (r.campaign_id, r.voter_id, r.idempotency_key)
                previous = known.get((r.voter_id, r.idempotency_key)) or seen_in_batch.get(key)
                if previous is not None:
                    outcomes.append((200, {**previous, "replayed": True}))
                    continue
                qkey = (r.campaign_id, r.voter_id, r.day)
                left = r.votes_per_day - used[qkey]
                if r.count > left:
                    outcomes.append(VoteRefused("quota_exceeded", max(left, 0), r.votes_per_day))
                    continue
                if r.per_entry_daily_cap:
                    ekey = (r.campaign_id, r.voter_id, r.entry_id, r.day)
                    if entry_used[ekey] + r.count > r.per_entry_daily_cap:
                        outcomes.append(VoteRefused("entry_cap_exceeded", left, r.votes_per_day,
                                                    r.per_entry_daily_cap))
                        continue
                    entry_used[ekey] += r.count
                used[qkey] += r.count
                vote_id = uuid7()
                answer = {"vote_id": str(vote_id), "entry_id": str(r.entry_id), "count": r.count,
                          "remaining_today": r.votes_per_day - used[qkey], "votes_per_day": r.votes_per_day,
                          "day": r.day.isoformat()}
                seen_in_batch[key] = answer
                accepted.append((r, vote_id, answer))
                outcomes.append((201, answer))

            if accepted:
                inserted = await conn.fetch(
                    Q.insert_votes,
                    [v for _, v, _ in accepted], [r.campaign_id for r, _, _ in accepted],
                    [r.voter_id for r, _, _ in accepted], [r.idempotency_key for r, _, _ in accepted],
                    [r.entry_id for r, _, _ in accepted], [r.category_id for r, _, _ in accepted],
                    [r.count for r, _, _ in accepted], [r.day for r, _, _ in accepted],
                    [r.cast_at for r, _, _ in accepted], [a for _, _, a in accepted],
                )
                if len(inserted) < len(accepted):
                    raise _KeysRepeated  # rolls the whole batch back; nothing of it was written
                touched = sorted({(r.campaign_id, r.voter_id, r.day) for r, _, _ in accepted} - granted.keys())
                if touched:
                    await conn.execute(Q.set_quota_rows, *[list(c) for c in zip(*touched)],
                                       [used[k] for k in touched])
                if entry_used:
                    ek = sorted(entry_used)
                    await conn.execute(Q.set_entry_quota_rows, *[list(c) for c in zip(*ek)],
                                       [entry_used[k] for k in ek])
                await self.outbox.record_many(conn, vote_events(accepted))
        return outcomes

    @staticmethod
    async def _take_whole(conn: asyncpg.Connection, batch: list[VoteRequest],
                          demand: dict[tuple[str, str, date], int]) -> dict[tuple[str, str, date], int]:
        """Take each voter's whole demand where it fits; the voters taken for, with their count after."""
        limits = {(r.campaign_id, r.voter_id, r.day): r.votes_per_day for r in batch}
        granted: dict[tuple[str, str, date], int] = {}
        for limit in sorted(set(limits.values())):
            keys = sorted(k for k, v in limits.items() if v == limit)
            rows = await conn.fetch(Q.take_whole_quota, [k[0] for k in keys], [k[1] for k in keys],
                                    [k[2] for k in keys], [demand[k] for k in keys], limit)
            granted.update({(r["campaign_id"], r["voter_id"], r["day"]): r["used"] for r in rows})
        return granted


def _demand(batch: list[VoteRequest]) -> dict[tuple[str, str, date], int]:
    """Votes each voter asks for in the batch, a key repeated within the batch counted once."""
    demand: dict[tuple[str, str, date], int] = {}
    seen: set[tuple[str, str, str]] = set()
    for r in batch:
        qkey = (r.campaign_id, r.voter_id, r.day)
        demand.setdefault(qkey, 0)
        if (r.campaign_id, r.voter_id, r.idempotency_key) not in seen:
            seen.add((r.campaign_id, r.voter_id, r.idempotency_key))
            demand[qkey] += r.count
    return demand


def vote_events(accepted: list[tuple[VoteRequest, uuid.UUID, dict[str, Any]]]) -> list[tuple[VoteCast, str]]:
    """One VoteCast per campaign and network shard, the votes in the order they were accepted.

    The shard is that of the vote's network (subnet, else address hash, else voter), so every vote
    from one network travels on one partition of the vote topic.
    """
    groups: dict[tuple[str, int], list[CastVote]] = {}
    for r, vote_id, _ in accepted:
        groups.setdefault((r.campaign_id, network_shard(r.subnet, r.ip_hash, r.voter_id)), []).append(CastVote(
            vote_id=vote_id, voter_id=r.voter_id, entry_id=r.entry_id, category_id=r.category_id, count=r.count,
            cast_at=r.cast_at, ip_hash=r.ip_hash, subnet=r.subnet, device_hash=r.device_hash,
            identity_verified_at=r.identity_verified_at, user_agent_hash=r.user_agent_hash,
            page_viewed_at=r.page_viewed_at))
    return [(VoteCast(network_shard=shard, votes=votes), campaign) for (campaign, shard), votes in groups.items()]
