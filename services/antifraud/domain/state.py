"""Where the windows live: in memory for the evaluation and tests (`MemoryWindows`), and the networks an
instance holds in memory beside PostgreSQL (`NetworkState`, see repository.HybridWindows)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Collection, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from .findings import Finding, Selector, matches, rotating_since
from .registry import Thresholds
from .signals import (
    DAY,
    DIMENSIONS,
    DISTINCT_DIMENSIONS,
    MINUTE,
    READ_BEFORE,
    CounterKey,
    Earlier,
    Member,
    NetKey,
    ShardedKey,
    VoterPast,
    VoteSignal,
    counter_increments,
    distinct_members,
    gap_bucket,
    window_start,
    with_extra,
)
from .timing import KeptWave, WaveKey


class Counting:
    """How a store counts a batch: its counters and distinct identities, through `bump` and `bump_distinct`.
    `early` holds, from batch to batch, votes whose cohorts wait for the campaign's baseline (`pipeline.judge`)."""

    early: dict[tuple[str, str, str], VoteSignal]
    # Votes that saw a network's wave for their entry start, judged in a later batch (`timing.judge_waves`).
    waves: dict[WaveKey, KeptWave]
    # Decisive findings of earlier batches whose windows are still open, by identity (`pipeline.standing`).
    standing: dict[tuple[str, str, str, datetime], Finding]
    # Identities (campaign, voter, day, entry or "") whose held counts this store has added
    # (`coordination.held_members`): a farm's finding covers it again with every batch, and its thousands of rows
    # need not be sent again.
    held: set[tuple[str, str, datetime, str]]

    def holds(self, v: VoteSignal) -> bool:
        """Whether every window the vote's judgement reads is here (see repository.HybridWindows)."""
        return True

    def counted_held(self, identities: set[tuple[str, str, datetime, str]]) -> None:
        """These identities' held counts were added (by the batch, once it commits)."""
        self.held |= identities

    def sittings(self, keys: set[CounterKey]) -> dict[CounterKey, Collection[str]]:
        """The members of these browsers' sittings (`turns`: network windows), the batch's own included."""
        return {}

    async def bump(self, increments: dict[ShardedKey, int],
                   reads: AbstractSet[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        """Add to the counters; their values and those of `reads` after the addition."""
        raise NotImplementedError

    async def bump_distinct(self, members: set[Member],
                            reads: AbstractSet[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        """Add identities to the windows; each window's distinct count (and those of `reads`) after the addition."""
        raise NotImplementedError

    async def count_votes(self, votes: list[VoteSignal], reads: set[CounterKey],
                          first: dict[uuid.UUID, frozenset[str]] | None = None,
                          extra: dict[ShardedKey, int] | None = None) -> dict[CounterKey, int]:
        return await self.bump(with_extra(counter_increments(votes, first=first), extra), reads)

    async def count_identities(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast],
                               reads: set[CounterKey]) -> dict[CounterKey, int]:
        return await self.bump_distinct(distinct_members(votes, past), reads)


@dataclass
class MemoryWindows(Counting):
    """The detector state in memory, with the same meaning as the PostgreSQL tables (for the evaluation and tests)."""

    counters: dict[CounterKey, int] = field(default_factory=dict)
    members: dict[CounterKey, set[str]] = field(default_factory=dict)
    index: dict[tuple[str, str, str], list[VoteSignal]] = field(default_factory=dict)
    by_voter: dict[tuple[str, str], list[Earlier]] = field(default_factory=dict)
    early: dict[tuple[str, str, str], VoteSignal] = field(default_factory=dict)
    waves: dict[WaveKey, KeptWave] = field(default_factory=dict)
    standing: dict[tuple[str, str, str, datetime], Finding] = field(default_factory=dict)
    held: set[tuple[str, str, datetime, str]] = field(default_factory=set)

    async def prepare(self, votes: list[VoteSignal]) -> None:
        """Nothing to load: every window is here."""

    def sittings(self, keys: set[CounterKey]) -> dict[CounterKey, Collection[str]]:
        return {k: self.members.get(k, set()) for k in keys}

    async def remember(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast]) -> None:
        for v in votes:
            self.by_voter.setdefault((v.campaign_id, v.voter_id), []).append(
                (v.cast_at, v.entry_id, v.subnet, v.device_hash))
            for name, value in (("voter", v.voter_id), ("device", v.device_hash), ("entry", str(v.entry_id)),
                                ("subnet", v.subnet), ("all", "")):
                if value is not None:
                    self.index.setdefault((v.campaign_id, name, value), []).append(v)

    async def bump(self, increments: dict[ShardedKey, int],
                   reads: AbstractSet[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        for (k, _shard), n in increments.items():
            self.counters[k] = self.counters.get(k, 0) + n  # the sum over partitions, as the rules read it
        return {k: self.counters.get(k, 0) for k in {k for k, _ in increments} | reads}

    async def bump_distinct(self, members: set[Member],
                            reads: AbstractSet[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        for k, m in members:
            self.members.setdefault(k, set()).add(m)
        return {k: len(self.members.get(k, ())) for k in {k for k, _ in members} | reads}

    async def history(self, voters: set[tuple[str, str]], since: datetime) -> dict[tuple[str, str], list[Earlier]]:
        return {k: sorted((p for p in self.by_voter.get(k, []) if p[0] >= since), key=lambda p: p[0]) for k in voters}

    async def select(self, selectors: list[Selector]) -> list[list[VoteSignal]]:
        out = []
        for s in selectors:
            if s.voters_of_entry:
                voters = {v.voter_id for v in self._candidates(s) if matches(s, v) and self._rotated(s, v)}
                s = replace(s, entry_id=None, voters_of_entry=False, ua=None, delay=None, page=None, num=None,
                            rot=None, rush=None, clock=None)
                out.append([v for v in self._candidates(s) if matches(s, v) and v.voter_id in voters])
            else:
                out.append([v for v in self._candidates(s) if matches(s, v) and self._rotated(s, v)])
        return out

    def _rotated(self, s: Selector, v: VoteSignal) -> bool:
        """The vote's identity had voted from changing fingerprints that day, if the selector asks for that."""
        since = rotating_since(s)
        return since is None or any(w.rot and w.cast_at >= since
                                    for w in self.index.get((v.campaign_id, "voter", v.voter_id), ()))

    def _candidates(self, s: Selector) -> Iterable[VoteSignal]:
        # Votes arrive in time order: look back from the end of the shortest list only as far as the window goes.
        lists = [self.index.get((s.campaign_id, name, value), []) for name, value in (
            ("voter", s.voter_id), ("device", s.device_hash), ("entry", str(s.entry_id) if s.entry_id else None),
            ("subnet", s.subnet)) if value is not None] or [self.index.get((s.campaign_id, "all", ""), [])]
        for v in reversed(min(lists, key=len)):
            if v.cast_at < s.start - timedelta(hours=1):
                break
            yield v

NEVER = datetime.min.replace(tzinfo=UTC)
# A network's ended windows are dropped at most this often (of its own votes' time): a busy network holds
# thousands of windows, and walking them for every batch would cost more than keeping them a few minutes longer.
_PRUNE_EVERY = timedelta(seconds=MINUTE)
# How long a window is kept after it ended, in the network's own time: a network's votes arrive in the order they
# were accepted, give or take the few milliseconds between concurrent voting batches.
_KEEP_ENDED = timedelta(seconds=MINUTE)
_FEW = 8  # identities kept as a tuple (48 bytes for one) before a set (216 bytes however few)


@dataclass(slots=True)
class Net:
    """One network's windows as this instance holds them: complete from `since` on."""

    partition: int
    since: datetime
    counters: dict[CounterKey, int] = field(default_factory=dict)
    # A window's identities: a tuple while there are a few (most networks show one or two), a set beyond.
    members: dict[CounterKey, tuple[str, ...] | set[str]] = field(default_factory=dict)
    latest: datetime = NEVER
    pruned: datetime = NEVER

    def add(self, counters: dict[CounterKey, int], members: Iterable[Member], latest: datetime) -> None:
        for k, n in counters.items():
            self.counters[k] = self.counters.get(k, 0) + n
        held = self.members
        for k, m in members:
            have = held.get(k)
            if have is None:
                held[k] = (m,)
            elif isinstance(have, tuple):
                if m not in have:
                    held[k] = (*have, m) if len(have) < _FEW else {*have, m}
            else:
                have.add(m)
        self.latest = max(self.latest, latest)
        if self.latest - self.pruned >= _PRUNE_EVERY:
            self.prune()

    def prune(self) -> None:
        """Windows that ended more than a minute before the network's latest vote are dropped (or, for a window read
        beside a later one, `READ_BEFORE`, more than a minute before that one ended); the network is then complete
        from the start of its latest vote's day (a later vote for an earlier day reloads it)."""
        self.pruned = self.latest
        edge = self.latest - _KEEP_ENDED
        self.counters = {k: n for k, n in self.counters.items()
                         if k[3] + timedelta(seconds=DIMENSIONS[k[1]][0]) >= edge}
        self.members = {k: m for k, m in self.members.items()
                        if k[3] + timedelta(seconds=DISTINCT_DIMENSIONS[k[1]] * (1 + READ_BEFORE.get(k[1], 0)))
                        >= edge}
        self.since = max(self.since, window_start(edge, DAY))




def network_increments(votes: Iterable[VoteSignal], past: dict[uuid.UUID, VoterPast] | None = None,
                       ) -> tuple[dict[NetKey, dict[CounterKey, int]], dict[NetKey, set[Member]]]:
    """The network windows a run of votes adds to, per network (what a network's stored votes rebuild)."""
    votes = list(votes)
    counters: dict[NetKey, dict[CounterKey, int]] = {}
    members: dict[NetKey, set[Member]] = {}
    counter_increments(votes, counters)
    distinct_members(votes, past, members)
    return counters, members


class NetworkState:
    """The network windows of the networks this instance's partitions carry, in memory, the least recently used
    dropped beyond `capacity` (they are rebuilt from the stored votes when the network votes again).

    A network whose partition this instance may have missed messages of (the partition went to another instance
    and came back: its offsets jump) is dropped and rebuilt the same way, so what it reads is always complete.
    """

    def __init__(self, t: Thresholds, capacity: int = 100_000) -> None:
        self.t = t
        self.capacity = capacity
        self.nets: OrderedDict[NetKey, Net] = OrderedDict()
        self.next_offset: dict[int, int] = {}
        self.rebuilt = 0
        self.dropped = 0
        # Votes whose cohorts wait for their campaign's baseline, judged again by a later batch (`pipeline.judge`).
        self.early: dict[tuple[str, str, str], VoteSignal] = {}
        # … and votes that saw a network's wave start, judged once its seconds after have passed.
        self.waves: dict[WaveKey, KeptWave] = {}
        # Decisive findings whose windows are still open (`Counting.standing`).
        self.standing: dict[tuple[str, str, str, datetime], Finding] = {}
        # Identities whose held counts a committed batch added (`Counting.held`).
        self.held: set[tuple[str, str, datetime, str]] = set()

    def follow(self, offsets: dict[int, tuple[int, int]]) -> None:
        """Before a batch: (first, last) offset per partition. Networks of a partition that skipped are dropped."""
        stale = {p for p, (first, _) in offsets.items() if p in self.next_offset and self.next_offset[p] != first}
        if stale:
            for key in [k for k, n in self.nets.items() if n.partition in stale]:
                del self.nets[key]
                self.dropped += 1
            for p in stale:
                del self.next_offset[p]

    def missing(self, votes: Iterable[VoteSignal]) -> dict[NetKey, tuple[int, datetime]]:
        """The known networks of the votes not held (or not from early enough): partition and since when to load."""
        out: dict[NetKey, tuple[int, datetime]] = {}
        for v in votes:
            if not v.subnet:
                continue
            key, day = (v.campaign_id, v.subnet), v.window(DAY)
            net = self.nets.get(key)
            if net is None or day < net.since:
                since = min(day, out[key][1]) if key in out else day
                out[key] = (v.partition, since if net is None else min(since, net.since))
        return out

    def load(self, missing: dict[NetKey, tuple[int, datetime]], stored: list[VoteSignal],
             gaps: dict[uuid.UUID, float]) -> None:
        """Rebuild networks from their stored votes since when `missing` says (with the timer gap each vote was
        scored with)."""
        past = {vid: VoterPast((gap, gap_bucket(gap, self.t)), frozenset()) for vid, gap in gaps.items()}
        counters, members = network_increments(stored, past) if stored else ({}, {})
        latest: dict[NetKey, datetime] = {}
        for v in stored:
            latest[(v.campaign_id, v.subnet or "")] = v.cast_at  # stored votes come in time order
        for key, (partition, since) in missing.items():
            net = self.nets[key] = Net(partition, since, pruned=latest.get(key, since))
            net.add(counters.get(key, {}), members.get(key, ()), latest.get(key, since))
        self.rebuilt += len(missing)

    def get(self, key: NetKey, partition: int) -> Net:
        net = self.nets.get(key)
        if net is None:  # an address without a known network: nothing stored to rebuild from
            net = self.nets[key] = Net(partition, NEVER)
        self.nets.move_to_end(key)
        return net

    def committed(self, offsets: dict[int, tuple[int, int]], counters: dict[NetKey, dict[CounterKey, int]],
                  members: dict[NetKey, set[Member]], latest: dict[NetKey, datetime],
                  partitions: dict[NetKey, int]) -> None:
        """After the batch's transaction committed: its additions become the networks' state."""
        for key in counters.keys() | members.keys():
            self.get(key, partitions.get(key, 0)).add(counters.get(key, {}), members.get(key, set()),
                                                      latest.get(key, NEVER))
        for p, (_, last) in offsets.items():
            self.next_offset[p] = last + 1
        while len(self.nets) > self.capacity:
            self.nets.popitem(last=False)
            self.dropped += 1
