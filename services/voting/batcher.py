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
key index once per vote instead of twice. A vote refused in that first decision (quota, cap) may be a
retry that needs no room: the keys of the refused votes (and only those) are looked up before writing,
and the batch decided again with what they name.

A batch whose transaction fails for a reason other than a conflict between batches (or the database
being away) is split in two and each half settled on its own, down to single votes: a vote the database
refuses fails alone (its request gets the error), and every other vote of the batch is settled as if
the bad one had not been there.

What each vote hears is decided by `domain.decide_batch`; this module reads and locks what it needs, writes what
it decided, and answers each waiting request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from massline.errors import database_unavailable
from massline.outbox import Outbox

from . import repository as repo
from .domain import (
    Answered,
    Ballot,
    BatchDecision,
    BatchState,
    Outcome,
    VoteRefused,
    decide_batch,
    demand,
    refused_keys,
    used_before_taking,
    voters_by_limit,
)
from .domain.ballots import EntryQuotaKey, QuotaKey

__all__ = ["VoteBatcher", "VoteRefused", "VoteRequest"]

log = logging.getLogger(__name__)


def _new_future() -> asyncio.Future[Answered]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class VoteRequest(Ballot):
    """A vote waiting for its batch: the ballot, and the future its request awaits."""

    future: asyncio.Future[Answered] = field(default_factory=_new_future)


class _KeysRepeated(Exception):
    """A key of the batch is already in the vote log: settle the batch again, looking keys up first."""


class VoteBatcher:
    def __init__(self, pool_getter: Callable[[], asyncpg.Pool], outbox: Outbox, *, max_batch: int = 256,
                 max_wait_s: float = 0.002, concurrency: int = 3) -> None:
        self._pool = pool_getter
        self.outbox = outbox
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.concurrency = concurrency
        self.queue: asyncio.Queue[VoteRequest] = asyncio.Queue()
        self.batches = 0

    async def cast(self, request: VoteRequest) -> Answered:
        """(201, answer) for a new vote, the first answer again (`replayed`) for a repeated key; a VotingError
        (VoteRefused, IdempotencyKeyReused) for a refused one; the database's error for a vote it refused."""
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
                except TimeoutError:
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
            except Exception as exc:  # every waiting request must get an answer
                log.error("vote batch of %d failed (%s)", len(batch), type(exc).__name__, exc_info=True)
                await self._settle_apart(batch, exc)
                return
            self.batches += 1
            _answer(batch, outcomes)
            return
        _fail(batch, RuntimeError("vote batch could not be settled"))

    async def _settle_apart(self, batch: list[VoteRequest], exc: Exception) -> None:
        """After a failed transaction (nothing of it written): each half of the batch settled on its own, so a
        vote that fails the transaction fails alone. A single vote, or a database that is away, gets the error."""
        if len(batch) == 1 or database_unavailable(exc):
            _fail(batch, exc)
            return
        log.warning("settling the halves of the failed batch of %d apart", len(batch))
        half = len(batch) // 2
        await self._settle_with_retry(batch[:half])
        await self._settle_with_retry(batch[half:])

    async def _settle(self, batch: list[VoteRequest], *, look_up_keys: bool) -> list[Outcome]:
        async with self._pool().acquire() as conn, conn.transaction():
            state = await self._read_state(conn, batch, look_up_keys=look_up_keys)
            decided = decide_batch(batch, state)
            if not look_up_keys:
                decided = await self._retries_among_refused(conn, batch, state, decided)
            await self._write(conn, decided)
        return decided.outcomes

    async def _retries_among_refused(self, conn: repo.Conn, batch: list[VoteRequest], state: BatchState,
                                     decided: BatchDecision) -> BatchDecision:
        """The decision again when the key of a vote refused for the quota or the cap is already in the log. Its
        voter's quota row is locked (such a vote is never of a voter taken at once), so what the key names cannot
        change meanwhile."""
        keys = refused_keys(batch, decided)
        known = await repo.logged_votes(conn, keys) if keys else {}
        if not known:
            return decided
        return decide_batch(batch, BatchState(state.used, state.entry_used, known, state.taken))

    async def _read_state(self, conn: repo.Conn, batch: list[VoteRequest], *,
                          look_up_keys: bool) -> BatchState:
        """Quota used before the batch (locked), per-entry use, and the log's answers where keys are looked up.

        Most voters of a batch are far from their limit: their whole demand is taken in one statement. The rest
        (near the limit, per-entry caps, or keys to look up) lock their rows and are decided vote by vote.
        """
        asked = demand(batch)
        taken: dict[QuotaKey, int] = {}
        if not look_up_keys and not any(r.per_entry_daily_cap for r in batch):
            for limit, keys in voters_by_limit(batch):
                taken.update(await repo.take_whole_quota(conn, keys, [asked[k] for k in keys], limit))
        rest = [r for r in batch if (r.campaign_id, r.voter_id, r.day) not in taken]
        used: dict[QuotaKey, int] = {}
        entry_used: dict[EntryQuotaKey, int] = {}
        if rest:
            # Lock first, then look up keys: a repeated key racing in another batch waits here.
            used = await repo.lock_quota(conn, sorted({(r.campaign_id, r.voter_id, r.day) for r in rest}))
            entry_keys = sorted({(r.campaign_id, r.voter_id, r.entry_id, r.day)
                                 for r in rest if r.per_entry_daily_cap})
            if entry_keys:
                entry_used = await repo.lock_entry_quota(conn, entry_keys)
        used.update(used_before_taking(taken, asked))
        known = await repo.logged_votes(
            conn, [(r.campaign_id, r.voter_id, r.idempotency_key) for r in batch]) if look_up_keys else {}
        return BatchState(used, entry_used, known, frozenset(taken))

    async def _write(self, conn: repo.Conn, decided: BatchDecision) -> None:
        if not decided.accepted:
            return
        if await repo.insert_votes(conn, decided.accepted) < len(decided.accepted):
            raise _KeysRepeated  # rolls the whole batch back; nothing of it was written
        await repo.set_quota(conn, decided.quota_rows)
        await repo.set_entry_quota(conn, decided.entry_quota_rows)
        await self.outbox.record_many(conn, decided.events)


def _answer(batch: list[VoteRequest], outcomes: list[Outcome]) -> None:
    for req, outcome in zip(batch, outcomes, strict=True):
        if req.future.done():
            continue
        if isinstance(outcome, Exception):
            req.future.set_exception(outcome)
        else:
            req.future.set_result(outcome)


def _fail(batch: list[VoteRequest], exc: BaseException) -> None:
    for req in batch:
        if not req.future.done():
            req.future.set_exception(exc)
