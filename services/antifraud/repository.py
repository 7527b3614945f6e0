"""Anti-fraud storage: the detector windows in PostgreSQL (shared by every instance), cases and their votes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import asyncpg

from massline.queries import load_queries

from .domain import SHARDED, CounterKey, Earlier, Member, Selector, ShardedKey, VoteSignal

Q = load_queries(Path(__file__).with_name("queries.sql"))


def _columns(rows: list[tuple]) -> list[list]:
    return [list(col) for col in zip(*rows)]


class PgWindows:
    """The same five operations as `domain.MemoryWindows`, each one statement for the whole batch."""

    def __init__(self, conn: asyncpg.Connection, *, sharded: bool = True) -> None:
        # Unsharded (one counter row per key: a single instance, or instances that may share rows),
        # the upsert's own result is the value and no second read is needed.
        self.conn = conn
        self.sharded = sharded

    async def remember(self, votes: list[VoteSignal]) -> None:
        await self.conn.execute(Q.remember_votes, *_columns([
            (v.vote_id, v.campaign_id, v.voter_id, v.entry_id, v.category_id, v.count, v.cast_at, v.ip_hash,
             v.subnet, v.device_hash, v.fresh) for v in votes]))

    async def bump(self, increments: dict[ShardedKey, int],
                   reads: set[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        """Add to the counters; read back their values and those of `reads` (sharded counters, read only)."""
        if not increments:
            return {}
        rows = sorted((k[0], k[1], k[2], k[3], shard, n) for (k, shard), n in increments.items())
        got = await self.conn.fetch(Q.bump_windows, *_columns(rows))
        out = {(r["campaign_id"], r["dimension"], r["key"], r["window_start"]): r["value"] for r in got
               if not self.sharded or r["dimension"] not in SHARDED}
        sharded = sorted(({k for k, _ in increments if k[1] in SHARDED} if self.sharded else set())
                         | {k for k in reads if k[1] in SHARDED and k not in out})
        if sharded:
            for r in await self.conn.fetch(Q.sum_shards, *_columns(sharded)):
                out[(r["campaign_id"], r["dimension"], r["key"], r["window_start"])] = r["value"]
        return out

    async def bump_distinct(self, members: set[Member], reads: set[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        if not members:
            return {}
        rows = sorted((k[0], k[1], k[2], k[3], m) for k, m in members)
        added: dict[CounterKey, int] = {}
        for r in await self.conn.fetch(Q.add_members, *_columns(rows)):
            k = (r["campaign_id"], r["dimension"], r["key"], r["window_start"])
            added[k] = added.get(k, 0) + 1
        out: dict[CounterKey, int] = {}
        if added:  # the count rows, in key order like every counter upsert
            got = await self.conn.fetch(Q.bump_windows, *_columns([(*k, 0, n) for k, n in sorted(added.items())]))
            out = {(r["campaign_id"], r["dimension"], r["key"], r["window_start"]): r["value"] for r in got}
        unchanged = sorted(({r[:4] for r in rows} | reads) - out.keys())
        if unchanged:
            for r in await self.conn.fetch(Q.sum_shards, *_columns(unchanged)):
                out[(r["campaign_id"], r["dimension"], r["key"], r["window_start"])] = r["value"]
        return out

    async def history(self, voters: set[tuple[str, str]], since: datetime) -> dict[tuple[str, str], list[Earlier]]:
        if not voters:
            return {}
        got = await self.conn.fetch(Q.voter_history, *_columns(sorted(voters)), since)
        return {(r["campaign_id"], r["voter_id"]): list(zip(r["times"], r["entries"], r["subnets"])) for r in got}

    async def select(self, selectors: list[Selector]) -> list[list[VoteSignal]]:
        out: list[list[VoteSignal]] = [[] for _ in selectors]
        if not selectors:
            return out
        got = await self.conn.fetch(Q.select_votes, *_columns([
            (i, s.campaign_id, s.start, s.end, s.entry_id, s.subnet, s.device_hash, s.voter_id, s.fresh_only,
             s.voters_of_entry) for i, s in enumerate(selectors)]))
        for r in got:
            out[r["idx"]].append(VoteSignal(r["vote_id"], r["campaign_id"], r["voter_id"], r["entry_id"],
                                            r["category_id"], r["count"], r["cast_at"], r["ip_hash"], r["subnet"],
                                            r["device_hash"], None, r["fresh"]))
        return out
