"""Anti-fraud storage, the only reader of queries.sql: the shared detector windows in PostgreSQL, each network's in
the memory of the instance that owns its partition (rebuilt from the stored votes), policies, cases and their votes,
decisions, alerts and the entries' owners."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg

from massline.queries import load_queries

from .domain import (
    MANUAL_HOLD,
    NETWORK_DIMENSIONS,
    RUSH_BINS,
    SHARDED,
    CaseVotes,
    CounterKey,
    Counting,
    Earlier,
    Finding,
    Member,
    Net,
    NetKey,
    NetworkState,
    Selector,
    ShardedKey,
    StandingRow,
    VoterPast,
    VoteSignal,
    counter_increments,
    distinct_members,
    network_of,
    rotating_since,
    with_extra,
)
from .domain.timing import KeptWave, WaveKey

Q = load_queries(Path(__file__).with_name("queries.sql"))


def stored_signal(r: asyncpg.Record) -> VoteSignal:
    """A stored vote as the detectors read it."""
    return VoteSignal(r["vote_id"], r["campaign_id"], r["voter_id"], r["entry_id"], r["category_id"], r["count"],
                      r["cast_at"], r["ip_hash"], r["subnet"], r["device_hash"], None, r["fresh"],
                      ua=r["ua_hash"], delay=r["delay_bin"], page=r["page_viewed"], num=r["number_kind"],
                      rot=r["rotating"], clock=r["on_clock"], asked=r.get("asked_at"), host=r["host"])


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)]


_HELD_REMEMBERED = 1_000_000  # identities whose held counts an instance remembers having added


class PgWindows(Counting):
    """The same five operations as `domain.MemoryWindows`, each one statement for the whole batch."""

    def __init__(self, conn: asyncpg.Connection, *, sharded: bool = True) -> None:
        # Unsharded (one counter row per key: a single instance, or instances that may share rows),
        # the upsert's own result is the value and no second read is needed.
        self.conn = conn
        self.sharded = sharded
        self.early: dict[tuple[str, str, str], VoteSignal] = {}  # within this store's batch only
        self.waves: dict[WaveKey, KeptWave] = {}  # … and so are these
        self.standing: dict[tuple[str, str, str, datetime], Finding] = {}  # … and so are these
        self.held: set[tuple[str, str, datetime, str]] = set()

    async def prepare(self, votes: list[VoteSignal]) -> None:
        """Every window is in the tables."""

    async def remember(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast]) -> None:
        """Store the votes, each with the timer gap it was scored with (what rebuilds its network's windows)."""
        await self.conn.execute(Q.remember_votes, *_columns([
            (v.vote_id, v.campaign_id, v.voter_id, v.entry_id, v.category_id, v.count, v.cast_at, v.ip_hash,
             v.subnet, v.device_hash, v.fresh, gap[0] if (gap := getattr(past.get(v.vote_id), "gap", None)) else None,
             v.ua, v.delay, v.page, v.num, v.rot, v.clock, v.asked, v.host)
            for v in votes]))

    async def bump(self, increments: dict[ShardedKey, int],
                   reads: AbstractSet[CounterKey] = frozenset()) -> dict[CounterKey, int]:
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

    async def bump_distinct(self, members: set[Member],
                            reads: AbstractSet[CounterKey] = frozenset()) -> dict[CounterKey, int]:
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
        return {(r["campaign_id"], r["voter_id"]): list(zip(r["times"], r["entries"], r["subnets"], r["devices"],
                                                             strict=True))
                for r in got}

    async def select(self, selectors: list[Selector]) -> list[list[VoteSignal]]:
        out: list[list[VoteSignal]] = [[] for _ in selectors]
        if not selectors:
            return out
        got = await self.conn.fetch(Q.select_votes, *_columns([
            (i, s.campaign_id, s.start, s.end, s.entry_id, s.subnet, s.device_hash, s.voter_id, s.fresh_only,
             s.voters_of_entry, s.ua, s.delay, s.page, s.num, rotating_since(s), s.rush, s.clock, s.host)
            for i, s in enumerate(selectors)]), sorted(RUSH_BINS))
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
        # The instance's kept votes (from batch to batch), changed by this batch in a copy that becomes the
        # instance's once the batch commits: a batch that fails and is tried again judges them again.
        self.early = dict(nets.early)
        self.waves = dict(nets.waves)
        self.standing = dict(nets.standing)
        self.held = nets.held
        self.new_held: set[tuple[str, str, datetime, str]] = set()
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

    def counted_held(self, identities: set[tuple[str, str, datetime, str]]) -> None:
        """Remembered once the batch's transaction committed (`committed`): a batch tried again adds them again."""
        self.new_held |= identities

    def sittings(self, keys: set[CounterKey]) -> dict[CounterKey, Collection[str]]:
        """A browser's sittings: its network's members held, and the batch's new ones."""
        out: dict[CounterKey, Collection[str]] = {}
        for k in keys:
            net = self.nets.nets.get((k[0], network_of(k[1], k[2])))
            have = net.members.get(k, ()) if net else ()
            new = self.new_members.get(k)
            out[k] = {*have, *new} if new else have
        return out

    def holds(self, v: VoteSignal) -> bool:
        """A vote of an earlier batch is judged again only while this instance holds its network's windows."""
        return not v.subnet or (v.campaign_id, v.subnet) in self.nets.nets

    def _network_reads(self, reads: set[CounterKey]) -> dict[CounterKey, tuple[Net | None, NetKey]]:
        held = self.nets.nets
        return {k: (held.get(key), key) for k in reads if k[1] in NETWORK_DIMENSIONS
                for key in [(k[0], network_of(k[1], k[2]))]}

    async def count_votes(self, votes: list[VoteSignal], reads: set[CounterKey],
                          first: dict[uuid.UUID, frozenset[str]] | None = None,
                          extra: dict[ShardedKey, int] | None = None) -> dict[CounterKey, int]:
        """The shared counters upserted in PostgreSQL (with `extra`, shared counters the batch adds to beyond its
        votes' own); the networks' added aside (`self.counters`) and read as what the network holds plus the
        batch's own."""
        shared = with_extra(counter_increments(votes, self.counters, first), extra)
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
        if len(self.nets.held) > _HELD_REMEMBERED:
            self.nets.held.clear()  # sent again at worst: the counts are distinct
        self.nets.held |= self.new_held
        self.nets.early = self.early
        self.nets.waves = self.waves
        self.nets.standing = self.standing


# --- policies ----------------------------------------------------------------------------------

# Every function takes a connection (inside the caller's transaction), a pool's connection or the pool itself.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy | asyncpg.Pool


@dataclass(frozen=True)
class PolicyRow:
    """A campaign's own policy and its threshold overrides (by name)."""

    policy: str
    thresholds: dict[str, float]


async def campaign_policies(conn: Connection, campaigns: list[str]) -> dict[str, PolicyRow]:
    """The policies of those campaigns that set one."""
    return {r["campaign_id"]: PolicyRow(r["policy"], dict(r["thresholds"] or {}))
            for r in await conn.fetch(Q.campaign_policies, campaigns)}


async def policy(conn: Connection, campaign_id: str) -> PolicyRow | None:
    row = await conn.fetchrow(Q.policy_row, campaign_id)
    return PolicyRow(row["policy"], dict(row["thresholds"] or {})) if row else None


async def set_policy(conn: Connection, campaign_id: str, policy: str, set_by: str, reason: str,
                     thresholds: dict[str, float] | None) -> dict[str, Any]:
    """Store the campaign's policy (thresholds None: keep its overrides); the stored row as answered."""
    row = await conn.fetchrow(Q.set_policy, campaign_id, policy, set_by, reason, thresholds)
    return dict(row or {})


# --- cases and their votes ---------------------------------------------------------------------

@dataclass(frozen=True)
class OpenedCase:
    """The case of a tripped subject: new (`created`) or the existing one, with its status."""

    id: uuid.UUID
    status: str
    created: bool


@dataclass(frozen=True)
class LockedCase:
    """A case locked for a decision."""

    id: uuid.UUID
    campaign_id: str
    reason_code: str
    status: str
    explanation: str
    explanation_zh: str | None


@dataclass(frozen=True)
class ChangedVote:
    """A vote whose state a decision changed; `state` is its new state where the statement says it."""

    vote_id: uuid.UUID
    campaign_id: str
    voter_id: str
    entry_id: uuid.UUID
    category_id: str
    count: int
    state: str | None = None


def _locked(r: asyncpg.Record) -> LockedCase:
    return LockedCase(r["id"], r["campaign_id"], r["reason_code"], r["status"], r["explanation"],
                      r["explanation_zh"])


def _changed(rows: list[asyncpg.Record], with_state: bool = False) -> list[ChangedVote]:
    return [ChangedVote(r["vote_id"], r["campaign_id"], r["voter_id"], r["entry_id"], r["category_id"], r["count"],
                        r["state"] if with_state else None) for r in rows]


async def open_case(conn: Connection, f: Finding, status: str) -> OpenedCase:
    """The finding's case: opened with `status`, or the existing one for its subject and window (evidence updated)."""
    return await _open_case(conn, f.selector.campaign_id, f.reason_code, f.subject, f.selector.start, f.entry_id,
                            (f.explanation, f.explanation_zh), f.evidence, status, f.score)


async def _open_case(conn: Connection, campaign_id: str, reason_code: str, subject: str, start: datetime,
                     entry_id: uuid.UUID | None, explanation: tuple[str, str], evidence: dict[str, Any], status: str,
                     score: float) -> OpenedCase:
    r = await conn.fetchrow(Q.open_case, uuid.uuid4(), campaign_id, reason_code, subject, start, entry_id,
                            explanation[0], evidence, status, explanation[1], score)
    assert r is not None  # the upsert returns its row, inserted or updated
    return OpenedCase(r["id"], r["status"], r["created"])


async def link_votes(conn: Connection, case_id: uuid.UUID, vote_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Link the votes to the case; the ones not linked before."""
    return [r["vote_id"] for r in await conn.fetch(Q.link_votes, case_id, vote_ids)]


async def case_vote_ids(conn: Connection, case_id: uuid.UUID) -> list[uuid.UUID]:
    return [r["vote_id"] for r in await conn.fetch(Q.case_vote_ids, case_id)]


async def set_case_status(conn: Connection, case_id: uuid.UUID, status: str) -> None:
    await conn.execute(Q.set_case_status, case_id, status)


async def flag_votes(conn: Connection, vote_ids: list[uuid.UUID]) -> list[ChangedVote]:
    """Hold the counted ones of these votes out of the count; the votes held now."""
    return _changed(await conn.fetch(Q.flag_votes, vote_ids))


async def invalidate_votes(conn: Connection, vote_ids: list[uuid.UUID]) -> list[ChangedVote]:
    """Invalidate these votes; the ones that were not invalidated yet."""
    return _changed(await conn.fetch(Q.invalidate_votes, vote_ids))


async def overturn_votes(conn: Connection, case_id: uuid.UUID) -> list[ChangedVote]:
    """The overturned case's votes back to what the other cases holding them say; the votes whose state changed."""
    return _changed(await conn.fetch(Q.overturn_votes, case_id), with_state=True)


async def audit(conn: Connection, case_id: uuid.UUID, action: str, actor: str, actor_role: str, reason: str,
                votes_changed: int, reason_zh: str | None) -> None:
    await conn.execute(Q.audit, case_id, action, actor, actor_role, reason, votes_changed, reason_zh)


async def lock_case(conn: Connection, case_id: uuid.UUID) -> LockedCase | None:
    row = await conn.fetchrow(Q.lock_case, case_id)
    return _locked(row) if row else None


async def lock_cases(conn: Connection, case_ids: list[uuid.UUID], campaign_id: str) -> dict[uuid.UUID, LockedCase]:
    """The campaign's cases among these, locked in id order (two bulk decisions never deadlock)."""
    return {r["id"]: _locked(r) for r in await conn.fetch(Q.review_lock_cases, case_ids, campaign_id)}


# --- alerts and entries ------------------------------------------------------------------------

async def raise_alert(conn: Connection, f: Finding, severity: str) -> uuid.UUID | None:
    """The new alert's id; None when it was raised already for this subject and window."""
    alert_id: uuid.UUID | None = await conn.fetchval(
        Q.raise_alert, f.selector.campaign_id, f.reason_code, f.subject, f.selector.start, uuid.uuid4(), severity,
        f.explanation, f.entry_id, f.explanation_zh)
    return alert_id


async def list_alerts(conn: Connection, campaign_id: str, reason: str | None, limit: int,
                      offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the campaign's alerts, the latest first, and how many there are."""
    rows = await conn.fetch(Q.list_alerts, campaign_id, reason, limit, offset)
    return [dict(r) for r in rows], int(await conn.fetchval(Q.count_alerts, campaign_id, reason))


async def learn_campaigns(conn: Connection, rows: list[tuple[str, int]]) -> None:
    """(campaign, version) per campaign loaded."""
    await conn.execute(Q.learn_campaign, *_columns(rows))


async def campaign_known(conn: Connection, campaign_id: str) -> bool:
    return bool(await conn.fetchval(Q.campaign_known, campaign_id))


async def upsert_entries(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """(entry, campaign, unit, unit name, entry name, category) per entry."""
    await conn.execute(Q.upsert_entry, *_columns(rows))


async def prune_windows(conn: Connection, cutoff: datetime, tens_cutoff: datetime) -> None:
    """Detector windows and members before `cutoff`; the identities per ten minutes (the jumps' counts) before
    `tens_cutoff`."""
    await conn.execute(Q.prune_windows, cutoff, min(cutoff, tens_cutoff))
    await conn.execute(Q.prune_members, cutoff)


# --- what operators and units read -------------------------------------------------------------

async def get_case(conn: Connection, case_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(Q.get_case, case_id)
    return dict(row) if row else None


async def case_votes_sample(conn: Connection, case_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q.case_votes_sample, case_id, limit)]


async def case_overlaps(conn: Connection, case_id: uuid.UUID, limit: int) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q.case_overlaps, case_id, limit)]


async def case_decisions(conn: Connection, case_id: uuid.UUID) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q.case_decisions, case_id)]


async def identity_votes(conn: Connection, campaign_id: str, voter_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q.identity_votes, campaign_id, voter_id)]


async def identity_cases(conn: Connection, campaign_id: str, voter_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(Q.identity_cases, campaign_id, voter_id)]


async def entry_totals(conn: Connection, campaign_id: str, unit_id: str | None) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.entry_totals, campaign_id, unit_id))


async def invalidations_per_entry(conn: Connection, campaign_id: str, unit_id: str | None) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.invalidations_per_entry, campaign_id, unit_id))


async def unit_campaigns(conn: Connection, unit_id: str) -> list[str]:
    return [r["campaign_id"] for r in await conn.fetch(Q.unit_campaigns, unit_id)]


# --- the review queue and what-if ranks --------------------------------------------------------

@dataclass(frozen=True)
class CaseEntry:
    """One case's votes for one entry (a case with none: one row with no entry)."""

    case_id: uuid.UUID
    status: str
    created_at: datetime
    votes: CaseVotes


async def standings(conn: Connection, campaign_id: str) -> list[StandingRow]:
    return [StandingRow(r["category_id"], r["entry_id"], int(r["counted"]), r["entry_name"], r["unit_name"])
            for r in await conn.fetch(Q.review_standings, campaign_id)]


async def case_ids(conn: Connection, campaign_id: str, status: str | None, reason: str | None,
                   among: list[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """The campaign's cases matching, newest first."""
    return [r["id"] for r in await conn.fetch(Q.review_case_ids, campaign_id, status, reason, among)]


async def case_entries(conn: Connection, campaign_id: str, status: str | None, reason: str | None,
                       among: list[uuid.UUID] | None) -> list[CaseEntry]:
    rows = await conn.fetch(Q.review_case_entries, campaign_id, status, reason, among)
    return [CaseEntry(r["id"], r["status"], r["created_at"],
                      CaseVotes(r["category_id"], r["entry_id"], int(r["held"]), int(r["counted"]),
                                int(r["held_alone"]))) for r in rows]


async def cases_by_id(conn: Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The page's cases, each with how many other cases (not overturned) hold some of its votes."""
    overlapping = {r["case_id"]: r["overlapping"] for r in await conn.fetch(Q.overlapping_cases, ids)}
    return {r["id"]: {**dict(r), "overlapping_cases": overlapping.get(r["id"], 0)}
            for r in await conn.fetch(Q.review_cases_by_id, ids)}


async def what_if_deltas(conn: Connection, campaign_id: str, release: list[uuid.UUID],
                         confirm: list[uuid.UUID]) -> list[tuple[str, uuid.UUID, int]]:
    """(category, entry, change of its counted votes) if `release` were overturned and `confirm` confirmed."""
    return [(r["category_id"], r["entry_id"], int(r["delta"]))
            for r in await conn.fetch(Q.review_what_if, campaign_id, release, confirm)]


async def entry_tens(conn: Connection, campaign_id: str, since: datetime) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.entry_tens, campaign_id, since))


async def window_states(conn: Connection, campaign_id: str,
                        windows: list[tuple[uuid.UUID, datetime]]) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.window_states, campaign_id, [w[0] for w in windows], [w[1] for w in windows]))


async def window_newcomers(conn: Connection, campaign_id: str,
                           windows: list[tuple[uuid.UUID, datetime]]) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.window_newcomers, campaign_id, [w[0] for w in windows], [w[1] for w in windows]))


class WindowVote(NamedTuple):
    vote_id: uuid.UUID
    voter_id: str
    category_id: str
    count: int
    state: str


async def hold_window_votes(conn: Connection, campaign_id: str, entry_id: uuid.UUID, start: datetime, end: datetime,
                            new_only: bool) -> list[WindowVote]:
    """The entry's votes of [start, end) that are not invalidated (with `new_only`, only those of identities that
    first voted in the campaign then)."""
    return [WindowVote(*r) for r in await conn.fetch(Q.hold_window_votes, campaign_id, entry_id, start, end, new_only)]


async def entry_known(conn: Connection, campaign_id: str, entry_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(Q.entry_known, campaign_id, entry_id))


async def open_manual_case(conn: Connection, campaign_id: str, subject: str, start: datetime, entry_id: uuid.UUID,
                           explanation: tuple[str, str], evidence: dict[str, Any]) -> OpenedCase:
    """An operator's case, held for review; the existing one when this subject and window have one already."""
    return await _open_case(conn, campaign_id, MANUAL_HOLD, subject, start, entry_id, explanation, evidence,
                            "flagged", 0.0)


async def case_of_subject(conn: Connection, campaign_id: str, reason_code: str, subject: str,
                          start: datetime) -> asyncpg.Record | None:
    """The case opened for this subject and window, if any (its id and status)."""
    return await conn.fetchrow(Q.case_of_subject, campaign_id, reason_code, subject, start)
