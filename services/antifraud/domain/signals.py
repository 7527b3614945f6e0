"""What a vote tells the detectors, and the windows it counts in.

Each vote bumps counters (per identity, address, network, device, entry, in short and long windows) and
distinct-identity counts; the rules read them back. Missing or garbage network, device or user-agent
data bumps nothing and so can never trip anything on its own.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from massline.client_values import clean_client_value
from massline.localtime import local_time

from .hosting import hosted
from .registry import Thresholds

MINUTE = 60
BURST = 10
TEN_MINUTES = 600
HALF_TEN = timedelta(seconds=TEN_MINUTES // 2)
HOUR = 3600
DAY = 86400
# A day window is a China Standard Time day (UTC+8, no daylight saving): the campaigns' zone, in which a voter's
# ballot renews at midnight. A farm's night across midnight is two days' work, as it is two days' ballots; a
# UTC day would start at 08:00, in the middle of a campaign's morning.
DAY_OFFSET_S = 8 * 3600  # `massline.localtime.DEFAULT_ZONE`, in which the explanations give their times


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
    ua: str | None = None  # keyed hash of the user agent
    delay: str | None = None  # how long after verifying it voted (`delay_bin`), for identities verified lately
    page: bool = False  # the identity had loaded the campaign's page before voting
    num: str | None = None  # the kind of phone number it verified with (mobile, virtual, data), if known
    rot: bool = False  # the identity had voted from several devices that day by this vote (`rotate_devices`)
    clock: bool = False  # the identity had come back on a clock that day by this vote (`on_clock`)
    asked: datetime | None = None  # when the identity's code was sent: its sitting began (`sitting`)
    host: bool = False  # it came from a data centre's network (`hosting.hosted`)
    # A vote's window starts, built once each: every rule reads the same few (minute, hour, day) many times.
    _starts: dict[int, datetime] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def window(self, length_s: int) -> datetime:
        """The start of the window of `length_s` seconds this vote falls in."""
        start = self._starts.get(length_s)
        if start is None:
            start = self._starts[length_s] = window_start(self.cast_at, length_s)
        return start

    def halfway_ten(self) -> datetime | None:
        """The start of the ten minutes this vote falls in among those starting halfway through the aligned ones
        (an entry's cohort is judged in both, so that a surge of five minutes or less lies whole in one); None when
        they start the day before (the cohort is compared with the day's other voters)."""
        start = self._starts.get(-TEN_MINUTES)  # cached beside the aligned windows, under a key no length has
        if start is None:
            start = self._starts[-TEN_MINUTES] = halfway_start(self.cast_at)
        return start if start >= self.window(DAY) else None

    def tens(self) -> tuple[datetime, ...]:
        """The vote's aligned ten minutes and, within its day, those starting halfway."""
        half = self.halfway_ten()
        return (self.window(TEN_MINUTES),) if half is None else (self.window(TEN_MINUTES), half)

    @classmethod
    def of(cls, campaign_id: str, e: Any, thresholds: Thresholds, shard: int = 0,
           partition: int = 0) -> VoteSignal:
        """From a VoteCast event."""
        cast_at = utc(e.cast_at)
        verified = utc(e.identity_verified_at) if e.identity_verified_at else None
        since = (cast_at - verified).total_seconds() if verified is not None else None
        fresh = since is not None and 0 <= since <= thresholds.fresh_window_s
        viewed = getattr(e, "page_viewed_at", None)
        asked = getattr(e, "code_sent_at", None)
        asked = utc(asked) if asked is not None else None
        if asked is not None and (asked > cast_at or (verified is not None and asked > verified)):
            asked = None  # a sitting cannot begin after the identity verified, nor after it voted
        subnet = clean_subnet(e.subnet)
        return cls(e.vote_id, campaign_id, e.voter_id, e.entry_id, e.category_id, e.count, cast_at,
                   clean_key(e.ip_hash), subnet, clean_key(e.device_hash), verified, fresh, shard,
                   partition, clean_key(getattr(e, "user_agent_hash", None)),
                   delay_bin(since, thresholds.fresh_delay_max_s), viewed is not None and utc(viewed) <= cast_at,
                   number_kind(getattr(e, "number_kind", None)), asked=asked, host=hosted(subnet))

    def traits(self) -> tuple[tuple[str, str], ...]:
        """The behaviour the coordination rule compares with the campaign's other voters: (trait, value).
        Unknown values are "?" (counted, never evidence). "dev" is "rot" once the identity's fingerprint has
        changed from vote to vote that day, "clock" is "y" once it has come back on a clock that day (each counted
        when it becomes so, `acquired_increments`), "?" until then. "host" is there only for a vote from a data
        centre's network (counted, like the others, at the identity's first vote of a scope): the rest say nothing
        of it, and cost no counter."""
        traits = (("ua", self.ua or "?"), ("delay", self.delay or "?"), ("page", "y" if self.page else "n"),
                  ("num", self.num or "?"), ("dev", "rot" if self.rot else "?"), ("rush", self.rush),
                  ("clock", "y" if self.clock else "?"))
        return (*traits, ("host", "y")) if self.host else traits

    @property
    def rush(self) -> str:
        """"y" when the identity voted within seconds of verifying without loading the page (`RUSH_BINS`), "n" when
        it took longer or looked first, "?" when it has no delay (verified on an earlier day, or not known): like
        the delay, a rush is compared among identities verified lately. Each habit alone is a few honest people's
        in ten (a deep link, a quick thumb); both together are a script's."""
        if self.delay is None:
            return "?"
        return "y" if self.delay in RUSH_BINS and not self.page else "n"

    @property
    def unhurried(self) -> bool:
        """Known not to have voted in a rush: it took longer, looked at the page first (but not when it voted faster
        than a person can act on that page, `INSTANT_BIN`), or verified on an earlier day (which leaves its rush
        unknown, "?", for the comparison among newcomers)."""
        return (self.rush == "n" and self.delay != INSTANT_BIN) \
            or (self.delay is None and (self.page or self.verified_at is not None))


# Traits a vote may not carry (counted as "?", never evidence); `page` is always known (seen or not).
MAYBE_UNKNOWN = ("ua", "delay", "num", "rush")
NUMBER_KINDS = frozenset({"mobile", "virtual", "data"})


def number_kind(value: str | None) -> str | None:
    """A phone number's kind as the voting service names it, or None (unknown, or anything else)."""
    return value if value in NUMBER_KINDS else None


# From verifying to voting, in seconds: a person reads the code, types it and looks at the page; a script need not.
DELAY_BINS: tuple[tuple[float, str], ...] = ((2, "0-2s"), (5, "2-5s"), (15, "5-15s"), (30, "15-30s"), (60, "30-60s"),
                                             (120, "1-2min"), (300, "2-5min"), (900, "5-15min"), (3600, "15-60min"))
# Voting this soon after verifying, without the page: the "rush" trait (see `VoteSignal.rush`).
RUSH_BINS = frozenset({"0-2s", "2-5s", "5-15s"})
# Faster than a person can act on the page that just verified them (see the code's "verified", find the entry, tap):
# a script's, whether or not it loaded the page (one request with the ticket, which costs it nothing).
INSTANT_BIN = "0-2s"
INSTANT_UNSEEN = f"delay={INSTANT_BIN}&page=n"  # within 2 s and without the page, in an entry's ten minutes
DELAY_TEXT_ZH = {"0-2s": "0–2 秒", "2-5s": "2–5 秒", "5-15s": "5–15 秒", "15-30s": "15–30 秒", "30-60s": "30–60 秒",
                 "1-2min": "1–2 分钟", "2-5min": "2–5 分钟", "5-15min": "5–15 分钟", "15-60min": "15–60 分钟"}


def delay_bin(seconds: float | None, limit_s: float) -> str | None:
    """The bin of an identity's delay from verifying to voting; None when not known or verified long before."""
    if seconds is None or seconds < 0 or seconds > limit_s:
        return None
    for edge, name in DELAY_BINS:
        if seconds < edge:
            return name
    return None


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def clean_key(value: str | None) -> str | None:
    """A hash or fingerprint, or None when it is missing or a placeholder a client sends when it has none."""
    return clean_client_value(value)


def device_network(v: VoteSignal) -> str:
    """The vote's device on the vote's network: a phone is on one network at a time, while a fingerprint that many
    phones send alike (one model and system, fingerprinted with too little entropy) comes from many at once."""
    return f"{v.device_hash}|{v.subnet or '-'}"


def clean_subnet(value: str | None) -> str | None:
    """A /24 or /64 in canonical form; anything else (garbage, a single host, a whole /8) is unknown."""
    return None if value is None else _clean_subnet(value)


@functools.lru_cache(maxsize=65536)
def _clean_subnet(value: str) -> str | None:
    # Parsing a network is the dearest step of reading a vote, and a network votes many times.
    cleaned = clean_key(value)
    if cleaned is None:
        return None
    value = cleaned
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None
    if net.prefixlen != (24 if net.version == 4 else 64):
        return None
    return str(net)


def window_start(at: datetime, length_s: int) -> datetime:
    ts = int(at.timestamp())
    if length_s == DAY:
        return _window_at(ts - (ts + DAY_OFFSET_S) % DAY)
    return _window_at(ts - ts % length_s)


def upper_share(k: int, n: int, sigmas: float) -> float:
    """`k` of `n` read as a share at its upper bound: `sigmas` standard deviations of a count above it (rarely is a
    value commoner than chance lets its count show)."""
    return min((k + 1 + sigmas * math.sqrt(k + 1)) / (n + 1.0), 1.0)


def cautious_excess(here: int, everyone: int, before: int, everyone_before: int, sigmas: float) -> float:
    """An entry's identities in ten minutes beyond its share of everyone earlier that day, its count read `sigmas`
    standard deviations low and the share at its upper bound (`upper_share`)."""
    return here - sigmas * math.sqrt(here) - upper_share(before, everyone_before, sigmas) * everyone


def binomial_tail(k: int, n: int, p: float) -> float:
    """The chance of `k` or more successes in `n` draws of chance `p` (in logs: `n` may be thousands)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q, head = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    return min(sum(math.exp(head - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * log_p + (n - j) * log_q)
                   for j in range(k, n + 1)), 1.0)


def day_text(at: datetime, zh: bool = False) -> str:
    """The campaign day of an instant, with its clock said as the pages say it: "2026-12-01 (UTC+8)",
    "北京时间 2026-12-01"."""
    return local_time(at, lang="zh" if zh else "en", fmt="date")


def halfway_start(at: datetime) -> datetime:
    """The start of the ten minutes starting halfway through the aligned ones (:05, :15, …) that `at` falls in."""
    return window_start(at - HALF_TEN, TEN_MINUTES) + HALF_TEN


@functools.lru_cache(maxsize=16384)
def _window_at(start: int) -> datetime:
    # A vote touches up to sixteen windows and a batch shares most of them: build each datetime once.
    return datetime.fromtimestamp(start, tz=UTC)


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
    # Identities coming back to the entry in the 10 s: their first vote for it from the same network that day was
    # at least RETURN_S earlier (per network, and for the entry across networks).
    "entry_subnet_return_burst": (BURST, False),
    "entry_return_burst": (BURST, False),
    "entry_requests_hour": (HOUR, False),
    "entry_subnet_burst": (BURST, False),
    "entry_device_burst": (BURST, False),
    # Identities of networks' waves for the entry starting in the 10 s (each network's counted once, when its wave
    # is judged: `timing.judge_waves`), and how many networks.
    "entry_wave_burst": (BURST, False),
    "entry_wave_nets_burst": (BURST, False),
    "fresh_entry_subnet_votes": (TEN_MINUTES, True),
    "fresh_subnet_votes": (TEN_MINUTES, True),
    "entry_subnet_day": (DAY, True),
    "subnet_votes_day": (DAY, True),
    # Identities (each counted at its first vote of the scope) per trait value ("ua=…", "delay=…", "page=y",
    # "num=virtual"), and
    # all of them ("*"): over the campaign's day, an entry's day, an entry's ten minutes, an entry's network's day.
    "trait_day": (DAY, False),
    "entry_trait_day": (DAY, False),
    "entry_trait_ten": (TEN_MINUTES, False),
    "entry_subnet_trait_day": (DAY, False),
    "ids_ten": (TEN_MINUTES, False),  # the campaign's identities in ten minutes ("*")
    # An entry's coordination findings on habits alone that day, per the habits each named together ("dev=rot",
    # "rush=y", "delay=5-15min&page=n"); read for every combination of a vote's habits.
    "entry_found_day": (DAY, False),
    # A fingerprint seen through `device_class_networks` networks within one minute that day, or
    # `device_class_burst` within ten seconds: many phones send it alike (one model and system, fingerprinted with
    # too little entropy), so it is not one device (`devices.crowd`).
    "device_class_day": (DAY, False),
    # A device `device_shared` found that day (its identities backed the entry beyond chance): its later identities
    # are read without the chance test, which a popular target's growing share could otherwise loosen.
    "device_found_day": (DAY, False),
    # A fingerprint that reached `device_voters_per_day` identities that day (`device_tested_day`, per value), and
    # how many did in the campaign ("*"): each is a draw of the chance test; and those whose identities backed an
    # entry beyond chance as one draw (`device_beyond_day`, and how many in the campaign): `devices.beyond_chance`.
    "device_tested_day": (DAY, False),
    "devices_tested_day": (DAY, False),
    "device_beyond_day": (DAY, False),
    "devices_beyond_day": (DAY, False),
}
# entry_subnet_burst and entry_device_burst count identities too (each at its first vote for the entry in the 10 s).
# Counters every instance adds to (per entry, per network: a carrier NAT is in every batch) are kept in one row
# per vote-topic partition, so instances owning different partitions never wait on each other's row locks;
# a rule reads the sum over the partitions.
SHARDED = {d for d in DIMENSIONS
           if d.startswith(("entry_", "subnet_", "trait_", "ids_")) and d != "entry_device_burst"} \
    | {"device_class_day", "device_found_day", "device_tested_day", "devices_tested_day", "device_beyond_day",
       "devices_beyond_day"}  # (those marked once per batch that finds it, by whichever instance)

# Distinct identities per window: one busy voter must not look like many. The timer dimensions hold the
# identities of a network that voted for an entry again after a timed gap (any gap; in one gap bucket).
DISTINCT_DIMENSIONS: dict[str, int] = {"device_voters_day": DAY, "device_voters_ten": TEN_MINUTES,
                                       "device_entry_voters_day": DAY,  # … of them that voted for the entry
                                       "device_networks_day": DAY,  # the networks (not identities) it voted from
                                       "device_networks_minute": MINUTE,  # … within one minute
                                       "device_networks_burst": BURST,  # … within ten seconds
                                       "subnet_voters_day": DAY,
                                       "entry_subnet_voters_hour": HOUR, "fresh_entry_subnet": TEN_MINUTES,
                                       "fresh_subnet": TEN_MINUTES, "fresh_entry": TEN_MINUTES,
                                       "entry_subnet_voters_day": DAY, "timer_gapped_day": DAY,
                                       # the addresses (not identities) an entry's votes came from in a network
                                       "entry_subnet_ips_day": DAY,
                                       "timer_gap_day": DAY,
                                       # user agents (not identities) among an entry's voters, and the campaign's
                                       "entry_uas_ten": TEN_MINUTES, "uas_ten": TEN_MINUTES,
                                       "entry_rush_uas_ten": TEN_MINUTES,  # … those of its voters in a rush
                                       "entry_subnets_ten": TEN_MINUTES,
                                       # the networks an entry's identities in a rush with one string came from
                                       # (`scripted_key`): a drip's each its own, an office's PCs one
                                       "entry_script_subnets_day": DAY,
                                       # identities a finding held or invalidated, per trait value (as counted in
                                       # trait_day), for the campaign and per entry they voted for
                                       "held_trait_day": DAY, "held_entry_trait_day": DAY,
                                       # a browser's sittings (not identities): who, from asking to voting, for what
                                       "browser_sittings_hour": HOUR,
                                       # … and an address's, whatever the browser (`turns.address_runs`)
                                       "address_sittings_hour": HOUR}
# Windows a reader reads beside the vote's own, before it: a browser's run of turns is judged on the vote's hour and
# the one before (`turns.keys`), so a network keeps that hour's sittings for as long as its next is being read.
READ_BEFORE: dict[str, int] = {"browser_sittings_hour": 1, "address_sittings_hour": 1}


# The windows of one network (its address's key starts with the network): the vote topic is keyed by network, so
# every vote of a network reaches the one instance that owns its partition, which keeps them in memory
# (`NetworkState`). The others (per entry, per device) are shared by every instance, in PostgreSQL.
NETWORK_DIMENSIONS = {"ip_minute", "subnet_minute", "subnet_votes_minute", "subnet_votes_hour", "subnet_votes_day",
                      "entry_subnet_minute", "entry_subnet_hour", "entry_subnet_day", "entry_subnet_burst",
                      "entry_subnet_return_burst",
                      "fresh_entry_subnet_votes", "fresh_subnet_votes",
                      "subnet_voters_day", "entry_subnet_voters_hour", "entry_subnet_voters_day",
                      "entry_subnet_ips_day",
                      "fresh_entry_subnet", "fresh_subnet", "timer_gapped_day", "timer_gap_day",
                      "entry_subnet_trait_day", "browser_sittings_hour", "address_sittings_hour"}


def network_of(dimension: str, key: str) -> str:
    """The network a network dimension's key belongs to ("" for an address without a known network)."""
    if dimension.startswith(("subnet_", "fresh_subnet")) or dimension == "ip_minute":
        return key.split("|", 1)[0]
    return key.split("|", 2)[1]  # entry|network[|gap bucket]


# A vote cast longer than this after its identity's code was sent is no part of a sitting (`turns`): the identity
# verified on another day, or came back later.
SITTING_MAX_S = 600


def sitting_key(v: VoteSignal, hours_before: int = 0, browser: bool = True) -> CounterKey | None:
    """The vote's browser in its hour (its user agent, network and address) whose sittings it adds to (`turns`),
    or in the hour `hours_before` that, if all three are known and the identity was verified by a code within
    `SITTING_MAX_S` before the vote; without `browser`, its address's (whatever the user agent)."""
    if not (v.subnet and v.ip_hash and v.asked and (v.ua or not browser)) \
            or (v.cast_at - v.asked).total_seconds() > SITTING_MAX_S:
        return None
    hour = v.window(HOUR) - timedelta(seconds=HOUR * hours_before)
    if browser:
        return v.campaign_id, "browser_sittings_hour", f"{v.ua}|{v.subnet}|{v.ip_hash}", hour
    return v.campaign_id, "address_sittings_hour", f"*|{v.subnet}|{v.ip_hash}", hour


def sitting_member(v: VoteSignal) -> str:
    """What a vote adds to its browser's sittings: its identity, when its code was sent, when it voted, for what,
    from which device (the page's fingerprint, if it sent one)."""
    assert v.asked is not None
    return f"{v.voter_id}|{int(v.asked.timestamp())}|{int(v.cast_at.timestamp())}|{entry_key(v.entry_id)}|" \
           f"{v.device_hash or ''}"


def ip_key(v: VoteSignal) -> str | None:
    """An address's counter key: its network first, so that the address is counted where its network is."""
    return f"{v.subnet or ''}|{v.ip_hash}" if v.ip_hash else None


def _key(v: VoteSignal, dimension: str, key: str) -> CounterKey:
    return (v.campaign_id, dimension, key, v.window(DIMENSIONS[dimension][0]))


ShardedKey = tuple[CounterKey, int]


# One earlier vote of an identity as the detectors read it back: (cast at, entry, network, device).
Earlier = tuple[datetime, uuid.UUID, str | None, str | None]


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


NetKey = tuple[str, str]  # (campaign, network); network "" holds the addresses without a known network

# The scopes in which a vote may be its identity's first: what counts identities (not requests) cheaply.
FIRST_SCOPES = ("day", "ten", "ten_half", "entry_day", "entry_ten", "entry_ten_half", "entry_subnet_day",
                "entry_burst")
_ALL_FIRST = frozenset(FIRST_SCOPES)
# A vote that is its identity's first for the entry in its 10 s, while the identity's first vote for the entry
# from the same network that day was at least this long before, comes back to the entry ("entry_return").
RETURN_S = 120


def firsts(votes: Iterable[VoteSignal],
           history: dict[tuple[str, str], list[Earlier]]) -> dict[uuid.UUID, frozenset[str]]:
    """Per vote, the scopes in which it is its identity's first vote, from the identity's votes of the last day
    (`history`, the batch's own included, in time order), and "entry_return" when it comes back to the entry."""
    out: dict[uuid.UUID, frozenset[str]] = {}
    for v in votes:
        day, ten, burst = v.window(DAY), v.window(TEN_MINUTES), v.window(BURST)
        half = v.halfway_ten() or day  # (none the day before: not counted then)
        seen: set[str] = set()
        since: datetime | None = None  # the identity's first vote for the entry from this network today
        for at, entry, subnet, _ in history.get((v.campaign_id, v.voter_id), ()):
            if at >= v.cast_at:
                break
            if at < day:
                continue
            seen.add("day")
            if at >= ten:
                seen.add("ten")
            if at >= half:
                seen.add("ten_half")
            if entry == v.entry_id:
                seen.add("entry_day")
                if at >= ten:
                    seen.add("entry_ten")
                if at >= half:
                    seen.add("entry_ten_half")
                if at >= burst:
                    seen.add("entry_burst")
                if subnet == v.subnet:
                    seen.add("entry_subnet_day")
                    if since is None:
                        since = at
        scopes = _ALL_FIRST - seen if seen else _ALL_FIRST
        if since is not None and "entry_burst" in scopes and (v.cast_at - since).total_seconds() >= RETURN_S:
            scopes = scopes | _RETURN
        out[v.vote_id] = scopes
    return out


_RETURN = frozenset({"entry_return"})


# Traits an identity acquires partway through its day, and keeps: changing fingerprints, coming back on a clock.
ACQUIRED = (("dev", "rot"), ("clock", "y"))
ACQUIRED_NAMES = frozenset(name for name, _ in ACQUIRED)


def acquired_increments(votes: Iterable[VoteSignal], history: dict[tuple[str, str], list[Earlier]],
                        first: dict[uuid.UUID, frozenset[str]], t: Thresholds) -> dict[ShardedKey, int]:
    """The counts of identities with a trait acquired partway through the day (`ACQUIRED`: "dev=rot" for changing
    fingerprints, `VoteSignal.rot`; "clock=y" for coming back on a clock, `VoteSignal.clock`). At the vote that
    makes it so, the identity counts with it in the campaign's day and in the day and ten minutes of every entry it
    voted for that day, that vote's included; at its later votes, in the scopes where they are its first (a new
    entry, a new ten minutes)."""
    out: dict[ShardedKey, int] = {}
    for v in votes:
        if not (v.rot or v.clock):
            continue
        c, day = v.campaign_id, v.window(DAY)
        earlier = [p for p in history.get((c, v.voter_id), ()) if day <= p[0] < v.cast_at]
        keys: set[CounterKey] = set()
        for name, value in ACQUIRED:
            if not (v.rot if name == "dev" else v.clock):
                continue
            trait = f"{name}={value}"
            became = (len({p[3] for p in earlier if p[3]}) < t.rotate_devices if name == "dev"
                      else not on_clock([p[0] for p in earlier], t))
            if became:  # this vote makes it so
                keys.add((c, "trait_day", trait, day))
                for at, entry, _, _ in [*earlier, (v.cast_at, v.entry_id, v.subnet, v.device_hash)]:
                    e = entry_key(entry)
                    keys.add((c, "entry_trait_day", f"{e}|{trait}", day))
                    keys.add((c, "entry_trait_ten", f"{e}|{trait}", window_start(at, TEN_MINUTES)))
                    halfway = halfway_start(at)
                    if halfway >= day:
                        keys.add((c, "entry_trait_ten", f"{e}|{trait}", halfway))
            else:
                scopes = first.get(v.vote_id, _ALL_FIRST)
                e = entry_key(v.entry_id)
                if "entry_day" in scopes:
                    keys.add((c, "entry_trait_day", f"{e}|{trait}", day))
                if "entry_ten" in scopes:
                    keys.add((c, "entry_trait_ten", f"{e}|{trait}", v.window(TEN_MINUTES)))
                if "entry_ten_half" in scopes and (half := v.halfway_ten()):
                    keys.add((c, "entry_trait_ten", f"{e}|{trait}", half))
        for k in keys:
            out[(k, v.shard)] = out.get((k, v.shard), 0) + 1
    return out


def on_clock(times: list[datetime], t: Thresholds) -> bool:
    """One identity's votes of a day (in time order) came back on a clock: `clock_visits` visits in a row (a visit
    is a run of requests less than `clock_min_gap_s` apart) whose gaps vary by no more than `clock_max_cv`, at most
    `timer_max_gap_s` apart on average. People come back when something reminds them, at random, or on their own
    routine's half hours and hours (an alarm, a class's breaks); a slow drip's timer keeps its interval of minutes."""
    if len(times) < t.clock_visits:
        return False
    visits = [at for at, before in zip(times, [None, *times[:-1]], strict=True)
              if before is None or (at - before).total_seconds() >= t.clock_min_gap_s]
    k = t.clock_visits
    for i in range(k - 1, len(visits)):
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(visits[i - k + 1:i + 1])]
        mean = sum(gaps) / len(gaps)
        if 0 < mean <= t.timer_max_gap_s \
                and math.sqrt(sum((g - mean) ** 2 for g in gaps) / len(gaps)) <= t.clock_max_cv * mean:
            return True
    return False


def replay_firsts(votes: Iterable[VoteSignal]) -> dict[uuid.UUID, frozenset[str]]:
    """`firsts` of a run of votes in time order, from the run alone (a network's stored votes rebuild its
    windows: every earlier vote of an identity for an entry from that network is among them)."""
    history: dict[tuple[str, str], list[Earlier]] = {}
    votes = list(votes)
    for v in votes:
        history.setdefault((v.campaign_id, v.voter_id), []).append((v.cast_at, v.entry_id, v.subnet, v.device_hash))
    return firsts(votes, history)


def trait_keys(prefix: str, v: VoteSignal) -> list[str]:
    """The keys a vote's identity counts under in a trait dimension at its first vote there: each trait's value,
    and "*" (all). Traits acquired partway through the day are counted apart, when the identity acquires them
    (`acquired_increments`); its user agent in a rush only in its entry's day and ten minutes (`scripted_key`)."""
    return [f"{prefix}*", *(f"{prefix}{name}={value}" for name, value in v.traits() if name not in ACQUIRED_NAMES)]


def scripted_key(v: VoteSignal) -> str | None:
    """The browser string and the rush together ("ua=…&rush=y"), for an identity that voted in a rush: a script's
    signature over an entry's day (`coordination.script_day`), counted there and in the entry's ten minutes only;
    None otherwise."""
    return rushed_with(v.ua) if v.ua and v.rush == "y" else None


def tapped_key(v: VoteSignal) -> str | None:
    """"delay=0-2s&page=n" for a vote within 2 s of verifying without the page, counted in its entry's ten minutes
    only: the instant voters an identity that loaded the page is not read among (`coordination._rushed_apart`)."""
    return INSTANT_UNSEEN if v.delay == INSTANT_BIN and not v.page else None


def rushed_with(ua: str) -> str:
    """The key of a browser string sent in a rush (`scripted_key`)."""
    return f"ua={ua}&rush=y"


def counter_increments(votes: Iterable[VoteSignal], networks: dict[NetKey, dict[CounterKey, int]] | None = None,
                       first: dict[uuid.UUID, frozenset[str]] | None = None) -> dict[ShardedKey, int]:
    """Every counter the batch adds to, summed per counter and partition row (one upsert row each).

    With `networks`, the network windows' increments are added there instead, per network (they are never rows).
    The entry's previous hour is added with 0 so that its value comes back as the burst baseline.
    `first` says in which scopes each vote is its identity's first (`firsts`); without it, from the votes alone.
    (Written out key by key: this runs for every vote, twenty to forty counters each.)
    """
    votes = list(votes)
    if first is None:
        first = replay_firsts(votes)
    out: dict[ShardedKey, int] = {}
    get = out.get
    for v in votes:
        scopes = first.get(v.vote_id, _ALL_FIRST)
        keys = _campaign_increments(v, scopes)
        network = _network_increments(v, scopes)
        if networks is None:
            keys += network
        elif network:
            c, subnet = v.campaign_id, v.subnet
            mine = networks.get((c, subnet or ""))
            if mine is None:
                mine = networks[(c, subnet or "")] = {}
            for (k, _), m in network:
                mine[k] = mine.get(k, 0) + m
        for row, added in keys:
            out[row] = get(row, 0) + added
    return out


def with_extra(increments: dict[ShardedKey, int], extra: dict[ShardedKey, int] | None) -> dict[ShardedKey, int]:
    """`increments` with `extra` added (in place)."""
    for k, n in (extra or {}).items():
        increments[k] = increments.get(k, 0) + n
    return increments


def _campaign_increments(v: VoteSignal, scopes: frozenset[str]) -> list[tuple[ShardedKey, int]]:
    """The counters of the entry, the campaign's traits and the device a vote adds to."""
    c, n, shard = v.campaign_id, v.count, v.shard
    e = entry_key(v.entry_id)
    minute, hour, burst = v.window(MINUTE), v.window(HOUR), v.window(BURST)
    keys: list[tuple[ShardedKey, int]] = [
        (((c, "entry_burst", e, burst), shard), 1), (((c, "entry_requests_hour", e, hour), shard), 1),
        (((c, "entry_votes_minute", e, minute), shard), n), (((c, "entry_votes_hour", e, hour), shard), n),
        (((c, "entry_requests_hour", e, hour - _HOUR), shard), 0)]
    if "day" in scopes:
        day = v.window(DAY)
        keys += [(((c, "trait_day", k, day), shard), 1) for k in trait_keys("", v)]
    if "ten" in scopes:
        keys.append((((c, "ids_ten", "*", v.window(TEN_MINUTES)), shard), 1))
    half = v.halfway_ten()
    if half and "ten_half" in scopes:
        keys.append((((c, "ids_ten", "*", half), shard), 1))
    joint = scripted_key(v)
    tapped = tapped_key(v)
    if "entry_day" in scopes:
        day = v.window(DAY)
        keys += [(((c, "entry_trait_day", k, day), shard), 1) for k in trait_keys(f"{e}|", v)]
        if joint is not None:
            keys.append((((c, "entry_trait_day", f"{e}|{joint}", day), shard), 1))
    if "entry_ten" in scopes:
        ten = v.window(TEN_MINUTES)
        keys += [(((c, "entry_trait_ten", k, ten), shard), 1) for k in trait_keys(f"{e}|", v)]
        if joint is not None:
            keys.append((((c, "entry_trait_ten", f"{e}|{joint}", ten), shard), 1))
        if tapped is not None:
            keys.append((((c, "entry_trait_ten", f"{e}|{tapped}", ten), shard), 1))
    if half and "entry_ten_half" in scopes:
        keys += [(((c, "entry_trait_ten", k, half), shard), 1) for k in trait_keys(f"{e}|", v)]
        if joint is not None:
            keys.append((((c, "entry_trait_ten", f"{e}|{joint}", half), shard), 1))
        if tapped is not None:
            keys.append((((c, "entry_trait_ten", f"{e}|{tapped}", half), shard), 1))
    if "entry_return" in scopes:
        keys.append((((c, "entry_return_burst", e, burst), shard), 1))
    if v.device_hash and "entry_burst" in scopes:
        keys.append((((c, "entry_device_burst", f"{e}|{v.device_hash}", burst), 0), 1))
    if v.device_hash:
        keys.append((((c, "device_minute", device_network(v), minute), 0), 1))
    return keys


def _network_increments(v: VoteSignal, scopes: frozenset[str]) -> list[tuple[ShardedKey, int]]:
    """The counters of the vote's address and network (kept in memory by the instance that holds the network)."""
    c, n, subnet, shard = v.campaign_id, v.count, v.subnet, v.shard
    minute, hour = v.window(MINUTE), v.window(HOUR)
    network: list[tuple[ShardedKey, int]] = []
    ip = ip_key(v)
    if ip:
        network.append((((c, "ip_minute", ip, minute), 0), 1))
    if not subnet:
        return network
    es, day = pair(entry_key(v.entry_id), subnet), v.window(DAY)
    network += [(((c, "subnet_minute", subnet, minute), shard), 1),
                (((c, "entry_subnet_minute", es, minute), shard), n),
                (((c, "subnet_votes_minute", subnet, minute), shard), n),
                (((c, "entry_subnet_hour", es, hour), shard), n),
                (((c, "subnet_votes_hour", subnet, hour), shard), n),
                (((c, "entry_subnet_day", es, day), shard), n),
                (((c, "subnet_votes_day", subnet, day), shard), n)]
    if "entry_burst" in scopes:
        network.append((((c, "entry_subnet_burst", es, v.window(BURST)), shard), 1))
    if "entry_return" in scopes:
        network.append((((c, "entry_subnet_return_burst", es, v.window(BURST)), shard), 1))
    if "entry_subnet_day" in scopes:
        network += [(((c, "entry_subnet_trait_day", k, day), shard), 1) for k in trait_keys(f"{es}|", v)]
    if v.fresh:
        ten = v.window(TEN_MINUTES)
        network += [(((c, "fresh_entry_subnet_votes", es, ten), 0), n),
                    (((c, "fresh_subnet_votes", subnet, ten), 0), n)]
    return network


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
    """Distinct counters: identities seen on one device in a day and in ten minutes (and per entry they voted for
    from it that day, and the networks it voted from); fresh identities per entry and
    network; the identities per network voting for an entry (any gap, and per gap bucket for the timer rule); the
    user agents an entry's voters, and the campaign's, sent in ten minutes, and the networks they came from.

    With `networks`, the network windows' members are added there instead, per network."""
    out: set[Member] = set()
    past = past or {}
    for v in votes:
        c, e, subnet, voter = v.campaign_id, entry_key(v.entry_id), v.subnet, v.voter_id
        if v.device_hash:
            out.add(((c, "device_voters_day", v.device_hash, v.window(DAY)), voter))
            for ten in v.tens():  # aligned and halfway: any run of identities within five minutes lies in one
                out.add(((c, "device_voters_ten", v.device_hash, ten), voter))
            out.add(((c, "device_entry_voters_day", f"{v.device_hash}|{e}", v.window(DAY)), voter))
            if subnet:
                out.add(((c, "device_networks_day", v.device_hash, v.window(DAY)), subnet))
                out.add(((c, "device_networks_minute", v.device_hash, v.window(MINUTE)), subnet))
                out.add(((c, "device_networks_burst", v.device_hash, v.window(BURST)), subnet))
        if v.fresh:
            out.add(((c, "fresh_entry", e, v.window(TEN_MINUTES)), voter))
        tens = v.tens()
        if v.ua:
            for ten in tens:
                out.add(((c, "entry_uas_ten", e, ten), v.ua))
                out.add(((c, "uas_ten", "*", ten), v.ua))
                if v.rush == "y":
                    out.add(((c, "entry_rush_uas_ten", e, ten), v.ua))
        if not subnet:
            continue
        for ten in tens:
            out.add(((c, "entry_subnets_ten", e, ten), subnet))
        if (joint := scripted_key(v)) is not None:
            out.add(((c, "entry_script_subnets_day", f"{e}|{joint}", v.window(DAY)), subnet))
        es, day, hour = pair(e, subnet), v.window(DAY), v.window(HOUR)
        mine = [((c, "subnet_voters_day", subnet, day), voter), ((c, "entry_subnet_voters_hour", es, hour), voter),
                ((c, "entry_subnet_voters_day", es, day), voter)]
        if v.ip_hash:
            mine.append(((c, "entry_subnet_ips_day", es, day), v.ip_hash))
        for browser in (True, False):
            if (sat := sitting_key(v, browser=browser)) is not None:
                mine.append((sat, sitting_member(v)))
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
