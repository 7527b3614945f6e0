"""Anti-fraud storage: the shared detector windows in PostgreSQL, each network's in the memory of the instance that
owns its partition (rebuilt from the stored votes), cases and their votes."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import asyncpg

from massline.queries import load_queries

from .domain import (
    NETWORK_DIMENSIONS,
    Counting,
    SHARDED,
    CounterKey,
    Earlier,
    Member,
    Net,
    NetKey,
    NetworkState,
    Selector,
    ShardedKey,
    VoterPast,
    VoteSignal,
    counter_increments,
    distinct_members,
    network_of,
)

Q = load_queries(Path(__file__).with_name("queries.sql"))


def stored_signal(r: asyncpg.Record) -> VoteSignal:
    """A stored vote as the detectors read it."""
    return VoteSignal(r["vote_id"], r["campaign_id"], r["voter_id"], r["entry_id"], r["category_id"], r["count"],
                      r["cast_at"], r["ip_hash"], r["subnet"], r["device_hash"], None, r["fresh"],
                      ua=r["ua_hash"], delay=r["delay_bin"], page=r["page_viewed"])


def _columns(rows: list[tuple]) -> list[list]:
    return [list(col) for col in zip(*rows)]


class PgWindows(Counting):
    """The same five operations as `domain.MemoryWindows`, each one statement for the whole batch."""

    def __init__(self, conn: asyncpg.Connection, *, sharded: bool = True) -> None:
        # Unsharded (one counter row per key: a single instance, or instances that may share rows),
        # the upsert's own result is the value and no second read is needed.
        self.conn = conn
        self.sharded = sharded

    async def prepare(self, votes: list[VoteSignal]) -> None:
        """Every window is in the tables."""

    async def remember(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast]) -> None:
        """Store the votes, each with the timer gap it was scored with (what rebuilds its network's windows)."""
        await self.conn.execute(Q.remember_votes, *_columns([
            (v.vote_id, v.campaign_id, v.voter_id, v.entry_id, v.category_id, v.count, v.cast_at, v.ip_hash,
             v.subnet, v.device_hash, v.fresh, gap[0] if (gap := getattr(past.get(v.vote_id), "gap", None)) else None,
             v.ua, v.delay, v.page)
            for v in votes]))

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
             s.voters_of_entry, s.ua, s.delay, s.page) for i, s in enumerate(selectors)]))
        for r in got:
            out[r["idx"]].append(stored_signal(r))
        return out


class HybridWindows(PgWindows):
    """What the consumer scores with: network windows from this instance's `NetworkState`, the rest in PostgreSQL.

    The batch's additions to the networks are held aside and become their state only once the batch's
    transaction has committed (`committed`): a batch that fails and is tried again is not counted twice.
    """

    def __init__(self, conn: asyncpg.Connection, nets: NetworkState, offsets: dict[int, tuple[int, int]], *,
                 sharded: bool = True) -> None:
        super().__init__(conn, sharded=sharded)
        self.nets = nets
        self.offsets = offsets
        self.counters: dict[NetKey, dict[CounterKey, int]] = {}
        self.members: dict[NetKey, set[Member]] = {}
        self.new_members: dict[CounterKey, set[str]] = {}
        self.latest: dict[NetKey, datetime] = {}
        self.partitions: dict[NetKey, int] = {}

    async def prepare(self, votes: list[VoteSignal]) -> None:
        """Rebuild the networks of the batch this instance does not hold (before the batch itself is stored)."""
        self.nets.follow(self.offsets)
        for v in votes:
            key = (v.campaign_id, v.subnet or "")
            self.partitions.setdefault(key, v.partition)
            self.latest[key] = max(self.latest.get(key, v.cast_at), v.cast_at)
        missing = self.nets.missing(votes)
        if not missing:
            return
        keys = sorted(missing)
        stored: list[VoteSignal] = []
        gaps: dict[uuid.UUID, float] = {}
        for r in await self.conn.fetch(Q.network_votes, [k[0] for k in keys], [k[1] for k in keys],
                                       [missing[k][1] for k in keys]):
            stored.append(stored_signal(r))
            if r["gap_s"] is not None:
                gaps[r["vote_id"]] = r["gap_s"]
        self.nets.load(missing, stored, gaps)

    def _network_reads(self, reads: set[CounterKey]) -> dict[CounterKey, tuple[Net | None, NetKey]]:
        held = self.nets.nets
        return {k: (held.get(key), key) for k in reads if k[1] in NETWORK_DIMENSIONS
                for key in [(k[0], network_of(k[1], k[2]))]}

    async def count_votes(self, votes: list[VoteSignal], reads: set[CounterKey],
                          first: dict[uuid.UUID, frozenset[str]] | None = None) -> dict[CounterKey, int]:
        """The shared counters upserted in PostgreSQL; the networks' added aside (`self.counters`) and read as
        what the network holds plus the batch's own."""
        shared = counter_increments(votes, self.counters, first)
        out = await self.bump(shared, {k for k in reads if k[1] not in NETWORK_DIMENSIONS})
        held = self.nets.nets
        for net_key, staged in self.counters.items():
            net = held.get(net_key)
            if net is None:
                out.update(staged)
            else:
                have = net.counters.get
                for k, n in staged.items():
                    out[k] = have(k, 0) + n
        for k, (net, net_key) in self._network_reads(reads).items():
            out[k] = (net.counters.get(k, 0) if net else 0) + self.counters.get(net_key, {}).get(k, 0)
        return out

    async def count_identities(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast],
                               reads: set[CounterKey]) -> dict[CounterKey, int]:
        """Distinct identities: the shared ones in PostgreSQL; a network's are its members held plus the batch's
        new ones (`self.members`)."""
        staged: dict[NetKey, set[Member]] = {}
        shared = distinct_members(votes, past, staged)
        out = await self.bump_distinct(shared, {k for k in reads if k[1] not in NETWORK_DIMENSIONS})
        held = self.nets.nets
        counted: dict[CounterKey, Net | None] = {}
        for net_key, members in staged.items():
            net = held.get(net_key)
            have = net.members if net else {}
            for k, m in members:
                counted[k] = net
                if m not in have.get(k, ()):
                    self.new_members.setdefault(k, set()).add(m)
                    self.members.setdefault(net_key, set()).add((k, m))
        for k, (net, _) in self._network_reads(reads).items():
            counted[k] = net
        for k, net in counted.items():
            out[k] = (len(net.members.get(k, ())) if net else 0) + len(self.new_members.get(k, ()))
        return out

    def committed(self) -> None:
        """The batch's transaction committed: its additions become the networks' state."""
        self.nets.committed(self.offsets, self.counters, self.members, self.latest, self.partitions)
