"""Brushing (刷票) detectors without I/O: the windows a vote counts in, the rules that trip, what operators read.

A detector never looks at one vote alone: each vote bumps counters (per voter, IP, network, device,
entry, in short and long windows), and the rules below read those counters back. Network signals
(IP, /24 or /64) are never decisive alone, because a campus or a mobile carrier puts thousands of
honest voters behind one address: they trip only together with a second signal (focus on one entry,
synchronised timing, fresh identities, a network taken over by one entry, a shared timer). Missing or
garbage network data bumps nothing and so can never trip anything.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import statistics
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

# Window lengths in seconds.
MINUTE = 60
BURST = 10
TEN_MINUTES = 600
HOUR = 3600
DAY = 86400

_PLACEHOLDERS = {"", "unknown", "null", "none", "undefined", "nil", "0", "-", "n/a", "na", "default"}


@dataclass(frozen=True)
class Thresholds:
    """Detector limits; every one is a setting of the service."""

    voter_per_minute: int = 30
    device_per_minute: int = 20
    ip_per_minute: int = 120
    subnet_per_minute: int = 300
    device_voters_per_day: int = 5
    focus_min_votes_minute: int = 40
    focus_min_votes_hour: int = 150
    focus_share: float = 0.9
    entry_share: float = 0.2
    burst_min: int = 20
    burst_ratio: float = 6.0
    lockstep_min_shared: int = 3
    fresh_window_s: int = 300
    fresh_min_votes: int = 10
    fresh_focus_share: float = 0.8
    fresh_entry_alert: int = 50
    # Network findings need the entry's voters to be most of the identities the network showed today:
    # a campus rally of 40 among its 3,000 students is not a takeover, a botnet's own /24 is.
    takeover_share: float = 0.5
    regular_min_votes: int = 5
    regular_min_gap_s: float = 20.0
    regular_max_cv: float = 0.05
    # Co-voting (CopyCatch-like, over the day): nearly every identity a network showed today voted for one entry,
    # with most of the network's votes. Measured over the day, not the hour, so that a campus rally (every
    # student of one class within minutes) is a small part of the thousands the campus NAT showed; an honest
    # campus peaks at about 85 % of its identities and 58 % of its votes for its own university in our traffic.
    covote_min_identities: int = 10
    covote_min_votes: int = 40
    covote_share: float = 0.95
    covote_focus: float = 0.5
    # A timer shared by a network (SynchroTrap-like): identities voting again for one entry after the same
    # interval (within timer_tolerance), most of the network's identities that voted for it more than once today.
    timer_min_identities: int = 3
    timer_share: float = 0.8
    timer_tolerance: float = 0.005
    # Gaps a person leaves between clicks in one sitting (mostly under a minute) are not compared: a timer that fast
    # makes an identity trip regular_gaps within a few minutes anyway.
    timer_min_gap_s: float = 60.0
    timer_max_gap_s: float = 3600.0


@dataclass(frozen=True)
class VoteSignal:
    """What the detectors know about one accepted vote (cleaned: garbage becomes None)."""

    vote_id: uuid.UUID
    campaign_id: str
    voter_id: str
    entry_id: uuid.UUID
    category_id: str
    count: int
    cast_at: datetime
    ip_hash: str | None
    subnet: str | None
    device_hash: str | None
    verified_at: datetime | None
    fresh: bool
    shard: int = 0  # the counter row of its partition (see SHARDED)
    partition: int = 0  # the vote topic partition it came from (see NetworkState)
    # A vote's window starts, built once each: every rule reads the same few (minute, hour, day) many times.
    _starts: dict[int, datetime] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def window(self, length_s: int) -> datetime:
        """The start of the window of `length_s` seconds this vote falls in."""
        start = self._starts.get(length_s)
        if start is None:
            start = self._starts[length_s] = window_start(self.cast_at, length_s)
        return start

    @classmethod
    def of(cls, campaign_id: str, e: Any, thresholds: Thresholds, shard: int = 0,
           partition: int = 0) -> "VoteSignal":
        """From a VoteCast event."""
        cast_at = utc(e.cast_at)
        verified = utc(e.identity_verified_at) if e.identity_verified_at else None
        fresh = (verified is not None
                 and timedelta(0) <= cast_at - verified <= timedelta(seconds=thresholds.fresh_window_s))
        return cls(e.vote_id, campaign_id, e.voter_id, e.entry_id, e.category_id, e.count, cast_at,
                   clean_key(e.ip_hash), clean_subnet(e.subnet), clean_key(e.device_hash), verified, fresh, shard,
                   partition)


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def clean_key(value: str | None) -> str | None:
    """A hash or fingerprint, or None when it is missing or a placeholder a client sends when it has none."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() in _PLACEHOLDERS or len(value) > 200:
        return None
    return value


def clean_subnet(value: str | None) -> str | None:
    """A /24 or /64 in canonical form; anything else (garbage, a single host, a whole /8) is unknown."""
    return None if value is None else _clean_subnet(value)


@functools.lru_cache(maxsize=65536)
def _clean_subnet(value: str) -> str | None:
    # Parsing a network is the dearest step of reading a vote, and a network votes many times.
    value = clean_key(value)
    if value is None:
        return None
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if net.prefixlen != (24 if net.version == 4 else 64):
        return None
    return str(net)


def window_start(at: datetime, length_s: int) -> datetime:
    ts = int(at.timestamp())
    return _window_at(ts - ts % length_s)


@functools.lru_cache(maxsize=16384)
def _window_at(start: int) -> datetime:
    # A vote touches up to sixteen windows and a batch shares most of them: build each datetime once.
    return datetime.fromtimestamp(start, tz=timezone.utc)


# A counter is (campaign, dimension, key, window start); its value is what was added in that window.
CounterKey = tuple[str, str, str, datetime]

# dimension -> (window length, counts vote requests (False) or votes (True))
DIMENSIONS: dict[str, tuple[int, bool]] = {
    "ip_minute": (MINUTE, False),
    "subnet_minute": (MINUTE, False),
    "device_minute": (MINUTE, False),
    "entry_subnet_minute": (MINUTE, True),
    "subnet_votes_minute": (MINUTE, True),
    "entry_votes_minute": (MINUTE, True),
    "entry_subnet_hour": (HOUR, True),
    "subnet_votes_hour": (HOUR, True),
    "entry_votes_hour": (HOUR, True),
    "entry_burst": (BURST, False),
    "entry_requests_hour": (HOUR, False),
    "entry_subnet_burst": (BURST, False),
    "entry_device_burst": (BURST, False),
    "fresh_entry_subnet_votes": (TEN_MINUTES, True),
    "fresh_subnet_votes": (TEN_MINUTES, True),
    "entry_subnet_day": (DAY, True),
    "subnet_votes_day": (DAY, True),
}
# Counters every instance adds to (per entry, per network: a carrier NAT is in every batch) are kept in one row
# per vote-topic partition, so instances owning different partitions never wait on each other's row locks;
# a rule reads the sum over the partitions.
SHARDED = {d for d in DIMENSIONS if d.startswith(("entry_", "subnet_")) and d != "entry_device_burst"}

# Distinct identities per window: one busy voter must not look like many. The timer dimensions hold the
# identities of a network that voted for an entry again after a timed gap (any gap; in one gap bucket).
DISTINCT_DIMENSIONS: dict[str, int] = {"device_voters_day": DAY, "subnet_voters_day": DAY,
                                       "entry_subnet_voters_hour": HOUR, "fresh_entry_subnet": TEN_MINUTES,
                                       "fresh_subnet": TEN_MINUTES, "fresh_entry": TEN_MINUTES,
                                       "entry_subnet_voters_day": DAY, "timer_gapped_day": DAY,
                                       "timer_gap_day": DAY}


# The windows of one network (its address's key starts with the network): the vote topic is keyed by network, so
# every vote of a network reaches the one instance that owns its partition, which keeps them in memory
# (`NetworkState`). The others (per entry, per device) are shared by every instance, in PostgreSQL.
NETWORK_DIMENSIONS = {"ip_minute", "subnet_minute", "subnet_votes_minute", "subnet_votes_hour", "subnet_votes_day",
                      "entry_subnet_minute", "entry_subnet_hour", "entry_subnet_day", "entry_subnet_burst",
                      "fresh_entry_subnet_votes", "fresh_subnet_votes",
                      "subnet_voters_day", "entry_subnet_voters_hour", "entry_subnet_voters_day",
                      "fresh_entry_subnet", "fresh_subnet", "timer_gapped_day", "timer_gap_day"}


def network_of(dimension: str, key: str) -> str:
    """The network a network dimension's key belongs to ("" for an address without a known network)."""
    if dimension.startswith(("subnet_", "fresh_subnet")) or dimension == "ip_minute":
        return key.split("|", 1)[0]
    return key.split("|", 2)[1]  # entry|network[|gap bucket]


def ip_key(v: VoteSignal) -> str | None:
    """An address's counter key: its network first, so that the address is counted where its network is."""
    return f"{v.subnet or ''}|{v.ip_hash}" if v.ip_hash else None


def _key(v: VoteSignal, dimension: str, key: str) -> CounterKey:
    return (v.campaign_id, dimension, key, v.window(DIMENSIONS[dimension][0]))


ShardedKey = tuple[CounterKey, int]


# One earlier vote of an identity as the detectors read it back: (cast at, entry, network).
Earlier = tuple[datetime, uuid.UUID, str | None]


@dataclass(frozen=True)
class VoterPast:
    """What a vote's identity did before it: the gap to its previous vote when it could be a timer's (seconds,
    bucket), and the other entries it voted for from the same network earlier in the vote's day."""

    gap: tuple[float, int] | None
    entries: frozenset[uuid.UUID]


@functools.lru_cache(maxsize=65536)
def entry_key(entry_id: uuid.UUID) -> str:
    return str(entry_id)


@functools.lru_cache(maxsize=65536)
def pair(entry: str, subnet: str) -> str:
    """An (entry, network) key, one string object however many windows and votes share it (they are kept in
    memory per network)."""
    return f"{entry}|{subnet}"


def counter_increments(votes: Iterable[VoteSignal],
                       networks: dict[NetKey, dict[CounterKey, int]] | None = None) -> dict[ShardedKey, int]:
    """Every counter the batch adds to, summed per counter and partition row (one upsert row each).

    With `networks`, the network windows' increments are added there instead, per network (they are never rows).
    The entry's previous hour is added with 0 so that its value comes back as the burst baseline.
    (Written out key by key: this runs for every vote, about twenty counters each.)
    """
    out: dict[ShardedKey, int] = {}
    get = out.get
    for v in votes:
        c, n, subnet, shard = v.campaign_id, v.count, v.subnet, v.shard
        e = entry_key(v.entry_id)
        minute, hour, burst = v.window(MINUTE), v.window(HOUR), v.window(BURST)
        keys: list[tuple[ShardedKey, int]] = [
            (((c, "entry_burst", e, burst), shard), 1), (((c, "entry_requests_hour", e, hour), shard), 1),
            (((c, "entry_votes_minute", e, minute), shard), n), (((c, "entry_votes_hour", e, hour), shard), n),
            (((c, "entry_requests_hour", e, hour - _HOUR), shard), 0)]
        if v.device_hash:
            keys += [(((c, "device_minute", v.device_hash, minute), 0), 1),
                     (((c, "entry_device_burst", f"{e}|{v.device_hash}", burst), 0), 1)]
        network: list[tuple[ShardedKey, int]] = []
        if v.ip_hash:
            network.append((((c, "ip_minute", ip_key(v), minute), 0), 1))
        if subnet:
            es, day = pair(e, subnet), v.window(DAY)
            network += [(((c, "subnet_minute", subnet, minute), shard), 1),
                        (((c, "entry_subnet_minute", es, minute), shard), n),
                        (((c, "subnet_votes_minute", subnet, minute), shard), n),
                        (((c, "entry_subnet_hour", es, hour), shard), n),
                        (((c, "subnet_votes_hour", subnet, hour), shard), n),
                        (((c, "entry_subnet_burst", es, burst), shard), 1),
                        (((c, "entry_subnet_day", es, day), shard), n),
                        (((c, "subnet_votes_day", subnet, day), shard), n)]
            if v.fresh:
                ten = v.window(TEN_MINUTES)
                network += [(((c, "fresh_entry_subnet_votes", es, ten), 0), n),
                            (((c, "fresh_subnet_votes", subnet, ten), 0), n)]
        if networks is None:
            keys += network
        elif network:
            mine = networks.get((c, subnet or ""))
            if mine is None:
                mine = networks[(c, subnet or "")] = {}
            for (k, _), m in network:
                mine[k] = mine.get(k, 0) + m
        for row, k in keys:
            out[row] = get(row, 0) + k
    return out


_HOUR = timedelta(seconds=HOUR)


def gap_bucket(gap_s: float, t: Thresholds) -> int:
    """Gaps on a log scale: two gaps in one bucket or neighbouring ones differ by at most about 2 tolerances."""
    return round(math.log(gap_s) / math.log1p(t.timer_tolerance))


def voter_past(votes: Iterable[VoteSignal], history: dict[tuple[str, str], list[Earlier]],
               t: Thresholds) -> dict[uuid.UUID, VoterPast]:
    """Per vote of the batch, from its identity's recent votes (the batch's own included)."""
    out: dict[uuid.UUID, VoterPast] = {}
    for v in votes:
        before = [p for p in history.get((v.campaign_id, v.voter_id), []) if p[0] < v.cast_at]
        if not before:
            continue
        gap_s = (v.cast_at - max(p[0] for p in before)).total_seconds()
        gap = (gap_s, gap_bucket(gap_s, t)) if t.timer_min_gap_s <= gap_s <= t.timer_max_gap_s else None
        day = v.window(DAY)
        entries = frozenset(p[1] for p in before if p[1] != v.entry_id and v.subnet and p[2] == v.subnet
                            and p[0] >= day)
        if gap or entries:
            out[v.vote_id] = VoterPast(gap, entries)
    return out


# A member of a distinct counter: (counter, identity).
Member = tuple[CounterKey, str]


def distinct_members(votes: Iterable[VoteSignal], past: dict[uuid.UUID, VoterPast] | None = None,
                     networks: dict[NetKey, set[Member]] | None = None) -> set[Member]:
    """Distinct counters: identities seen on one device in a day; fresh identities per entry and network; the
    identities per network voting for an entry (any gap, and per gap bucket for the timer rule).

    With `networks`, the network windows' members are added there instead, per network."""
    out: set[Member] = set()
    past = past or {}
    for v in votes:
        c, e, subnet, voter = v.campaign_id, entry_key(v.entry_id), v.subnet, v.voter_id
        if v.device_hash:
            out.add(((c, "device_voters_day", v.device_hash, v.window(DAY)), voter))
        if v.fresh:
            out.add(((c, "fresh_entry", e, v.window(TEN_MINUTES)), voter))
        if not subnet:
            continue
        es, day, hour = pair(e, subnet), v.window(DAY), v.window(HOUR)
        mine = [((c, "subnet_voters_day", subnet, day), voter), ((c, "entry_subnet_voters_hour", es, hour), voter),
                ((c, "entry_subnet_voters_day", es, day), voter)]
        if v.fresh:
            ten = v.window(TEN_MINUTES)
            mine += [((c, "fresh_entry_subnet", es, ten), voter), ((c, "fresh_subnet", subnet, ten), voter)]
        earlier = past.get(v.vote_id)
        if earlier and earlier.gap:
            # The identity counts in its own bucket and both neighbours, so a bucket's count holds every identity
            # whose gap is within one bucket of it, wherever the bucket edges fall.
            bucket = earlier.gap[1]
            mine.append(((c, "timer_gapped_day", es, day), voter))
            mine += [((c, "timer_gap_day", f"{es}|{b}", day), voter) for b in (bucket - 1, bucket, bucket + 1)]
        if networks is None:
            out.update(mine)
        else:
            networks.setdefault((c, subnet), set()).update(mine)
    return out


@dataclass(frozen=True)
class Selector:
    """Which stored votes a finding covers: every vote matching the set fields in [start, end)."""

    campaign_id: str
    start: datetime
    end: datetime
    entry_id: uuid.UUID | None = None
    subnet: str | None = None
    device_hash: str | None = None
    voter_id: str | None = None
    fresh_only: bool = False
    # Instead of the entry's votes: every vote from the network in the window by the identities that voted for the
    # entry from it in the window (their camouflage votes for other entries too).
    voters_of_entry: bool = False


@dataclass(frozen=True)
class Finding:
    """A detector tripped. Decisive findings open a case; the others only raise an alert.

    The explanation is written twice, in English and in Chinese (what operators read first), with the same numbers.
    """

    reason_code: str
    subject: str
    explanation: str
    explanation_zh: str
    evidence: dict[str, Any]
    selector: Selector
    decisive: bool = True
    entry_id: uuid.UUID | None = None

    @property
    def identity(self) -> tuple[str, str, str, datetime]:
        return (self.selector.campaign_id, self.reason_code, self.subject, self.selector.start)


REASONS: dict[str, str] = {
    "velocity_voter": "one identity voting faster than a person can",
    "velocity_device": "one device casting votes faster than a person can",
    "velocity_ip": "many votes from one address (alert only: shared NAT is common)",
    "velocity_subnet": "many votes from one network (alert only: campus and carrier NAT)",
    "device_shared": "many identities voting from one device",
    "concentration_subnet": "one network giving almost all its votes to one entry, and much of that entry's votes",
    "lockstep_group": "identities voting for one entry in the same seconds from a shared network or device",
    "fresh_identity_surge": "freshly verified identities from one network all voting for one entry",
    "fresh_identity_entry_surge": "many freshly verified identities voting for one entry (alert only)",
    "regular_gaps": "one identity voting at machine-regular intervals",
    "covoting_subnet": "nearly every identity of one network voting for one entry, with most of the network's votes",
    "timer_subnet": "identities of one network voting again for one entry after the same machine interval",
}

REASONS_ZH: dict[str, str] = {
    "velocity_voter": "同一身份投票速度超出常人",
    "velocity_device": "同一设备投票速度超出常人",
    "velocity_ip": "同一地址大量投票（仅提示：共享出口较为常见）",
    "velocity_subnet": "同一网段大量投票（仅提示：校园网和运营商共享出口）",
    "device_shared": "多个身份使用同一设备投票",
    "concentration_subnet": "同一网段几乎全部选票投给同一作品，且占该作品得票的很大比例",
    "lockstep_group": "多个身份在同一时刻、通过同一网段或设备为同一作品投票",
    "fresh_identity_surge": "同一网段新验证的身份集中为同一作品投票",
    "fresh_identity_entry_surge": "大量新验证的身份为同一作品投票（仅提示）",
    "regular_gaps": "同一身份按机器般固定的间隔投票",
    "covoting_subnet": "同一网段几乎所有身份都投给同一作品，且占该网段大部分选票",
    "timer_subnet": "同一网段的多个身份按相同的机器间隔再次为同一作品投票",
}

_WINDOW_ZH = {"minute": "一分钟", "hour": "一小时"}
_BY_ZH = {"network": "网段", "device": "设备"}


@functools.lru_cache(maxsize=4096)
def _hm(at: datetime) -> str:
    # Both sentences of every finding name its window's start, and the votes of a batch share a few windows.
    return f"{at:%m-%d %H:%M:%S} UTC"


def _sel(v: VoteSignal, length_s: int, **fields: Any) -> Selector:
    start = v.window(length_s)
    return Selector(v.campaign_id, start, start + timedelta(seconds=length_s), **fields)


def past_reads(votes: Iterable[VoteSignal],
               past: dict[uuid.UUID, VoterPast]) -> tuple[set[CounterKey], set[CounterKey]]:
    """The counters and distinct counts read back without adding to them: co-voting is judged again, on each vote
    of an identity, for the entries it voted for earlier today from the same network, so that its camouflage
    votes after its vote for the target are held as they come."""
    counters: set[CounterKey] = set()
    distinct: set[CounterKey] = set()
    for v in votes:
        mine = past.get(v.vote_id)
        if v.subnet and mine:
            day = v.window(DAY)
            for other in mine.entries:
                counters.add((v.campaign_id, "entry_subnet_day", f"{other}|{v.subnet}", day))
                distinct.add((v.campaign_id, "entry_subnet_voters_day", f"{other}|{v.subnet}", day))
    return counters, distinct


def judge(
    votes: Iterable[VoteSignal],
    counts: dict[CounterKey, int],
    distinct: dict[CounterKey, int],
    history: dict[tuple[str, str], list[Earlier]],
    t: Thresholds,
    past: dict[uuid.UUID, VoterPast] | None = None,
) -> list[Finding]:
    """Every rule, read against the counters after the batch was added. One finding per subject and window."""
    found: dict[tuple[str, str, str, datetime], Finding] = {}

    def c(v: VoteSignal, dimension: str, key: str | None) -> int:
        return counts.get(_key(v, dimension, key), 0) if key else 0

    def put(f: Finding) -> None:
        found.setdefault(f.identity, f)

    # An identity's requests per minute, from its history (which holds the batch): the identity's votes may come
    # from several networks, and so from several instances.
    requests: dict[tuple[str, str, datetime], int] = {}
    for campaign, voter in {(v.campaign_id, v.voter_id) for v in votes}:
        for p in history.get((campaign, voter), ()):
            k = (campaign, voter, window_start(p[0], MINUTE))
            requests[k] = requests.get(k, 0) + 1

    for v in votes:
        e = str(v.entry_id)
        minute = v.window(MINUTE)
        n = requests.get((v.campaign_id, v.voter_id, minute), 0)
        if n > t.voter_per_minute:
            put(Finding("velocity_voter", f"voter:{v.voter_id}",
                        f"{n} vote requests from one identity in the minute from {_hm(minute)} "
                        f"(limit {t.voter_per_minute})",
                        f"同一身份在 {_hm(minute)} 起的一分钟内发出 {n} 次投票请求（上限 {t.voter_per_minute} 次）",
                        {"requests": n, "limit": t.voter_per_minute}, _sel(v, MINUTE, voter_id=v.voter_id)))
        n = c(v, "device_minute", v.device_hash)
        if n > t.device_per_minute:
            put(Finding("velocity_device", f"device:{v.device_hash}",
                        f"{n} vote requests from one device in the minute from {_hm(minute)} "
                        f"(limit {t.device_per_minute})",
                        f"同一设备在 {_hm(minute)} 起的一分钟内发出 {n} 次投票请求（上限 {t.device_per_minute} 次）",
                        {"requests": n, "limit": t.device_per_minute}, _sel(v, MINUTE, device_hash=v.device_hash)))
        n = c(v, "ip_minute", ip_key(v))
        if n > t.ip_per_minute:
            put(Finding("velocity_ip", f"ip:{v.ip_hash}",
                        f"{n} vote requests from one address in the minute from {_hm(minute)} "
                        f"(alert level {t.ip_per_minute}; not punished alone, shared NAT is common)",
                        f"同一地址在 {_hm(minute)} 起的一分钟内发出 {n} 次投票请求（提示阈值 {t.ip_per_minute} 次；"
                        f"共享出口较为常见，仅凭此项不作处理）",
                        {"requests": n, "limit": t.ip_per_minute}, _sel(v, MINUTE), decisive=False))
        n = c(v, "subnet_minute", v.subnet)
        if n > t.subnet_per_minute:
            put(Finding("velocity_subnet", f"subnet:{v.subnet}",
                        f"{n} vote requests from {v.subnet} in the minute from {_hm(minute)} "
                        f"(alert level {t.subnet_per_minute}; not punished alone, campus and carrier NAT)",
                        f"网段 {v.subnet} 在 {_hm(minute)} 起的一分钟内发出 {n} 次投票请求（提示阈值 "
                        f"{t.subnet_per_minute} 次；校园网和运营商共享出口常见，仅凭此项不作处理）",
                        {"requests": n, "limit": t.subnet_per_minute}, _sel(v, MINUTE, subnet=v.subnet),
                        decisive=False))
        if v.device_hash:
            day_key = (v.campaign_id, "device_voters_day", v.device_hash, v.window(DAY))
            ids = distinct.get(day_key, 0)
            if ids >= t.device_voters_per_day:
                put(Finding("device_shared", f"device:{v.device_hash}",
                            f"{ids} different identities voted from one device on {v.cast_at:%Y-%m-%d} (UTC) "
                            f"(limit {t.device_voters_per_day - 1})",
                            f"{v.cast_at:%Y-%m-%d}（UTC）有 {ids} 个不同身份使用同一设备投票"
                            f"（上限 {t.device_voters_per_day - 1} 个）",
                            {"identities": ids, "limit": t.device_voters_per_day - 1},
                            _sel(v, DAY, device_hash=v.device_hash)))
        def ids(dim: str, key: str | None, v: VoteSignal = v) -> int:
            return distinct.get((v.campaign_id, dim, key, v.window(DISTINCT_DIMENSIONS[dim])), 0) \
                if key else 0

        if v.subnet:
            _focus(v, e, c, ids, t, put)
            mine = (past or {}).get(v.vote_id)
            for entry in (v.entry_id, *(mine.entries if mine else ())):
                _covoting(v, entry, c, ids, t, put)
            if mine and mine.gap:
                _timer(v, e, mine.gap, ids, t, put)
        _fresh(v, e, c, ids, t, put)
        _lockstep(v, e, c, counts, t, put)
    _regular(votes, history, t, put)
    return list(found.values())


def takeover(v: VoteSignal, voters: int, ids: Any) -> float:
    """Share of the identities seen on the vote's network today that are `voters`."""
    population = ids("subnet_voters_day", v.subnet)
    return voters / population if population else 0.0


def _focus(v: VoteSignal, e: str, c: Any, ids: Any, t: Thresholds, put: Any) -> None:
    # Two time scales: the minute catches a burst at once, the hour catches a steadier stream.
    scales = ((MINUTE, "minute", t.focus_min_votes_minute), (HOUR, "hour", t.focus_min_votes_hour))
    for length, suffix, minimum in scales:
        to_entry = c(v, f"entry_subnet_{suffix}", f"{e}|{v.subnet}")
        if to_entry < minimum:
            continue
        from_subnet = c(v, f"subnet_votes_{suffix}", v.subnet)
        entry_total = c(v, f"entry_votes_{suffix}", e)
        focus = to_entry / from_subnet if from_subnet else 0.0
        share = to_entry / entry_total if entry_total else 0.0
        voters = ids("entry_subnet_voters_hour", f"{e}|{v.subnet}")
        taken = takeover(v, voters, ids)
        if focus >= t.focus_share and share >= t.entry_share and taken >= t.takeover_share:
            put(Finding("concentration_subnet", f"subnet:{v.subnet}|entry:{e}|{suffix}",
                        f"{to_entry} votes from {v.subnet} to this entry in the {suffix} from "
                        f"{_hm(v.window(length))}: {focus:.0%} of that network's votes and {share:.0%} "
                        f"of the entry's, from {voters} identities, {taken:.0%} of all the network showed today "
                        f"(limits {t.focus_share:.0%}, {t.entry_share:.0%}, {t.takeover_share:.0%}, "
                        f"at least {minimum} votes)",
                        f"{_hm(v.window(length))} 起的{_WINDOW_ZH[suffix]}内，网段 {v.subnet} 向该作品投出 {to_entry} "
                        f"票，占该网段全部投票的 {focus:.0%}、该作品得票的 {share:.0%}，来自 {voters} 个身份，占该网段"
                        f"当天出现的全部身份的 {taken:.0%}（阈值 {t.focus_share:.0%}、{t.entry_share:.0%}、"
                        f"{t.takeover_share:.0%}，且不少于 {minimum} 票）",
                        {"votes": to_entry, "network_votes": from_subnet, "entry_votes": entry_total,
                         "focus": round(focus, 3), "entry_share": round(share, 3), "identities": voters,
                         "network_share_of_identities": round(taken, 3), "window": suffix},
                        _sel(v, length, entry_id=v.entry_id, subnet=v.subnet), entry_id=v.entry_id))


def _covoting(v: VoteSignal, entry: uuid.UUID, c: Any, ids: Any, t: Thresholds, put: Any) -> None:
    e = str(entry)
    voters = ids("entry_subnet_voters_day", f"{e}|{v.subnet}")
    if voters < t.covote_min_identities:
        return
    population = ids("subnet_voters_day", v.subnet)
    share = voters / population if population else 0.0
    to_entry = c(v, "entry_subnet_day", f"{e}|{v.subnet}")
    from_subnet = c(v, "subnet_votes_day", v.subnet)
    focus = to_entry / from_subnet if from_subnet else 0.0
    if share >= t.covote_share and focus >= t.covote_focus and to_entry >= t.covote_min_votes:
        put(Finding("covoting_subnet", f"subnet:{v.subnet}|entry:{e}",
                    f"{voters} of the {population} identities that voted from {v.subnet} on {v.cast_at:%Y-%m-%d} (UTC) "
                    f"({share:.0%}) voted for this entry, and it got {focus:.0%} of that network's votes "
                    f"({to_entry} of {from_subnet}); the people behind one network spread their votes, and even a "
                    f"campus voting for its own university does not all vote for it "
                    f"(limits {t.covote_share:.0%} of identities, {t.covote_focus:.0%} of votes, at least "
                    f"{t.covote_min_identities} identities and {t.covote_min_votes} votes)",
                    f"{v.cast_at:%Y-%m-%d}（UTC）从网段 {v.subnet} 投票的 {population} 个身份中有 {voters} 个"
                    f"（{share:.0%}）"
                    f"投给了该作品，该作品获得该网段 {focus:.0%} 的选票（{from_subnet} 票中的 {to_entry} 票）；"
                    f"同一网络背后的真实用户会分散投票，即使校园为本校投票，也不会人人都投给它"
                    f"（阈值：身份占比 {t.covote_share:.0%}、选票占比 {t.covote_focus:.0%}，且不少于 "
                    f"{t.covote_min_identities} 个身份、{t.covote_min_votes} 票）",
                    {"identities": voters, "network_identities": population, "share_of_identities": round(share, 3),
                     "votes": to_entry, "network_votes": from_subnet, "focus": round(focus, 3)},
                    _sel(v, DAY, entry_id=entry, subnet=v.subnet, voters_of_entry=True), entry_id=entry))


def _timer(v: VoteSignal, e: str, gap: tuple[float, int], ids: Any, t: Thresholds, put: Any) -> None:
    seconds, bucket = gap
    same = ids("timer_gap_day", f"{e}|{v.subnet}|{bucket}")
    repeating = ids("timer_gapped_day", f"{e}|{v.subnet}")
    share = same / repeating if repeating else 0.0
    if same >= t.timer_min_identities and share >= t.timer_share:
        put(Finding("timer_subnet", f"subnet:{v.subnet}|entry:{e}",
                    f"{same} identities from {v.subnet} voted for this entry again after the same interval, about "
                    f"{seconds:.0f} s (within {2 * t.timer_tolerance:.0%}), on {v.cast_at:%Y-%m-%d} (UTC): "
                    f"{share:.0%} of "
                    f"the {repeating} identities of that network that voted for it again; people do not share a "
                    f"clock (limits {t.timer_min_identities} identities, {t.timer_share:.0%})",
                    f"{v.cast_at:%Y-%m-%d}（UTC），网段 {v.subnet} 的 {same} 个身份相隔同样的时间"
                    f"（约 {seconds:.0f} 秒，"
                    f"误差 {2 * t.timer_tolerance:.0%} 以内）再次为该作品投票，占该网段再次为它投票的 {repeating} "
                    f"个身份的 {share:.0%}；真实用户不会共用一个时钟（阈值 {t.timer_min_identities} 个身份、"
                    f"{t.timer_share:.0%}）",
                    {"identities": same, "repeating_identities": repeating, "share": round(share, 3),
                     "gap_s": round(seconds, 1)},
                    _sel(v, DAY, entry_id=v.entry_id, subnet=v.subnet), entry_id=v.entry_id))


def _fresh(v: VoteSignal, e: str, c: Any, ids: Any, t: Thresholds, put: Any) -> None:
    if not v.fresh:
        return
    start = v.window(TEN_MINUTES)
    to_entry = ids("fresh_entry_subnet", f"{e}|{v.subnet}")
    # The focus is measured on votes: a campus student who also votes for her own university is not a bot.
    votes_to_entry = c(v, "fresh_entry_subnet_votes", f"{e}|{v.subnet}")
    votes_from_subnet = c(v, "fresh_subnet_votes", v.subnet)
    focus = votes_to_entry / votes_from_subnet if votes_from_subnet else 0.0
    if (v.subnet and to_entry >= t.fresh_min_votes and focus >= t.fresh_focus_share
            and takeover(v, to_entry, ids) >= t.takeover_share):
        put(Finding("fresh_identity_surge", f"subnet:{v.subnet}|entry:{e}",
                    f"{to_entry} identities verified less than {t.fresh_window_s // 60} minutes before voting, from "
                    f"{v.subnet}, voted for this entry in the 10 minutes from {_hm(start)}, with {focus:.0%} of "
                    f"that network's fresh votes; they are {takeover(v, to_entry, ids):.0%} of the identities it "
                    f"showed today "
                    f"(limits {t.fresh_min_votes} identities, {t.fresh_focus_share:.0%}, {t.takeover_share:.0%})",
                    f"{_hm(start)} 起的 10 分钟内，网段 {v.subnet} 有 {to_entry} 个投票前不到 "
                    f"{t.fresh_window_s // 60} 分钟才完成验证的身份为该作品投票，占该网段新验证身份投票的 "
                    f"{focus:.0%}；这些身份占该网段当天出现的全部身份的 {takeover(v, to_entry, ids):.0%}"
                    f"（阈值 {t.fresh_min_votes} 个身份、{t.fresh_focus_share:.0%}、{t.takeover_share:.0%}）",
                    {"fresh_identities": to_entry, "votes": votes_to_entry, "network_fresh_votes": votes_from_subnet,
                     "focus": round(focus, 3), "network_share_of_identities": round(takeover(v, to_entry, ids), 3)},
                    _sel(v, TEN_MINUTES, entry_id=v.entry_id, subnet=v.subnet, fresh_only=True), entry_id=v.entry_id))
    n = ids("fresh_entry", e)
    if n >= t.fresh_entry_alert:
        put(Finding("fresh_identity_entry_surge", f"entry:{e}",
                    f"{n} freshly verified identities voted for this entry in the 10 minutes from {_hm(start)}",
                    f"{_hm(start)} 起的 10 分钟内，有 {n} 个新验证的身份为该作品投票",
                    {"fresh_identities": n}, _sel(v, TEN_MINUTES, entry_id=v.entry_id), decisive=False,
                    entry_id=v.entry_id))


def burst_threshold(previous_hour_requests: int, t: Thresholds) -> float:
    """A 10-second window is a burst at `burst_ratio` times the entry's usual rate, and at least `burst_min`."""
    return max(t.burst_min, t.burst_ratio * previous_hour_requests / (HOUR / BURST))


def _lockstep(v: VoteSignal, e: str, c: Any, counts: dict[CounterKey, int], t: Thresholds, put: Any) -> None:
    in_burst = c(v, "entry_burst", e)
    previous = counts.get((v.campaign_id, "entry_requests_hour", e,
                           v.window(HOUR) - timedelta(seconds=HOUR)), 0)
    limit = burst_threshold(previous, t)
    if in_burst < limit:
        return
    start = v.window(BURST)
    for label, dimension, key, fields in (("network", "entry_subnet_burst", v.subnet, {"subnet": v.subnet}),
                                          ("device", "entry_device_burst", v.device_hash,
                                           {"device_hash": v.device_hash})):
        shared = c(v, dimension, f"{e}|{key}") if key else 0
        if shared >= t.lockstep_min_shared:
            put(Finding("lockstep_group", f"{label}:{key}|entry:{e}",
                        f"{shared} identities from one {label} voted for this entry within the 10 seconds from "
                        f"{_hm(start)}, while the entry got {in_burst} requests in those seconds "
                        f"(usual rate gives {limit:.0f} at most)",
                        f"{_hm(start)} 起的 10 秒内，来自同一{_BY_ZH[label]}的 {shared} 个身份为该作品投票，而该作品"
                        f"在这几秒内共收到 {in_burst} 次投票请求（按平时的速率至多 {limit:.0f} 次）",
                        {"shared": shared, "burst_requests": in_burst, "burst_limit": round(limit, 1), "by": label},
                        _sel(v, BURST, entry_id=v.entry_id, **fields), entry_id=v.entry_id))


def regular_gaps(times: list[datetime], t: Thresholds) -> tuple[float, float] | None:
    """(mean gap, coefficient of variation) when one identity's last votes are spaced like a timer, else None."""
    times = sorted(times)[-t.regular_min_votes * 2:]
    if len(times) < t.regular_min_votes:
        return None
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    mean = statistics.fmean(gaps)
    if mean < t.regular_min_gap_s or min(gaps) < t.regular_min_gap_s:
        return None
    cv = statistics.pstdev(gaps) / mean
    return (mean, cv) if cv <= t.regular_max_cv else None


def _regular(votes: Iterable[VoteSignal], history: dict[tuple[str, str], list[Earlier]], t: Thresholds,
             put: Any) -> None:
    latest: dict[tuple[str, str], VoteSignal] = {}
    for v in votes:
        latest[(v.campaign_id, v.voter_id)] = v
    for key, v in latest.items():
        times = [p[0] for p in history.get(key, [])]
        hit = regular_gaps(times, t)
        if hit is None:
            continue
        mean, cv = hit
        first = min(times)
        put(Finding("regular_gaps", f"voter:{v.voter_id}",
                    f"{len(times)} votes from one identity since {_hm(first)} spaced {mean:.0f} s apart with a "
                    f"variation of {cv:.1%} (a person varies far more; limit {t.regular_max_cv:.0%})",
                    f"同一身份自 {_hm(first)} 起投票 {len(times)} 次，间隔均约 {mean:.0f} 秒，波动仅 {cv:.1%}"
                    f"（真人的间隔波动要大得多；上限 {t.regular_max_cv:.0%}）",
                    {"votes": len(times), "mean_gap_s": round(mean, 1), "variation": round(cv, 4)},
                    Selector(v.campaign_id, window_start(first, MINUTE), v.cast_at + timedelta(seconds=1),
                             voter_id=v.voter_id)))


class Counting:
    """How a store counts a batch: its counters and distinct identities, through `bump` and `bump_distinct`."""

    async def count_votes(self, votes: list[VoteSignal], reads: set[CounterKey]) -> dict[CounterKey, int]:
        return await self.bump(counter_increments(votes), reads)  # type: ignore[attr-defined,no-any-return]

    async def count_identities(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast],
                               reads: set[CounterKey]) -> dict[CounterKey, int]:
        return await self.bump_distinct(distinct_members(votes, past), reads)  # type: ignore[attr-defined,no-any-return]


@dataclass
class MemoryWindows(Counting):
    """The detector state in memory, with the same meaning as the PostgreSQL tables (for the evaluation and tests)."""

    counters: dict[CounterKey, int] = field(default_factory=dict)
    members: dict[CounterKey, set[str]] = field(default_factory=dict)
    index: dict[tuple[str, str, str], list[VoteSignal]] = field(default_factory=dict)
    by_voter: dict[tuple[str, str], list[Earlier]] = field(default_factory=dict)

    async def prepare(self, votes: list[VoteSignal]) -> None:
        """Nothing to load: every window is here."""

    async def remember(self, votes: list[VoteSignal], past: dict[uuid.UUID, VoterPast]) -> None:
        for v in votes:
            self.by_voter.setdefault((v.campaign_id, v.voter_id), []).append((v.cast_at, v.entry_id, v.subnet))
            for name, value in (("voter", v.voter_id), ("device", v.device_hash), ("entry", str(v.entry_id)),
                                ("subnet", v.subnet), ("all", "")):
                if value is not None:
                    self.index.setdefault((v.campaign_id, name, value), []).append(v)

    async def bump(self, increments: dict[ShardedKey, int],
                   reads: set[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        for (k, _shard), n in increments.items():
            self.counters[k] = self.counters.get(k, 0) + n  # the sum over partitions, as the rules read it
        return {k: self.counters.get(k, 0) for k in {k for k, _ in increments} | reads}

    async def bump_distinct(self, members: set[Member], reads: set[CounterKey] = frozenset()) -> dict[CounterKey, int]:
        for k, m in members:
            self.members.setdefault(k, set()).add(m)
        return {k: len(self.members.get(k, ())) for k in {k for k, _ in members} | reads}

    async def history(self, voters: set[tuple[str, str]], since: datetime) -> dict[tuple[str, str], list[Earlier]]:
        return {k: sorted((p for p in self.by_voter.get(k, []) if p[0] >= since), key=lambda p: p[0]) for k in voters}

    async def select(self, selectors: list[Selector]) -> list[list[VoteSignal]]:
        out = []
        for s in selectors:
            if s.voters_of_entry:
                voters = {v.voter_id for v in self._candidates(s) if matches(s, v)}
                s = replace(s, entry_id=None, voters_of_entry=False)
                out.append([v for v in self._candidates(s) if matches(s, v) and v.voter_id in voters])
            else:
                out.append([v for v in self._candidates(s) if matches(s, v)])
        return out

    def _candidates(self, s: Selector) -> Iterable[VoteSignal]:
        # Votes arrive in time order: look back from the end of the shortest list only as far as the window goes.
        lists = [self.index.get((s.campaign_id, name, value), []) for name, value in (
            ("voter", s.voter_id), ("device", s.device_hash), ("entry", str(s.entry_id) if s.entry_id else None),
            ("subnet", s.subnet)) if value is not None] or [self.index.get((s.campaign_id, "all", ""), [])]
        for v in reversed(min(lists, key=len)):
            if v.cast_at < s.start - timedelta(hours=1):
                break
            yield v


def matches(s: Selector, v: VoteSignal) -> bool:
    return (v.campaign_id == s.campaign_id and s.start <= v.cast_at < s.end
            and (s.entry_id is None or v.entry_id == s.entry_id) and (s.subnet is None or v.subnet == s.subnet)
            and (s.device_hash is None or v.device_hash == s.device_hash)
            and (s.voter_id is None or v.voter_id == s.voter_id) and (not s.fresh_only or v.fresh))


async def detect(votes: list[VoteSignal], store: Any, t: Thresholds) -> list[tuple[Finding, list[VoteSignal]]]:
    """The whole pipeline for one batch, the same in the consumer and the evaluation (memory).

    A few round trips per batch whatever its size: load the windows of networks the instance does not hold yet,
    read each voter's recent votes (the gap to the identity's previous vote feeds the timer counters; the entries
    it voted for earlier today are judged again), store the votes, add to the shared counters, count distinct
    identities; one more fetches the votes of whatever tripped.
    """
    if not votes:
        return []
    await store.prepare(votes)
    since = min(v.cast_at for v in votes) - timedelta(seconds=DAY)
    history = with_batch(await store.history({(v.campaign_id, v.voter_id) for v in votes}, since), votes)
    past = voter_past(votes, history, t)
    await store.remember(votes, past)
    counter_reads, distinct_reads = past_reads(votes, past)
    counts = await store.count_votes(votes, counter_reads)
    distinct = await store.count_identities(votes, past, distinct_reads)
    findings = judge(votes, counts, distinct, history, t, past)
    decisive = [f for f in findings if f.decisive]
    covered = await store.select([f.selector for f in decisive]) if decisive else []
    return [(f, vs) for f, vs in zip(decisive, covered)] + [(f, []) for f in findings if not f.decisive]


def with_batch(history: dict[tuple[str, str], list[Earlier]],
               votes: list[VoteSignal]) -> dict[tuple[str, str], list[Earlier]]:
    """Each voter's stored votes followed by the batch's own, in time order (in `history`, which every store
    builds afresh for the batch)."""
    out = history
    for v in votes:
        out.setdefault((v.campaign_id, v.voter_id), []).append((v.cast_at, v.entry_id, v.subnet))
    for k in {(v.campaign_id, v.voter_id) for v in votes}:
        out[k].sort(key=lambda p: p[0])
    return out


NEVER = datetime.min.replace(tzinfo=timezone.utc)
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
            elif type(have) is tuple:
                if m not in have:
                    held[k] = have + (m,) if len(have) < _FEW else {*have, m}
            else:
                have.add(m)
        self.latest = max(self.latest, latest)
        if self.latest - self.pruned >= _PRUNE_EVERY:
            self.prune()

    def prune(self) -> None:
        """Windows that ended more than a minute before the network's latest vote are dropped; the network is
        then complete from the start of its latest vote's day (a later vote for an earlier day reloads it)."""
        self.pruned = self.latest
        edge = self.latest - _KEEP_ENDED
        self.counters = {k: n for k, n in self.counters.items()
                         if k[3] + timedelta(seconds=DIMENSIONS[k[1]][0]) >= edge}
        self.members = {k: m for k, m in self.members.items()
                        if k[3] + timedelta(seconds=DISTINCT_DIMENSIONS[k[1]]) >= edge}
        self.since = max(self.since, window_start(edge, DAY))


NetKey = tuple[str, str]  # (campaign, network); network "" holds the addresses without a known network


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
