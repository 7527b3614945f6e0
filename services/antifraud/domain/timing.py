"""Timing: identities acting in the same seconds, on the same timer, or one identity voting like a clock; networks
firing together."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from .context import Context, Evidence
from .findings import BY_ZH, Finding, Selector, hm, hm_zh, sel
from .registry import Thresholds
from .signals import BURST, DAY, HOUR, MINUTE, CounterKey, Earlier, VoteSignal, day_text, entry_key, pair, window_start


def check(v: VoteSignal, ctx: Context) -> None:
    e = str(v.entry_id)
    mine = ctx.past.get(v.vote_id)
    if v.subnet and mine and mine.gap:
        _timer(v, e, mine.gap, lambda dimension, key: ctx.ids(dimension, key, v), ctx.t, ctx.put)
    _lockstep(v, e, ctx, ctx.t)
    if v.subnet:
        _synchronised(v, e, ctx, ctx.t)
        _wave_seen(v, e, ctx, ctx.t)


_TEN_S = timedelta(seconds=BURST)


def reads(v: VoteSignal) -> set[CounterKey]:
    """The counters of the 10 s before the vote's, which the synchronised-networks rule reads with its own, and the
    network's identities for the entry in the 30 s up to the vote (`_wave_seen`)."""
    previous = v.window(BURST) - _TEN_S
    out: set[CounterKey] = {(v.campaign_id, "entry_return_burst", entry_key(v.entry_id), previous)}
    if v.subnet:
        es = pair(entry_key(v.entry_id), v.subnet)
        out |= {(v.campaign_id, "entry_subnet_return_burst", es, previous),
                (v.campaign_id, "entry_subnet_burst", es, v.window(BURST)),
                (v.campaign_id, "entry_subnet_burst", es, previous),
                (v.campaign_id, "entry_subnet_burst", es, previous - _TEN_S)}
    return out


# A network's wave (`network_wave`): the 10 s windows of its 30 s, of the 40 s read either side, and how far from
# where it was first seen its start is looked for. A wave is judged once the last of those has passed; one with
# next to nobody around it is judged sooner, on the 20 s after it (`wave_share_soon`), searched one window later
# at most. Both looks read the same counters.
_WAVE = 3
_AROUND = 4
_SEARCH = 2
_AFTER_SOON = 2
_SEARCH_SOON = 1
# campaign, entry, network, the start of the 30 s it was seen in, and whether it is kept as a network's share of a
# wave across networks (`wave_min_network`; judged for that alone) or as a network's wave (`wave_min_identities`)
WaveKey = tuple[str, str, str, datetime, bool]
WAVES_MAX = 10_000


Counted = tuple[datetime, int, int]


class KeptWave(NamedTuple):
    """A vote that saw a wave, whether the sooner look has judged it already, and the wave it counted then towards
    the entry's waves across networks (its 30 s start, identities and identities around), if any."""

    vote: VoteSignal
    looked: bool = False
    counted: Counted | None = None


class DueWave(NamedTuple):
    """A kept wave judged by this batch: on the 40 s either side (`final`), or the sooner look; `small`: as a
    network's share of a wave across networks."""

    vote: VoteSignal
    final: bool
    counted: Counted | None = None
    small: bool = False


def wave_key(v: VoteSignal, small: bool = False) -> WaveKey:
    return v.campaign_id, str(v.entry_id), v.subnet or "", _wave_start(v), small


def keep_wave(kept: dict[WaveKey, KeptWave], v: VoteSignal, small: bool = False) -> None:
    """Keeps a vote that saw a wave, unless one kept already (of the same kind) will look where this one would (the
    next wave of a network, seen while the last is still waiting, is kept beside it)."""
    c, e, s, start, _ = wave_key(v, small)
    if len(kept) >= WAVES_MAX or any((c, e, s, start + k * _TEN_S, small) in kept
                                     for k in range(-_SEARCH, _SEARCH + 1)):
        return
    kept[(c, e, s, start, small)] = KeptWave(v)


def _wave_start(v: VoteSignal) -> datetime:
    return v.window(BURST) - (_WAVE - 1) * _TEN_S


def _wave_bins(v: VoteSignal) -> list[datetime]:
    start = _wave_start(v)
    return [start + k * _TEN_S for k in range(-_SEARCH - _AROUND, _SEARCH + _WAVE + _AROUND)]


def _wave_seen(v: VoteSignal, e: str, ctx: Context, t: Thresholds) -> None:
    """The 30 s up to this vote's hold `wave_min_identities` of the network's identities for the entry: kept to
    judge as a wave once the 20 s and the 40 s after it have passed (`waves`); `wave_min_network`: kept to judge as
    a network's share of a wave across networks (apart, its own start where it reached that many)."""
    es = pair(e, v.subnet or "")
    n = sum(ctx.counts.get((v.campaign_id, "entry_subnet_burst", es, at), 0)
            for at in (v.window(BURST) - k * _TEN_S for k in range(_WAVE)))
    if n >= t.wave_min_identities:
        ctx.waves.append((v, False))
    if n >= max(t.wave_min_network, 1):
        ctx.waves.append((v, True))


def wave_reads(v: VoteSignal, small: bool = False) -> set[CounterKey]:
    """The 10 s counters a kept wave is judged on: its network's, and for a network's share of a wave across
    networks (`small`) the entry's waves across networks (shared windows, read only for those)."""
    e = entry_key(v.entry_id)
    es = pair(e, v.subnet or "")
    kinds = (("entry_subnet_burst", es),) + ((("entry_wave_burst", e), ("entry_wave_nets_burst", e)) if small else ())
    return {(v.campaign_id, dimension, key, at) for at in _wave_bins(v) for dimension, key in kinds}


_LATE = timedelta(seconds=5)  # … and a few seconds more, for votes that arrive a little out of order
_FINAL_END = (_SEARCH + _WAVE + _AROUND) * _TEN_S + _LATE
_SOON_END = (_SEARCH_SOON + _WAVE + _AFTER_SOON) * _TEN_S + _LATE


def waves_due(store: Any, votes: list[VoteSignal]) -> list[DueWave]:
    """The waves kept in `store.waves` whose last 10 s read has passed by this batch's latest vote, or, not looked
    at yet, the last of the sooner look's, on networks the store holds. Those on a network it no longer holds (it
    went to another instance, or made room for others) are forgotten: their counters are not here."""
    kept: dict[WaveKey, KeptWave] = store.waves
    latest = max(v.cast_at for v in votes)
    out = []
    for key, (w, looked, counted) in list(kept.items()):
        start = _wave_start(w)
        final = start + _FINAL_END <= latest
        if not final and (looked or start + _SOON_END > latest):
            continue
        if store.holds(w):
            out.append(DueWave(w, final, counted, key[4]))
        else:
            del kept[key]
    return out


def judge_waves(due: Iterable[DueWave], ctx: Context,
                kept: Mapping[WaveKey, KeptWave] | None = None) -> dict[WaveKey, Counted]:
    """A kept wave's network identities for the entry, in its sharpest 30 s near where it was seen, against those of
    the 40 s either side as well (`network_wave`); at the sooner look, against the 40 s before and the 20 s after,
    of which they must be nearly all (`wave_share_soon`). At the sooner look a network's wave of
    `wave_min_network` or more so judged (kept apart, `small`) counts towards the entry's waves across networks
    (`ctx.marks`): networks starting within 10 s of one another are one wave when together they reach
    `wave_min_together`, read at either look; the other networks of such a wave `kept` still (by this instance) are
    found with it. Returns the waves so counted, for the final look."""
    t = ctx.t
    counted: dict[WaveKey, Counted] = {}
    together: list[tuple[VoteSignal, Counted, bool]] = []
    for w, final, was, small in due:
        e = entry_key(w.entry_id)
        es, bins = pair(e, w.subnet or ""), _wave_bins(w)
        n = [ctx.counts.get((w.campaign_id, "entry_subnet_burst", es, at), 0) for at in bins]
        if not small:
            best = _sharpest(n, final, t.wave_min_identities, t)
            if best is not None:
                _wave_found(w, e, bins[best[2]], best[0], best[1], final, t, ctx)
            continue
        if final:
            if was is not None:
                together.append((w, was, final))
            continue
        share = _sharpest(n, False, max(t.wave_min_network, 1), t)
        if share is not None:
            start, wave = bins[share[2]], share[0]
            for dimension, added in (("entry_wave_burst", wave), ("entry_wave_nets_burst", 1)):
                key = (w.campaign_id, dimension, e, start)
                ctx.marks[key] = ctx.marks.get(key, 0) + added
            counted[wave_key(w, True)] = (start, wave, share[1])
            together.append((w, counted[wave_key(w, True)], final))
    for w, (start, wave, around), final in together:
        e = entry_key(w.entry_id)
        total, nets = (sum(ctx.counts.get(k, 0) + ctx.marks.get(k, 0)
                           for k in ((w.campaign_id, dimension, e, start + k * _TEN_S) for k in (-1, 0, 1)))
                       for dimension in ("entry_wave_burst", "entry_wave_nets_burst"))
        if nets < 2 or total < t.wave_min_together:
            continue
        _wave_found(w, e, start, wave, around, final, t, ctx, (total, nets))
        for kept_key, (other, looked, was) in (kept or {}).items():
            if kept_key[4] and was is not None and looked and other.subnet != w.subnet \
                    and kept_key[:2] == wave_key(w)[:2] and abs(was[0] - start) <= _TEN_S:
                _wave_found(other, e, was[0], was[1], was[2], False, t, ctx, (total, nets))
    return counted


def _sharpest(n: list[int], final: bool, least: int, t: Thresholds) -> tuple[int, int, int] | None:
    """The network's busiest 30 s near where the wave was seen, of at least `least` identities and the look's share
    of those around it: (identities, identities around, its first 10 s among the bins read)."""
    after, share = (_AROUND, t.wave_share) if final else (_AFTER_SOON, t.wave_share_soon)
    last = _SEARCH if final else _SEARCH_SOON
    best = None
    for i in range(_AROUND, _AROUND + _SEARCH + last + 1):
        wave, around = sum(n[i:i + _WAVE]), sum(n[i - _AROUND:i + _WAVE + after])
        if wave >= least and wave >= share * around and (best is None or wave > best[0]):
            best = (wave, around, i)
    return best


def _wave_found(w: VoteSignal, e: str, start: datetime, wave: int, around: int, final: bool, t: Thresholds,
                ctx: Context, together: tuple[int, int] | None = None) -> None:
    """The finding of a wave judged on the 40 s either side (`final`) or at the sooner look; `together`: the
    identities and networks of the wave across networks it is part of."""
    before, after = start - _AROUND * _TEN_S, start + (_WAVE + (_AROUND if final else _AFTER_SOON)) * _TEN_S
    share = t.wave_share if final else t.wave_share_soon
    around_en = "the 40 s before and after" if final else "the 40 s before and the 20 s after"
    around_zh = "前后各 40 秒" if final else "前 40 秒和后 20 秒"
    if together is None:
        cue_en = (f"People told at once each find the page, verify and read at their own pace, and arrive over a "
                  f"minute or more; a farm's wave arrives on cue (limits {t.wave_min_identities} identities, "
                  f"{share:.0%})")
        cue_zh = (f"同时得到通知的人各自打开页面、验证、阅读，会在一分钟或更长时间内陆续到达；刷票团伙则按口令一齐投出"
                  f"（阈值 {t.wave_min_identities} 个身份、{share:.0%}）")
    else:
        total, nets = together
        cue_en = (f"Within the same 10 s, {nets} networks began such a wave for the entry, {total} identities in "
                  f"all: rooms told at once each arrive at their own pace, a farm spreading its wave over networks "
                  f"fires them on one cue (limits {t.wave_min_network} identities a network, "
                  f"{t.wave_share_soon:.0%} of those around, {t.wave_min_together} together)")
        cue_zh = (f"同一 10 秒内共有 {nets} 个网段为该作品发出这样的一波，合计 {total} 个身份："
                  f"同时得到通知的各处人群各按自己的节奏到达，把一波分散到多个网段的刷票团伙则按同一口令一齐投出"
                  f"（阈值每个网段 {t.wave_min_network} 个身份、占前后的 {t.wave_share_soon:.0%}、"
                  f"合计 {t.wave_min_together} 个）")
    evidence: dict[str, Any] = {"identities": wave, "around": around, "share": round(wave / around, 3)}
    if together is not None:
        evidence |= {"together": together[0], "networks": together[1]}
    ctx.put(Finding(
        "network_wave", f"subnet:{w.subnet}|entry:{e}",
        f"{wave} identities from {w.subnet} voted for this entry within the 30 s from {hm(start)}; with "
        f"{around_en}, {around} did. {cue_en}",
        f"{hm_zh(start)} 起的 30 秒内，网段 {w.subnet} 有 {wave} 个身份为该作品投票，"
        f"而连同{around_zh}也只有 {around} 个。{cue_zh}",
        evidence,
        Selector(w.campaign_id, before, after, entry_id=w.entry_id, subnet=w.subnet), entry_id=w.entry_id))


def _synchronised(v: VoteSignal, e: str, ctx: Context, t: Thresholds) -> None:
    """Most of the identities of a network that backed the entry today came back to vote for it again within the
    same 20 s (this 10 s and the one before; each had first voted for it minutes earlier), with several times as
    many from other networks coming back in those seconds, and they are most of the identities the network showed
    today. A crowd told at once to vote arrives together, but people come back when each of them thinks of it (and
    ten votes a day leave little to come back with); a farm's waves bring its identities back together."""
    c, es = v.campaign_id, pair(e, v.subnet or "")
    start = v.window(BURST)
    previous = start - _TEN_S
    mine = ctx.c(v, "entry_subnet_return_burst", es) + ctx.counts.get((c, "entry_subnet_return_burst", es, previous), 0)
    if mine < t.sync_min_identities:
        return
    backing = ctx.counts.get((c, "entry_subnet_trait_day", f"{es}|*", v.window(DAY)), 0)
    if mine < t.sync_share * backing:
        return
    population = ctx.ids("subnet_voters_day", v.subnet, v)
    if not population or backing < t.network_share * population:
        return
    everyone = ctx.c(v, "entry_return_burst", e) + ctx.counts.get((c, "entry_return_burst", e, previous), 0)
    others = everyone - mine
    if others < t.sync_others * mine:
        return
    day = v.window(DAY)
    ctx.put(Finding(
        "synchronised_networks", f"subnet:{v.subnet}|entry:{e}",
        f"{mine} of the {backing} identities that voted for this entry from {v.subnet} on {day_text(v.cast_at)} "
        f"came back to vote for it again within the 20 s from {hm(previous)}, together with {others} identities from "
        f"other networks; they are {backing} of the {population} identities the network showed that day. People "
        f"come back when each of them thinks of it; a script's waves bring them back together (limits "
        f"{t.sync_min_identities} identities, {t.sync_share:.0%} of the network's, {t.sync_others:g}× as many from "
        f"other networks)",
        f"{day_text(v.cast_at, zh=True)} 从网段 {v.subnet} 为该作品投票的 {backing} 个身份中，有 {mine} 个在 "
        f"{hm_zh(previous)} 起的 20 秒内再次为它投票，同时还有来自其他网段的 {others} 个身份；他们占该网段当天出现的 "
        f"{population} 个身份中的 {backing} 个。真人各自想起时才会回来投票，脚本的一波波投票则让他们同时回来"
        f"（阈值 {t.sync_min_identities} 个身份、占该网段的 {t.sync_share:.0%}、其他网段为其 {t.sync_others:g} 倍）",
        {"identities": mine, "backing": backing, "network_identities": population, "others": others},
        Selector(c, day, day + timedelta(seconds=DAY), entry_id=v.entry_id, subnet=v.subnet), entry_id=v.entry_id))


def check_batch(votes: list[VoteSignal], ctx: Context) -> None:
    _regular(votes, ctx.history, ctx.t, ctx.put)


def _timer(v: VoteSignal, e: str, gap: tuple[float, int], ids: Any, t: Thresholds, put: Any) -> None:
    seconds, bucket = gap
    same = ids("timer_gap_day", f"{e}|{v.subnet}|{bucket}")
    repeating = ids("timer_gapped_day", f"{e}|{v.subnet}")
    share = same / repeating if repeating else 0.0
    if same >= t.timer_min_identities and share >= t.timer_share:
        put(Finding("timer_subnet", f"subnet:{v.subnet}|entry:{e}",
                    f"{same} identities from {v.subnet} voted for this entry again after the same interval, about "
                    f"{seconds:.0f} s (within {2 * t.timer_tolerance:.0%}), on {day_text(v.cast_at)}: "
                    f"{share:.0%} of "
                    f"the {repeating} identities of that network that voted for it again; people do not share a "
                    f"clock (limits {t.timer_min_identities} identities, {t.timer_share:.0%})",
                    f"{day_text(v.cast_at, zh=True)}，网段 {v.subnet} 的 {same} 个身份相隔同样的时间"
                    f"（约 {seconds:.0f} 秒，"
                    f"误差 {2 * t.timer_tolerance:.0%} 以内）再次为该作品投票，占该网段再次为它投票的 {repeating} "
                    f"个身份的 {share:.0%}；真实用户不会共用一个时钟（阈值 {t.timer_min_identities} 个身份、"
                    f"{t.timer_share:.0%}）",
                    {"identities": same, "repeating_identities": repeating, "share": round(share, 3),
                     "gap_s": round(seconds, 1)},
                    sel(v, DAY, entry_id=v.entry_id, subnet=v.subnet), entry_id=v.entry_id))


def burst_threshold(previous_hour_requests: int, t: Thresholds) -> float:
    """A 10-second window is a burst at `burst_ratio` times the entry's usual rate, and at least `burst_min`."""
    return max(t.burst_min, t.burst_ratio * previous_hour_requests / (HOUR / BURST))


_KNOWN_AFTER_S = 120


def _lockstep(v: VoteSignal, e: str, ctx: Context, t: Thresholds) -> None:
    """An entry's burst (its 10 s far above its usual rate): every vote in it carries that as timing evidence for
    the coordination rule; identities of one network or device inside the burst also raise an alert."""
    in_burst = ctx.c(v, "entry_burst", e)
    previous = ctx.counts.get((v.campaign_id, "entry_requests_hour", e, v.window(HOUR) - timedelta(seconds=HOUR)), 0)
    limit = burst_threshold(previous, t)
    if in_burst < limit:
        return
    start = v.window(BURST)
    # The usual rate: the previous hour's, or this hour's before the burst when that is higher (a campaign's first
    # hour, a popular entry's evening). Until an entry has a couple of minutes behind it, its usual rate is unknown
    # and nothing is a burst for the coordination rule.
    elapsed = (start - v.window(HOUR)).total_seconds()
    before = max(ctx.c(v, "entry_requests_hour", e) - in_burst, 0)
    rates = [previous / HOUR] + ([before / elapsed] if elapsed >= _KNOWN_AFTER_S else [])
    usual = max(rates) * BURST
    ratio = in_burst / max(usual, 1.0)
    if (previous or elapsed >= _KNOWN_AFTER_S) and ratio >= t.burst_ratio:
        ctx.timing.setdefault(v.vote_id, []).append(Evidence(
            "burst", ratio,
            f"it came in a burst: {in_burst} requests for the entry in the 10 s from {hm(start)}, "
            f"{ratio:.0f}× its usual rate",
            f"它在一次爆发中到达：{hm_zh(start)} 起的 10 秒内该作品收到 {in_burst} 次投票请求，"
            f"是平时速率的 {ratio:.0f} 倍"))
    for label, dimension, key, fields in (("network", "entry_subnet_burst", v.subnet, {"subnet": v.subnet}),
                                          ("device", "entry_device_burst", v.device_hash,
                                           {"device_hash": v.device_hash})):
        shared = ctx.c(v, dimension, f"{e}|{key}") if key else 0
        if shared >= t.lockstep_min_shared:
            ctx.put(Finding("lockstep_group", f"{label}:{key}|entry:{e}",
                            f"{shared} identities from one {label} voted for this entry within the 10 seconds from "
                            f"{hm(start)}, while the entry got {in_burst} requests in those seconds "
                            f"(usual rate gives {limit:.0f} at most)",
                            f"{hm_zh(start)} 起的 10 秒内，来自同一{BY_ZH[label]}的 {shared} 个身份为该作品投票，"
                            f"而该作品"
                            f"在这几秒内共收到 {in_burst} 次投票请求（按平时的速率至多 {limit:.0f} 次）",
                            {"identities": shared, "burst_requests": in_burst, "burst_limit": round(limit, 1),
                             "by": label},
                            sel(v, BURST, entry_id=v.entry_id, **fields), entry_id=v.entry_id))


def regular_limit(mean_gap_s: float, votes: int, t: Thresholds) -> float:
    """How little `votes` votes' gaps of this mean may vary before they are a timer's: tight for gaps a person
    leaves between clicks in one sitting, or for a few votes; looser for many votes coming back every few minutes."""
    slow = mean_gap_s >= t.regular_slow_gap_s and votes >= t.regular_slow_min_votes
    return max(t.regular_slow_max_cv, t.regular_max_cv) if slow else t.regular_max_cv


def regular_gaps(times: list[datetime], t: Thresholds) -> tuple[float, float] | None:
    """(mean gap, coefficient of variation) when one identity's last votes are spaced like a timer, else None. Not
    half an hour apart or more on average (`timer_max_gap_s`): a person's alarm on the hour is as even."""
    times = sorted(times)[-t.regular_min_votes * 2:]
    if len(times) < t.regular_min_votes:
        return None
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    mean = statistics.fmean(gaps)
    if mean < t.regular_min_gap_s or min(gaps) < t.regular_min_gap_s or mean > t.timer_max_gap_s:
        return None
    cv = statistics.pstdev(gaps) / mean
    return (mean, cv) if cv <= regular_limit(mean, len(times), t) else None


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
        limit = regular_limit(mean, min(len(times), t.regular_min_votes * 2), t)
        put(Finding("regular_gaps", f"voter:{v.voter_id}",
                    f"{len(times)} votes from one identity since {hm(first)} spaced {mean:.0f} s apart with a "
                    f"variation of {cv:.1%} (a person varies far more; limit {limit:.0%} for {len(times)} votes "
                    f"with gaps of that length)",
                    f"同一身份自 {hm_zh(first)} 起投票 {len(times)} 次，间隔均约 {mean:.0f} 秒，波动仅 {cv:.1%}"
                    f"（真人的间隔波动要大得多；{len(times)} 次、此类间隔的上限为 {limit:.0%}）",
                    {"votes": len(times), "mean_gap_s": round(mean, 1), "variation": round(cv, 4),
                     "limit": limit},
                    Selector(v.campaign_id, window_start(first, MINUTE), v.cast_at + timedelta(seconds=1),
                             voter_id=v.voter_id)))
