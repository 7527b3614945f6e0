"""Coordination: a cohort of identities backing one entry that behaves like one script, not like a crowd.

A crowd — a campus rallying for its own school, a company for its own unit, a carrier NAT, a popular entry at
its peak — is concentrated, but each person in it behaves like the campaign's other voters: the same mix of
user agents, the same human delays between verifying and voting, the same habit of looking at the page first.
A farm shares its script's traits. So each cohort is compared, trait by trait, with the campaign's identities
that did not vote for the entry that day:

- one entry's voters from one network over the day (a farm on a few subnets);
- one entry's voters anywhere in ten minutes (a surge of fresh identities from thousands of addresses): in the
  aligned ten minutes and, when those find nothing, in the ten minutes starting halfway through them, so that a
  surge of five minutes or less is judged whole wherever the clock puts it;
- one entry's voters in a rush over the day, when those ten minutes find nothing (`script_day`: a script dripping
  one fresh identity every few minutes, too few in any ten minutes to compare): on its signature alone, one browser
  string sent by most of them, far rarer in a rush among the campaign's others.

For a vote, each of its traits gets a likelihood ratio: how much more common its value is in the cohort than
among the others (the cohort's share shrunk towards the others' for small cohorts). Delays are compared among
identities verified lately only, so a surge of honest newcomers is compared with other newcomers. Whether a
trait stands out is read cautiously (`contrast`). The identity's votes are held when at least one trait is
strong and a second piece of evidence supports it (another trait, a burst, a surge against the entry's
history, or a network taken over), or two traits each stand out, and the likelihood ratios multiply to
`hold_odds`. A network taken over is a piece of evidence only beside a behavioural trait (delay, page, changing
fingerprints): beside a place's trait alone (one user agent, one kind of number, and for a vote from a network
many identities back a wait of minutes between verifying and voting: a room told together) it is a unit whose PCs
were installed from one image, or a class, and only weighs. From such a network a place's traits together are one
piece, the place, and a delay a person can take that only supports is the place's (an office voting seconds after
verifying for the entry it knows); so does the entry's surge, for a vote from a network
where many identities back the entry or when a third of the cohort shares its networks (the unit rallying at lunch
from its offices, and a passer-by sending the same common browser string). With two strong traits, three pieces
and `invalidate_odds`, they are invalidated on their own.
Among an entry's voters anywhere, an identity one of whose traits is clearly rarer in the cohort than elsewhere
is not the script's (an honest voter amid a farm) and is not held by it, unless two of its traits are the
script's strong ones, or it sends the user agent most of the cohort sends and only its number differs; on one
network most of whose identities back the entry, it is. When the entry's voters of those ten minutes send several
times fewer user agents than as many of the campaign's voters would (`few_user_agents`: a script's one or few),
an identity whose user agent does not stand out among them is not the script's either, whatever habits it shares
(a newcomer voting from a deep link seconds after verifying). A finding on the user agent most of the cohort
sends covers the farm's identities on every kind of number (its carrier SIMs beside its platform's); the kind of
number alone (one of three kinds, shared by a few in a hundred people) selects voters only inside a burst; but on a
network whose voters of the entry mostly carry a code platform's kinds of number, data SIMs standing out among them,
it is the platform's stock, weighed as behaviour, and a finding on a network so taken over covers every kind.
An identity that voted within seconds of verifying without loading the page is in a rush: both habits, each a few
honest people's in ten, are together a script's; when that stands out it is weighed instead of the two apart and
counts as the two pieces they were. So does changing fingerprints from vote to vote when it stands out
`rotation_ratio` times among the entry's voters: a few people in a hundred browse with fingerprinting protection,
everywhere alike; an anti-detect browser's identities back one entry (on every kind of number). So does voting
within 2 s of verifying (`INSTANT_BIN`) when it stands out `instant_ratio` times (a few people in a hundred do,
having picked the count first; a script with no sleep puts all its identities there), and then, among the same
entry's voters of those ten minutes, a vote a moment later with the page loaded (`_EDGE_BIN`): a script's random
sleep straddles the two seconds, and where the instant bin is a strong trait that vote is one too. Beside a strong
habit (not a place's trait) the entry's surge supports from `contrast_support`; and once a finding named a habit,
the entry's later cohorts that day read that habit, standing out again, as the script found before
(`entry_found_day`): a farm that keeps going becomes its entry's history, and its surge no longer shows.
A trait that is missing is never evidence.
In a campaign's opening minutes an entry has no history for a surge: a vote of an entry cohort with one of a
script's habits commoner there, that made no finding while the day held less beyond the cohort's ten minutes than
within them (`unwritten`), is kept and judged again as the day fills (`Context.pending`).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from .context import Context, Evidence
from .findings import Finding, Selector, first_votes, hm, hm_zh
from .registry import Thresholds
from .signals import (
    ACQUIRED_NAMES,
    BURST,
    DAY,
    DELAY_BINS,
    DELAY_TEXT_ZH,
    INSTANT_BIN,
    INSTANT_UNSEEN,
    MAYBE_UNKNOWN,
    RUSH_BINS,
    TEN_MINUTES,
    CounterKey,
    ShardedKey,
    VoteSignal,
    binomial_tail,
    day_text,
    entry_key,
    pair,
    rushed_with,
    scripted_key,
    trait_keys,
    upper_share,
    window_start,
)

_MAX_RATIO = 1000.0
_MIN_RATIO = 0.05
_TIMING_CAP = 20.0
_CONTRIBUTES = 1.5  # a trait this much commoner in the cohort is named in the explanation
# How a trait's ratio reads: the shares it compares are counted from few identities, so the ratio is read
# cautiously (`contrast_sigmas` towards "no difference"), well below the shares' own quotient.
_CAUTIOUS_EN = "read cautiously from so few, at least"
_CAUTIOUS_ZH = "按样本量保守估计至少为其"
# Why a case past the invalidating odds is only held: its evidence is not two strong traits among three signals.
_HELD_EN = ": held for a person, as fewer than two of its traits are strong enough to invalidate on their own"
_HELD_ZH = "：本案显著特征不足两项，暂扣待人工核查"
_HELD_PIECES_EN = (": held for a person, as its traits come to fewer than three independent pieces of evidence (those "
                   "a place's people share, such as one network, one browser string or a data centre's few addresses, "
                   "count as one)")
_HELD_PIECES_ZH = ("：本案特征合计不足三项独立证据（同一场所的人共有的特征，如同一网段、同一浏览器标识、"
                   "数据中心的少数地址，只算一项），暂扣待人工核查")
# A surge's first identities may have voted just before the ten minutes in which it stands out, when it is longer
# than five minutes or first stood out in the later of two overlapping windows. An entry cohort's finding also
# covers the identities with the script's traits that voted for the entry in the two minutes before its window.
_LOOKBACK_S = 120
# Traits a place gives everyone in it, not a script's behaviour: a unit's PCs share one browser build, an
# employer's group plan one operator's numbers.
_PLACE_TRAITS = frozenset({"ua", "num"})
# … and, for a vote from a network where many identities back the entry, a wait of minutes between verifying and
# voting: people in one room told together verify together and vote together ("verify now, we vote after the
# break"). A script's delay is seconds; minutes shared there are the place's.
_TOLD_TOGETHER = frozenset({"1-2min", "2-5min", "5-15min", "15-60min"})
_HOST = frozenset({"host"})  # the data-centre trait, weighed last (`check`)
_RESOLD = ("virtual", "data")  # the kinds of number a code-receiving platform stocks (`_platform`)
# A script's habits: their baseline leaves out another entry of the batch that stands out with the same one
# (`standout`): two farms of one script, striking at once, would each make the other's habit look common.
_TRIMMED = frozenset({"delay", "page", "rush", "dev", "clock"})
_APART_PACE = 4.0  # a gap this many times an entry cohort's median gap (and `apart_s`) sets identities apart
_EXPECTED = 5.0  # identities a trait value would have in the cohort by the others' share, before its rarity counts

_TRAIT_EN = {"ua": "the same user agent", "delay": "voted {value} after verifying"}
_TRAIT_ZH = {"ua": "使用相同的浏览器标识", "delay": "在验证后 {value} 内投票"}
_PAGE_EN = {"n": "never loaded the campaign's page before voting", "y": "loaded the campaign's page"}
_PAGE_ZH = {"n": "投票前从未打开活动页面", "y": "投票前打开过活动页面"}
_NUM_EN = {"virtual": "verified with a virtual operator's number (170/171/162/165/167)",
           "data": "verified with a data or IoT SIM's number (145–149)", "mobile": "verified with a carrier's number"}
_RUSH_EN = "voted within 15 s of verifying without loading the campaign's page"
_RUSH_ZH = "验证后 15 秒内未打开活动页面即投票"
_DEV_EN = "changed device fingerprints between their votes that day"
_DEV_ZH = "当天投票时多次更换设备指纹"
_CLOCK_EN = "came back to vote again and again at nearly the same interval that day, like a timer"
_CLOCK_ZH = "当天多次以几乎相同的间隔回来投票，如同定时器"
_HOST_EN = "voted from a data centre's network (cloud servers, not a home, a phone or an office line)"
_HOST_ZH = "从数据中心网段投票（云服务器，而非家庭宽带、手机或单位网络）"
_NUM_ZH = {"virtual": "使用虚拟运营商号码（170/171/162/165/167）验证",
           "data": "使用上网卡/物联网卡号码（145–149）验证", "mobile": "使用基础运营商号码验证"}


class Cohort(NamedTuple):
    """Identities backing the vote's entry: from its network that day, or anywhere in ten minutes (aligned ones,
    and those starting halfway through them, so that a surge of five minutes or less lies whole in one of the two)."""

    label: str
    dimension: str
    prefix: str
    length: int
    start: datetime


def cohorts(v: VoteSignal) -> list[Cohort]:
    """Each cohort the vote belongs to, in the order judged: its network's, its entry's aligned ten minutes, and
    the entry's ten minutes starting halfway (judged only when the aligned ones found nothing)."""
    e = entry_key(v.entry_id)
    out = [Cohort("entry", "entry_trait_ten", f"{e}|", TEN_MINUTES, start) for start in v.tens()]
    if v.subnet:
        out.insert(0, Cohort("network", "entry_subnet_trait_day", f"{pair(e, v.subnet)}|", DAY, v.window(DAY)))
    return out


def _values(v: VoteSignal) -> list[str]:
    """The trait values a vote's judgement compares (its own, the unknowns, a script's delay, a rush, and for a
    platform's kind of number every such kind: `_platform`)."""
    return ["*", *(f"{name}={value}" for name, value in v.traits()), *(f"{name}=?" for name in MAYBE_UNKNOWN),
            *(f"delay={b}" for b in faster(v.delay)), *_quick_bins(v), "rush=y", *_other_kinds(v)]


def _quick_bins(v: VoteSignal) -> list[str]:
    """For a vote within seconds of verifying, the other such delays than its own and faster ones: the newcomers a
    script's instant share is read among (`_most_instant`)."""
    if v.delay not in RUSH_BINS:
        return []
    return [f"delay={b}" for b in sorted(RUSH_BINS) if b != v.delay and b not in faster(v.delay)]


def _other_kinds(v: VoteSignal) -> list[str]:
    """For a vote on a platform's kind of number, the other such kind (`_platform`, read on a network only)."""
    return [f"num={kind}" for kind in _RESOLD if v.num in _RESOLD and kind != v.num]


def held_members(covered: Iterable[tuple[Finding, list[VoteSignal]]],
                 counted: AbstractSet[tuple[str, str, datetime, str]] = frozenset(),
                 ) -> tuple[set[tuple[CounterKey, str]], set[tuple[str, str, datetime, str]]]:
    """The identities decisive findings cover, counted (distinct) under the trait values of their earliest covered
    vote and the traits acquired over the day (`signals.ACQUIRED`) any covered vote shows, for the campaign and for
    each entry they voted for among those votes; and what was counted (campaign, voter, day, and the entry or ""
    for the campaign, followed by "#" and an acquired trait for its count), but what an earlier batch `counted`
    already. A farm found on one entry, still counted among the campaign's other voters, would make the next farm
    with its habit look less unusual: a second surge in a rush, beside a first, was compared with others a tenth of
    whom were in a rush; a second drip on a clock, beside a first held whole from its first visit, with others
    whose clocks the first drip's made six in a hundred."""
    first: dict[tuple[str, str], VoteSignal] = {}
    entries: dict[tuple[str, str], set[str]] = {}
    later: dict[tuple[str, str], set[str]] = {}
    for f, votes in covered:
        if not f.decisive:
            continue
        for v in votes:
            k = (v.campaign_id, v.voter_id)
            if k not in first or v.cast_at < first[k].cast_at:
                first[k] = v
            entries.setdefault(k, set()).add(entry_key(v.entry_id))
            later.setdefault(k, set()).update(f"{name}={value}" for name, value in v.traits()
                                              if name in ACQUIRED_NAMES and value != "?")
    out: set[tuple[CounterKey, str]] = set()
    done: set[tuple[str, str, datetime, str]] = set()
    for (c, voter), v in first.items():
        day = v.window(DAY)
        for e in {""} | entries[(c, voter)]:
            rushed = [key] if (key := scripted_key(v)) is not None else []
            for memo, keys in ((e, trait_keys("", v) + rushed),
                               *((f"{e}#{x}", [x]) for x in sorted(later[(c, voter)]))):
                if (c, voter, day, memo) in counted:
                    continue
                done.add((c, voter, day, memo))
                out |= {((c, "held_entry_trait_day", f"{e}|{x}", day) if e else (c, "held_trait_day", x, day), voter)
                        for x in keys}
    return out, done


def reads(v: VoteSignal, memo: dict[tuple[Any, ...], Any] | None = None) -> tuple[set[CounterKey], set[CounterKey]]:
    """Every trait counter the vote's judgement reads (the batch only adds to those of identities' first votes), and
    the distinct counts of identities already held or invalidated it reads: they are not the campaign's other voters
    a cohort is compared with (`held_members`). The other entries' counts of its habits: `other_entry_reads`.
    Those of its entry are the same for the entry's votes with the same traits in the same ten minutes: built once
    for them in `memo` (the caller's, for a batch)."""
    key = (v.campaign_id, v.entry_id, v.tens(), v.traits())
    made = memo.get(key) if memo is not None else None
    if made is None:
        made = _entry_reads(v)
        if memo is not None:
            memo[key] = made
    out, held, values = made
    if not v.subnet:
        return out, held
    network = cohorts(v)[0]
    return out | {(v.campaign_id, network.dimension, f"{network.prefix}{x}", network.start) for x in values}, held


def _entry_reads(v: VoteSignal) -> tuple[set[CounterKey], set[CounterKey], list[str]]:
    """`reads` but the network's cohort's; and the trait values compared (`_values`)."""
    c, e, day = v.campaign_id, entry_key(v.entry_id), v.window(DAY)
    out: set[CounterKey] = {(c, "ids_ten", "*", start) for start in v.tens()}
    if (joint := scripted_key(v)) is not None:  # `script_day`
        out |= {(c, "entry_trait_day", f"{e}|{joint}", day), (c, "entry_found_day", f"{e}|{joint}", day),
                *((c, "entry_trait_ten", f"{e}|{joint}", start) for start in v.tens())}
    out |= {(c, "entry_found_day", f"{e}|{k}", day) for k in _combinations(habits(v.traits()))}
    held: set[CounterKey] = {(c, "held_entry_trait_day", f"{e}|{joint}", day)} if joint is not None else set()
    mine = [co for co in cohorts(v) if co.label != "network"]
    if v.page and v.delay in RUSH_BINS:  # `_rushed_apart`
        out |= {(c, co.dimension, f"{co.prefix}{INSTANT_UNSEEN}", co.start) for co in mine}
    extra = _other_kinds(v)
    values = _values(v)
    for x in values:
        out.add((c, "trait_day", x, day))
        out.add((c, "entry_trait_day", f"{e}|{x}", day))
        held.add((c, "held_trait_day", x, day))
        held.add((c, "held_entry_trait_day", f"{e}|{x}", day))
        if x not in extra:  # the other platform kind: a network's only
            out.update((c, cohort.dimension, f"{cohort.prefix}{x}", cohort.start) for cohort in mine)
    return out, held, values


def other_entry_reads(votes: Iterable[VoteSignal],
                      entries: dict[str, frozenset[str]]) -> tuple[set[CounterKey], set[CounterKey]]:
    """The counts of the votes' habits for every entry of the batch (`standout`), and of those held: built once for
    the batch (its habits by campaign and day, times its entries), not for each vote."""
    wanted: dict[tuple[str, datetime], set[str]] = {}
    seen: set[tuple[str, datetime, tuple[tuple[str, str], ...]]] = set()
    for v in votes:
        if (look := (v.campaign_id, v.window(DAY), v.traits())) in seen:
            continue  # the same habits as a vote before it (`_values` reads the traits only)
        seen.add(look)
        wanted.setdefault(look[:2], set()).update(
            x for x in _values(v) if x == "*" or x.split("=", 1)[0] in _TRIMMED)
    counters: set[CounterKey] = set()
    held: set[CounterKey] = set()
    for (c, day), habits in wanted.items():
        for other in entries.get(c, frozenset()):
            counters.update((c, "entry_trait_day", f"{other}|{x}", day) for x in habits)
            held.update((c, "held_entry_trait_day", f"{other}|{x}", day) for x in habits)
    return counters, held


def batch_entries(votes: Iterable[VoteSignal]) -> dict[str, frozenset[str]]:
    """Per campaign, the entries these votes are for."""
    out: dict[str, set[str]] = {}
    for v in votes:
        out.setdefault(v.campaign_id, set()).add(entry_key(v.entry_id))
    return {c: frozenset(es) for c, es in out.items()}


_BIN_NAMES = [name for _, name in DELAY_BINS]
_SCRIPT_BINS = [name for edge, name in DELAY_BINS if edge <= 5]  # within seconds: a script's delay


# The values of a trait that are a script's habit, where one is (any delay bin can be).
_SCRIPT_VALUES = {"page": "n", "rush": "y", "dev": "rot", "clock": "y"}


def habits(traits: Iterable[tuple[str, str]]) -> list[str]:
    """The script-like behavioural traits among these (not a place's), as counter keys."""
    return sorted(f"{name}={value}" for name, value in traits
                  if name not in _PLACE_TRAITS and value != "?" and _SCRIPT_VALUES.get(name, value) == value)


def _combinations(habits: list[str]) -> list[str]:
    """Every non-empty combination of the habits, as a key ("delay=0-2s&page=n")."""
    return ["&".join(c) for r in range(1, len(habits) + 1) for c in itertools.combinations(habits, r)]


def remembered(findings: Iterable[Finding]) -> dict[ShardedKey, int]:
    """The habits an entry cohort's finding that holds or invalidates named, together, counted for its entry and
    day: the entry's later cohorts that day read them as the script found before (`_found_before`). Not a finding
    that also needed a user agent (or a network taken over): it found a script by the machines it runs on as much as
    by what it does, and its habits alone would be a wider net (a slow drip's delay, shared by people who loaded the
    page). A kind of number may have been beside the habits: a platform farm's carrier SIMs share its habits. And
    the string in a rush a day's finding named (`script_day`), for the drip's later identities that day."""
    out: dict[ShardedKey, int] = {}
    for f in findings:
        if f.reason_code == "coordinated_cohort" and f.decisive and f.entry_id is not None \
                and f.evidence["cohort"] == "day":  # `script_day`: its string in a rush, found for the entry
            day = window_start(f.selector.end - timedelta(microseconds=1), DAY)
            joint = rushed_with(f.evidence["traits"]["ua"])
            k = ((f.selector.campaign_id, "entry_found_day", f"{entry_key(f.entry_id)}|{joint}", day), 0)
            out[k] = out.get(k, 0) + 1
            continue
        if f.reason_code != "coordinated_cohort" or not f.decisive or f.entry_id is None \
                or f.evidence["cohort"] != "entry" or "ua" in f.evidence["traits"]:
            continue
        named = habits(f.evidence["traits"].items())
        if named:
            day = window_start(f.selector.end - timedelta(microseconds=1), DAY)
            k = ((f.selector.campaign_id, "entry_found_day", f"{entry_key(f.entry_id)}|{'&'.join(named)}", day), 0)
            out[k] = out.get(k, 0) + 1
    return out


def _found_before(v: VoteSignal, ctx: Context, chosen: list[Trait]) -> Evidence | None:
    """Every habit of a finding on the entry earlier that day stands out again among those of this identity: the
    same script still at work (not a wider net: a finding on one of its habits alone would also take the people
    who share only that one). Its surge no longer shows once the entry's own history holds its earlier minutes."""
    e, day = entry_key(v.entry_id), v.window(DAY)
    again = next((k for k in _combinations(habits((name, value) for name, value, _ in chosen))
                  if ctx.counts.get((v.campaign_id, "entry_found_day", f"{e}|{k}", day), 0)), None)
    if again is None:
        return None
    described = [_describe(*habit.split("=", 1)) for habit in again.split("&")]
    return Evidence("found", ctx.t.surge_ratio,
                    f"voters of this entry who {' and '.join(en for en, _ in described)} had already been held that "
                    f"day (by this case's earlier votes or another's: the same script still at work)",
                    f"当天已有该作品{'且'.join(zh for _, zh in described)}的投票者被暂扣（本案较早的投票或其他案件："
                    f"同一脚本仍在运行）")


def faster(delay: str | None) -> list[str]:
    """The bin of a script's delay (seconds), when this delay is slower. A slower delay is compared among the
    identities that took longer than that (in the cohort and among the others): a farm voting within seconds
    among the campaign's other voters would otherwise make every slower bin look rarer there, and a campus quick
    to vote look like a script."""
    if delay not in _BIN_NAMES:
        return []
    return _SCRIPT_BINS[:_BIN_NAMES.index(delay)]


def contrast(k: int, known: int, k_others: int, known_others: int, prior: float,
             sigmas: float = 1.5) -> tuple[float, float]:
    """The others' share of a trait value, and how many times commoner it is in the cohort, read cautiously:
    the cohort's share at its lower bound and the others' at their upper bound (`sigmas` standard deviations of a
    count each), and a small cohort shrunk towards the others by `prior` pseudo-identities. Chance rarely makes a
    trait look rarer elsewhere or commoner here than the counts can show."""
    p = (k_others + 0.5) / (known_others + 1.0)
    p_high = upper_share(k_others, known_others, sigmas)
    q_low = (max(k - sigmas * math.sqrt(k), 0.0) + prior * p_high) / (known + prior)
    return p, min(max(q_low / p_high, _MIN_RATIO), _MAX_RATIO)


def surge(v: VoteSignal, ctx: Context, cohort: Cohort, least: float | None = None) -> Evidence | None:
    """The entry's share of the campaign's identities in the cohort's ten minutes against its share earlier that
    day (a change-point): a surge several times the entry's own history, read cautiously like a trait."""
    t, c, e, day = ctx.t, v.campaign_id, entry_key(v.entry_id), v.window(DAY)
    here = ctx.counts.get((c, cohort.dimension, f"{e}|*", cohort.start), 0)
    everyone = ctx.counts.get((c, "ids_ten", "*", cohort.start), 0)
    before = ctx.counts.get((c, "entry_trait_day", f"{e}|*", day), 0) - here
    everyone_before = ctx.counts.get((c, "trait_day", "*", day), 0) - everyone
    if here < t.surge_min_identities or everyone_before < t.contrast_baseline_min:
        return None  # no history to jump against (the campaign's first minutes)
    share_before, ratio = contrast(here, everyone, max(before, 0), everyone_before, t.contrast_prior,
                                   t.contrast_sigmas)
    if ratio < (t.surge_ratio if least is None else least):
        return None
    return Evidence("surge", ratio,
                    f"the entry drew {here} of the campaign's {everyone} identities in the 10 minutes from "
                    f"{hm(cohort.start)} ({here / everyone:.0%}), against {share_before:.1%} earlier that "
                    f"day: {ratio:.1f}× its own history",
                    f"{hm_zh(cohort.start)} 起的 10 分钟内，该作品获得活动 {everyone} 个身份中的 {here} 个"
                    f"（{here / everyone:.0%}），当天此前仅 {share_before:.1%}：是其自身历史的 {ratio:.1f} 倍")


def unwritten(v: VoteSignal, ctx: Context, co: Cohort) -> bool:
    """The entry's history is still being written: the campaign's day holds fewer identities beyond the cohort's ten
    minutes than within them (or than `contrast_baseline_min`), so whether the entry surged in them cannot be told
    yet (`surge`). In a campaign's opening minutes a script's habit standing out among the entry's first voters has
    nothing beside it; as the day fills, the entry's share in those minutes is read against the rest of it, and the
    vote's identity is judged again (`Context.pending`, for up to `pipeline._PENDING_S`)."""
    c, day = v.campaign_id, v.window(DAY)
    here = ctx.counts.get((c, co.dimension, f"{entry_key(v.entry_id)}|*", co.start), 0)
    everyone = ctx.counts.get((c, "ids_ten", "*", co.start), 0)
    rest = ctx.counts.get((c, "trait_day", "*", day), 0) - everyone
    return here >= ctx.t.surge_min_identities and rest < max(ctx.t.contrast_baseline_min, everyone)


def _thin(t: Thresholds, others: Any) -> bool:
    """The campaign's day holds few newcomers beyond the entry's (under ten times `contrast_baseline_min`): a
    habit read against so few is read cautiously low (`contrast`), and a script's that stood out only a little is
    judged again as the day fills (`Context.pending`). A farm striking in the first minutes after the day's quota
    renews (at midnight) has only the night's few voters beside it."""
    return bool(others("*") - others("delay=?") < 10 * t.contrast_baseline_min)


def _describe(name: str, value: str) -> tuple[str, str]:
    if name == "page":
        return _PAGE_EN[value], _PAGE_ZH[value]
    if name == "num":
        return _NUM_EN[value], _NUM_ZH[value]
    if name == "dev":
        return _DEV_EN, _DEV_ZH
    if name == "clock":
        return _CLOCK_EN, _CLOCK_ZH
    if name == "host":
        return _HOST_EN, _HOST_ZH
    if name == "rush":
        return _RUSH_EN, _RUSH_ZH
    if name == "delay":
        return (_TRAIT_EN["delay"].format(value=value.replace("-", "–")),
                _TRAIT_ZH["delay"].format(value=DELAY_TEXT_ZH.get(value, value)))
    return f"{_TRAIT_EN['ua']} (#{value[:8]})", f"{_TRAIT_ZH['ua']}（#{value[:8]}）"


Trait = tuple[str, str, Evidence]


@dataclass
class _Comparison:
    """A cohort's traits against the campaign's other identities, for one vote's identity."""

    strong: list[Trait] = field(default_factory=list)  # traits far commoner here than elsewhere
    support: list[Trait] = field(default_factory=list)  # traits clearly commoner, not enough alone
    contributing: list[Evidence] = field(default_factory=list)  # every trait making the identity likelier scripted
    contradicts: set[str] = field(default_factory=set)  # traits of this identity the cohort's script lacks
    shares: list[float] = field(default_factory=list)  # the others' share of each trait value that stood out
    hurried: bool = False  # a hurried delay (`hurried`) stood out as a strong trait would, and only supports
    # (identities on a code platform's kinds of number, identities whose number is known) when most of the cohort's
    # numbers are such and this one's too (`_platform`)
    platform: tuple[int, int, int] | None = None
    # the identity in a rush sends one of the few strings the cohort's rush sends (`_one_of_few`): (its count, the
    # rush's identities, their strings), for the finding to keep to that string
    string: tuple[int, int, int] | None = None
    here: dict[str, float] = field(default_factory=dict)  # the cohort's share of each of the identity's values
    score: float = 0.0  # log odds from the traits

    def copy(self) -> _Comparison:
        """Its own lists and sets, to add to for one vote."""
        return replace(self, strong=list(self.strong), support=list(self.support),
                       contributing=list(self.contributing), contradicts=set(self.contradicts),
                       shares=list(self.shares), here=dict(self.here))

    @property
    def its_ua(self) -> bool:
        """The identity sends the user agent most of the cohort sends, and it stands out: the script's."""
        return any(name == "ua" for name, _, _ in self.strong) and self.here.get("ua", 0.0) >= 0.5


def check(v: VoteSignal, ctx: Context) -> None:
    t = ctx.t
    c, e, day = v.campaign_id, entry_key(v.entry_id), v.window(DAY)

    def others(x: str, without: str | None = None) -> int:
        """Identities of the campaign today that did not vote for this entry, with trait value `x`, but those a
        finding held or invalidated (for another entry), and those of the entry `without` (`standout`)."""
        held = ctx.distinct.get((c, "held_trait_day", x, day), 0) \
            - ctx.distinct.get((c, "held_entry_trait_day", f"{e}|{x}", day), 0)
        n = max(ctx.counts.get((c, "trait_day", x, day), 0)
                - ctx.counts.get((c, "entry_trait_day", f"{e}|{x}", day), 0) - max(held, 0), 0)
        return n if without is None else max(n - _unheld(ctx, c, without, x, day), 0)

    n_others = others("*")
    if n_others < t.contrast_baseline_min:
        # A cohort already large before the campaign has a baseline (a farm striking in its opening minute) is
        # judged again once it has one, even if none of its identities votes again by then.
        if any(ctx.counts.get((c, co.dimension, f"{co.prefix}*", co.start), 0) >= t.contrast_cohort_min
               for co in cohorts(v)):
            ctx.early.append(v)
        return
    judged_entry = False
    for co in cohorts(v):
        if co.label == "entry" and judged_entry:
            continue  # the aligned ten minutes found it: those starting halfway are not judged again

        def cohort(suffix: str, co: Cohort = co) -> int:
            return ctx.counts.get((c, co.dimension, f"{co.prefix}{suffix}", co.start), 0)

        n = cohort("*")
        if n < t.contrast_cohort_min:
            continue
        # rotating devices and coming back on a clock are counted for the campaign and the entry, not per network
        platform = _platform(v, t, co, n, cohort, others, n_others,
                             _entry_addresses(v, ctx) if co.label == "network" else 0)
        unweighed = _unweighed(v, ctx, platform is not None) \
            | (ACQUIRED_NAMES if co.label == "network" else frozenset())
        # A data centre's network is weighed only when the rest finds nothing: a script found by its habits is
        # found on every network it uses, not only on its data centres' (a fuller finding covers fewer).
        for hosts in (_HOST, frozenset()) if v.host else (frozenset(),):
            if _cohort_judged(v, ctx, co, n, n_others, cohort, others, unweighed | hosts, platform):
                judged_entry |= co.label == "entry"
                break
    if not judged_entry:
        script_day(v, ctx, others)


def _cohort_judged(v: VoteSignal, ctx: Context, co: Cohort, n: int, n_others: int, cohort: Any, others: Any,
                   unweighed: frozenset[str], platform: tuple[int, int, int] | None) -> bool:
    """The vote's identity judged in one cohort, on its traits but the `unweighed`: whether a finding was made."""
    traits = _compared(v, ctx, co, n, n_others, cohort, others, unweighed)
    traits.platform = platform
    chosen = {name for name, _, _ in traits.strong + traits.support}
    if co.label == "entry" and v.ua and "ua" not in chosen and (
            few_user_agents(v, ctx, co, n) or ("rush" in chosen and few_user_agents(
                v, ctx, co, cohort("rush=y"), "entry_rush_uas_ten"))):
        # the script sends a few user agents (its voters do, or those in a rush), and this is not one of them
        traits.string = _one_of_few(v, ctx, co, cohort) if "rush" in chosen else None
        if traits.string is None:
            traits.contradicts.add("ua")
    # An identity with two of the script's strong traits is the script's whatever its number or page habit (a
    # farm mixing a code platform's numbers with carriers' must not hide its carrier half that way), and so is
    # one sending the user agent most of the cohort sends, when it stands out, whatever its number; not one
    # sending a user agent the script does not.
    # A delay as quick as the script's, by an identity that loaded the page, counts here as one of them: beside
    # the user agent most of the cohort sends it is the script's identity that loaded the page, not a person.
    mine = len(traits.strong) + traits.hurried >= 2 or (traits.its_ua and traits.contradicts <= {"num"})
    if (traits.contradicts and (not mine or "ua" in traits.contradicts)) or not (traits.strong or traits.support) \
            or not _judge(v, ctx, co, n, traits):
        if co.label == "entry" and _scripted(v, traits) and (unwritten(v, ctx, co) or _thin(ctx.t, others)):
            ctx.pending.append(v)
        return False
    return True


def _one_of_few(v: VoteSignal, ctx: Context, co: Cohort, cohort: Any) -> tuple[int, int, int] | None:
    """The identity, in a rush, sends one of the few strings the cohort's identities in a rush send: at least half of
    `contrast_min_identities` of them and half their average per string do, or findings earlier that day held that
    many of the entry's identities in a rush with it (`_held_with_string`: a router's last cards in a new ten
    minutes, too few there to stand out). A SIM pool's routers each send their own string, none of them
    `ua_min_share` of the whole cohort, yet each is its script's; a person in a rush beside it sends their own. (The
    string's identities in a rush, those in a rush, their strings), or None."""
    if v.rush != "y" or not v.ua:
        return None
    k, rushed = cohort(rushed_with(v.ua)), cohort("rush=y")
    strings = ctx.distinct.get((v.campaign_id, "entry_rush_uas_ten", entry_key(v.entry_id), co.start), 0)
    mine = strings > 0 and 2 * k >= ctx.t.contrast_min_identities and 2 * k * strings >= rushed
    return (k, rushed, strings) if mine or (strings > 0 and _held_with_string(v, ctx)) else None


def _held_with_string(v: VoteSignal, ctx: Context) -> bool:
    """Findings earlier that day held `contrast_min_identities` of the entry's identities in a rush with the vote's
    browser string, the vote in a rush too: the same script still at work."""
    joint = scripted_key(v)
    return joint is not None and ctx.distinct.get(
        (v.campaign_id, "held_entry_trait_day", f"{entry_key(v.entry_id)}|{joint}", v.window(DAY)), 0) \
        >= ctx.t.contrast_min_identities


def _scripted(v: VoteSignal, traits: _Comparison) -> bool:
    """One of the identity's script-like habits (seconds from verifying to voting, never loading the page, a rush,
    changing fingerprints, a clock, a data centre) is commoner in its cohort than elsewhere (`_CONTRIBUTES`)."""
    mine = {name for name, value in v.traits() if name != "delay" or value in RUSH_BINS} \
        & {habit.split("=", 1)[0] for habit in habits(v.traits())}
    return any(e.signal in mine or (e.signal == "instant" and "delay" in mine) for e in traits.contributing)


def _compared(v: VoteSignal, ctx: Context, co: Cohort, n: int, n_others: int, cohort: Any, others: Any,
              unweighed: frozenset[str]) -> _Comparison:
    """`_compare`, made once per batch for the cohort's identities with the same traits (a copy of it each)."""
    memo = (v.campaign_id, co, v.window(DAY), v.traits(), unweighed, v.unhurried, v.page)
    if (made := ctx.comparisons.get(memo)) is None:
        varied = co.label == "entry" and v.ua is not None and not few_user_agents(v, ctx, co, n)
        made = ctx.comparisons[memo] = _compare(v, ctx.t, co.label, n, n_others, cohort, others, unweighed,
                                                lambda name, value: standout(v, ctx, name, value, others), varied)
    return made.copy()


def script_day(v: VoteSignal, ctx: Context, others: Any) -> None:
    """An entry's identities in a rush that day, most of them (`drip_ua_share`) sending one browser string, from
    about as many networks (that share of them at least), a string `hold_odds` times commoner among them than among
    the campaign's other voters (read cautiously, `contrast`): a script dripping fresh identities, one every few
    minutes from addresses of their own, never enough in ten minutes to stand out there. Held, every vote that day
    of those identities. People following a unit's deep link are in a rush too, but each in their own browser; a
    live stream's viewers send one app's strings, but load the page they vote on; an office's PCs installed from one
    image send one string, from the office's one or two networks. Judged only for a vote whose ten
    minutes hold fewer than `contrast_min_identities` of the entry's identities in a rush with its string: where
    they hold more, it is no drip, those minutes judge the script and trim the entry's own people from their
    finding, which a day's finding cannot (a load tester's replay puts everyone in a rush, and the entry's people
    sending a farm's common string would be taken with it)."""
    joint = scripted_key(v)
    t, c, e, day = ctx.t, v.campaign_id, entry_key(v.entry_id), v.window(DAY)
    if joint is None or any(ctx.counts.get((c, "entry_trait_ten", f"{e}|{joint}", start), 0)
                            >= t.contrast_min_identities for start in v.tens()):
        return  # no rush, or no drip: enough with its signature in these ten minutes to be judged there

    def cohort(x: str) -> int:
        return ctx.counts.get((c, "entry_trait_day", f"{e}|{x}", day), 0)

    k, rushed = cohort(joint), cohort("rush=y")
    networks = ctx.distinct.get((c, "entry_script_subnets_day", f"{e}|{joint}", day), 0)
    known_others = others("*") - others("ua=?")
    # not yet found that day: judged on the identities no finding holds (a farm the entry's ten minutes found is no
    # drip, and the entry's people who share its common string must not be taken with it over the whole day)
    unheld = k - ctx.distinct.get((c, "held_entry_trait_day", f"{e}|{joint}", day), 0)
    first = not ctx.counts.get((c, "entry_found_day", f"{e}|{joint}", day), 0)
    if k < t.contrast_min_identities or k < t.drip_ua_share * rushed or networks < t.drip_ua_share * k \
            or known_others < t.contrast_baseline_min or (first and unheld < t.contrast_min_identities):
        return
    p, ratio = contrast(k, rushed, others(f"ua={v.ua}"), known_others, t.contrast_prior, t.contrast_sigmas)
    if ratio < t.hold_odds:
        return
    ev = Evidence("script", ratio,
                  f"{k} of the {rushed} that voted for it in a rush that day ({_RUSH_EN}) sent one browser string, "
                  f"from {networks} networks ({k / rushed:.0%}, against {p:.2%} of the campaign's other voters; "
                  f"{_CAUTIOUS_EN} {ratio:.1f}× as common)",
                  f"当天为其投票的身份中有 {rushed} 个{_RUSH_ZH}，其中 {k} 个经由 {networks} 个网段使用同一浏览器标识"
                  f"（占 {k / rushed:.0%}，活动中其他投票者仅 {p:.2%}；{_CAUTIOUS_ZH} {ratio:.1f} 倍）")
    co = Cohort("day", "entry_trait_day", f"{e}|", DAY, day)
    _found(v, ctx, co, False, cohort("*"), [("ua", v.ua or "?", ev), ("rush", "y", ev)], [ev], math.log(ratio),
           "hold")


def check_batch(votes: list[VoteSignal], ctx: Context) -> None:
    """Within one cohort's window, a finding whose traits are a part of another's is dropped: the fuller one
    describes the script (one user agent and a rush), while the part (the rush alone) would also take the entry's
    honest voters in a rush who send another user agent."""
    def scope(f: Finding) -> tuple[Any, ...]:
        s = f.selector
        return f.evidence["cohort"], s.campaign_id, s.entry_id, s.subnet, s.start, s.end

    mine = [(f, scope(f), set(f.evidence["traits"].items())) for f in ctx.found.values()
            if f.reason_code == "coordinated_cohort"]
    for f, where, traits in mine:
        if any(other > traits and at == where for _, at, other in mine):
            del ctx.found[f.identity]


def few_user_agents(v: VoteSignal, ctx: Context, co: Cohort, n: int, dimension: str = "entry_uas_ten") -> bool:
    """The entry's n voters of the cohort's ten minutes (or its n voters in a rush: `entry_rush_uas_ten`) sent
    `contrast_support` times fewer user agents than as many of the campaign's voters would: most of them share a
    script's few. As many voters drawn from the campaign's would send about D·(1 − (1 − n/N)^(N/D)) of its D user
    agents among N identities (each sent by N/D of them); a skewed mix sends fewer, so a crowd is read, if
    anything, as the more varied."""
    c = v.campaign_id
    mine = ctx.distinct.get((c, dimension, entry_key(v.entry_id), co.start), 0)
    everyone = ctx.distinct.get((c, "uas_ten", "*", co.start), 0)
    identities = ctx.counts.get((c, "ids_ten", "*", co.start), 0)
    if not (mine and everyone and identities):
        return False
    drawn = everyone * (1.0 - math.pow(1.0 - min(n / identities, 1.0), identities / everyone))
    return mine * ctx.t.contrast_support < drawn


def _unweighed(v: VoteSignal, ctx: Context, platform: bool = False) -> frozenset[str]:
    """Traits not weighed for this vote. The kind of phone number is a place's as much as a script's: an employer's
    group plan puts one virtual operator's numbers in many hands in one office, while a code platform's numbers
    arrive from everywhere. So it is not weighed for a vote from a network where many identities back the entry,
    unless most of the cohort's numbers are a platform's kinds (`_platform`)."""
    if v.num and not platform and _from_place(v, ctx):
        return frozenset({"num"})
    return frozenset()


def _platform(v: VoteSignal, t: Thresholds, co: Cohort, n: int, cohort: Any, others: Any, n_others: int,
              addresses: int = 0) -> tuple[int, int, int] | None:
    """On a network, this identity verified with a virtual operator's or a data SIM's number, and either most of the
    cohort's identities whose number is known did (`platform_share`) with more data SIMs among them (at least
    `platform_data_min`), or their votes came from `platform_addresses_min` addresses or more of the network with
    more of them on those kinds, than as many of the campaign's other voters would carry but with a chance of
    `platform_data_chance` (the others' share read at its upper bound, `contrast_sigmas`): a code-receiving
    platform's stock, not a place's (the kind is then weighed: it is evidence where it stands out, `_compare`). An
    employer's group plan is one operator's numbers (a virtual operator's, say) in its staff's hands, beside their
    own carriers' (a large office's few data SIMs are its people's, one in two hundred), and its staff reach the
    internet through the office's one or few NAT addresses; a platform's stock mixes virtual operators' numbers
    with data and IoT SIMs that receive SMS, and a cloud-phone farm gives each of its phones an address of its own
    in a data centre's network.
    Returns (identities on those kinds, identities whose number is known, the addresses when they decided, or 0)."""
    if co.label != "network" or v.num not in _RESOLD:
        return None
    known = n - cohort("num=?")
    resold = sum(cohort(f"num={kind}") for kind in _RESOLD)
    everyone = max(n_others - others("num=?"), 0)

    def beyond_chance(mine: int, kinds: tuple[str, ...]) -> bool:
        share = upper_share(sum(others(f"num={kind}") for kind in kinds), everyone, t.contrast_sigmas)
        return binomial_tail(mine, known, share) <= t.platform_data_chance

    data = cohort("num=data")
    if data >= t.platform_data_min and resold >= t.platform_share * known and beyond_chance(data, ("data",)):
        return resold, known, 0
    if addresses >= t.platform_addresses_min and beyond_chance(resold, _RESOLD):
        return resold, known, addresses
    return None


def _from_place(v: VoteSignal, ctx: Context) -> bool:
    """Many identities back the vote's entry from the vote's network that day (a campus, an office, a farm)."""
    return bool(v.subnet) and ctx.ids("entry_subnet_voters_day", f"{entry_key(v.entry_id)}|{v.subnet}", v) \
        >= ctx.t.covote_min_identities


def _placed(v: VoteSignal, ctx: Context, co: Cohort, n: int) -> bool:
    """A third or more of the entry cohort's identities share their network with another of them (an office, a
    campus): its surge and the user agent its PCs share are the place's, whatever network this vote came from (a
    passer-by with the same common browser string)."""
    networks = ctx.distinct.get((v.campaign_id, "entry_subnets_ten", entry_key(v.entry_id), co.start), 0)
    return 0 < networks and 3 * (n - networks) >= n


def _compare(v: VoteSignal, t: Any, label: str, n: int, n_others: int, cohort: Any, others: Any,
             unweighed: frozenset[str] = frozenset(), trim: Any = lambda name, value: None,
             varied: bool = False) -> _Comparison:
    """Each of the identity's traits in the cohort against the others: likelihood ratios and what stands out. One in
    a rush (`VoteSignal.rush`) is weighed on that one trait when it stands out, instead of its delay and page habit
    apart. `trim(name, value)`: another entry left out of the others (`standout`); `varied`: not `few_user_agents`."""
    out = _Comparison()
    read: dict[str, tuple[str, int, int, float, float, float]] = {}
    for name, value in v.traits():
        if value == "?" or name in unweighed:
            continue
        without = trim(name, value)
        known = n - (cohort(f"{name}=?") if name in MAYBE_UNKNOWN else 0)
        everyone = n_others if without is None else others("*", without)
        known_others = everyone - (others(f"{name}=?", without) if name in MAYBE_UNKNOWN else 0)
        unseen, apart = _rushed_apart(v, cohort) if name == "delay" and value == INSTANT_BIN else (0, 0)
        if name == "delay":
            known -= sum(cohort(f"delay={b}") for b in faster(value)) + apart
            known_others -= sum(others(f"delay={b}", without) for b in faster(value))
        if known <= 0 or known_others < t.contrast_baseline_min / 4:
            continue  # too few to compare (few identities verified lately, few user agents sent)
        k = max(cohort(f"{name}={value}") - unseen, 0)
        p, ratio = contrast(k, known, others(f"{name}={value}", without), known_others, t.contrast_prior,
                            t.contrast_sigmas)
        read[name] = (value, k, known, p, ratio, (k + t.contrast_prior * p) / (known + t.contrast_prior) / p)
    _rush_or_apart(v, t, label, n, cohort, others, trim, read, out)
    for name, (value, k, known, p, ratio, likely) in read.items():
        out.here[name] = k / known
        if label == "entry" and name != "rush" and known * p >= _EXPECTED and likely < 1 / t.contrast_support:
            out.contradicts.add(name)
        out.score += math.log(min(max(likely, _MIN_RATIO), _MAX_RATIO))
        if ratio < _CONTRIBUTES:
            continue
        ev = _trait_evidence(name, value, k, known, n, p, ratio)
        out.contributing.append(ev)
        if label == "entry" and name == "ua" and k - (math.sqrt(k) if varied else 0) < t.ua_min_share * known:
            continue  # a crowd from one app (`ua_min_share`; among a crowd's many strings, read a deviation low)
        instant = _instant(t, label, n, cohort, others, trim(name, INSTANT_BIN)) \
            if hurried(name, value, v) and value == _EDGE_BIN else None
        if instant is not None:
            out.contributing.append(instant)
        # a tail of people tapping at once (`instant_min_share`) is a crowd's, however rare elsewhere: it only supports
        few_instant = name == "delay" and value == INSTANT_BIN \
            and not _most_instant(t, k, max(_quick(cohort) - _rushed_apart(v, cohort)[1], 0))
        if k >= t.contrast_min_identities and ratio >= t.contrast_ratio and not few_instant \
                and (instant is not None or not hurried(name, value, v)):
            out.strong.append((name, value, ev))
            out.shares.append(p)
        elif k >= t.contrast_min_identities and ratio >= t.contrast_support:
            out.hurried |= ratio >= t.contrast_ratio
            out.support.append((name, value, ev))
            out.shares.append(p)
    return out


def _rush_or_apart(v: VoteSignal, t: Any, label: str, n: int, cohort: Any, others: Any, trim: Any,
                   read: dict[str, tuple[str, int, int, float, float, float]], out: _Comparison) -> None:
    """A rush that stands out is weighed instead of the delay and the page habit apart (`read` loses them); else the
    rush is not weighed, and an unhurried identity beside a cohort in a rush contradicts it."""
    rushed = read.get("rush")
    if rushed and rushed[0] == "y" and rushed[1] >= t.contrast_min_identities and rushed[4] >= t.contrast_support:
        read.pop("delay", None)
        read.pop("page", None)
        return
    if label == "entry" and v.unhurried and _rushing(t, n, cohort, others, trim("rush", "y")):
        # The cohort's script is in a rush and this identity is not (it waited, looked, or verified on an
        # earlier day): never loading the page, which it may share with the script, is a few people's habit.
        out.contradicts.add("rush")
    read.pop("rush", None)


def _trait_evidence(name: str, value: str, k: int, known: int, n: int, p: float, ratio: float) -> Evidence:
    """A trait's share in the cohort against the others', as the explanation says it (of those the trait is known or
    compared for, said so when they are not all of the cohort)."""
    en, zh = _describe(name, value)
    of_en, of_zh = ("", "") if known == n else (f" of the {known} compared on it", f"在参与比较的 {known} 个中")
    return Evidence(name, ratio,
                    f"{k} of them {en} ({k / known:.0%}{of_en}, against {p:.1%} of the campaign's other voters; "
                    f"{_CAUTIOUS_EN} {ratio:.1f}× as common)",
                    f"其中 {k} 个{zh}（{of_zh}占 {k / known:.0%}，活动中其他投票者仅 {p:.1%}；"
                    f"{_CAUTIOUS_ZH} {ratio:.1f} 倍）")


def hurried(name: str, value: str, v: VoteSignal) -> bool:
    """A delay of a few seconds from verifying to voting by an identity that loaded the page, but not faster than a
    person can act on it (`INSTANT_BIN`): a person in a hurry (a live stream's viewers scan its QR code, type the
    code and tap the host's entry while the host talks) as much as a script. Such a delay supports other evidence;
    it is not a strong trait alone, however much commoner among the entry's voters: a crowd told at once is quicker
    than everyone else, and a live stream's whole audience is quick."""
    return name == "delay" and v.page and value in RUSH_BINS and value != INSTANT_BIN


# The bin after the instant one: a script's random sleep of a second or three after verifying straddles the edge.
_EDGE_BIN = "2-5s"


def _instant(t: Any, label: str, n: int, cohort: Any, others: Any, without: str | None) -> Evidence | None:
    """The entry cohort's identities that voted within 2 s of verifying (`INSTANT_BIN`), when they stand out as a
    strong trait does (`contrast_ratio`) and are a script's share of its quick newcomers (`_most_instant`): a script
    is at work among them, and those of them that voted a moment later (`_EDGE_BIN`), the page loaded, are its
    identities whose sleep came out longer, not people in a hurry. (A few people in a hundred tap within two seconds
    everywhere, having picked the count before verifying: two pieces of evidence only `instant_ratio` times as
    common, `_far_commoner`.)"""
    unseen, rushed = cohort(INSTANT_UNSEEN), cohort("rush=y")  # (the vote loaded the page: `_rushed_apart`)
    k = max(cohort(f"delay={INSTANT_BIN}") - unseen, 0)
    known, known_others = n - cohort("delay=?") - rushed, others("*", without) - others("delay=?", without)
    if label != "entry" or k < t.contrast_min_identities or known <= 0 or known_others < t.contrast_baseline_min / 4 \
            or not _most_instant(t, k, max(_quick(cohort) - rushed, 0)):
        return None
    p, ratio = contrast(k, known, others(f"delay={INSTANT_BIN}", without), known_others, t.contrast_prior,
                        t.contrast_sigmas)
    if ratio < t.contrast_ratio:
        return None
    return Evidence("instant", ratio,
                    f"beside them, {k} voted within 2 s of verifying, faster than a person can act on the page "
                    f"({k / known:.0%}, against {p:.1%} of the campaign's other voters; {_CAUTIOUS_EN} {ratio:.1f}× "
                    f"as common): the same script, its sleep a little longer",
                    f"与此同时有 {k} 个身份在验证后 2 秒内投票，快于常人在页面上的操作（占 {k / known:.0%}，活动中其他"
                    f"投票者仅 {p:.1%}；{_CAUTIOUS_ZH} {ratio:.1f} 倍）：同一脚本，只是等待稍长")


def _most_instant(t: Any, k: int, quick: int) -> bool:
    """`k` of the cohort's `quick` newcomers (those that voted within 15 s of verifying, `RUSH_BINS`) voted within
    2 s, a share of them no crowd has (`instant_min_share`, read a count's standard deviation low): on the public
    page a person may pick the count before verifying and tap the moment the code is accepted, a live stream's
    viewers one in ten of its quick audience; a script's sleep puts a third or more of its identities there. Read
    among the quick, not all the entry's newcomers: a script voting beside a popular entry's people, who take their
    time, is not diluted by them."""
    return bool(k - math.sqrt(k) >= t.instant_min_share * quick)


def _rushed_apart(v: VoteSignal, cohort: Any) -> tuple[int, int]:
    """For an identity that loaded the page, the cohort's identities that voted within 2 s without it
    (`signals.tapped_key`) and those in a rush (`VoteSignal.rush`: within 15 s, without the page), left out of the
    instant voters and of the newcomers its quick delay is read among: a one-string burst that never loads the page,
    voting the instant it verifies, is a script of its own (found by its rush), and beside it the entry's people who
    picked the count on the page and tapped the moment the code was accepted are a few in a hundred of those who
    looked, as everywhere (an outside check's company staff were held with such a burst). A script that loads the
    page has none in a rush; one of which half loads it is read on that half. (0, 0) for one that did not."""
    return (cohort(INSTANT_UNSEEN), cohort("rush=y")) if v.page else (0, 0)


def _quick(cohort: Any) -> int:
    """The cohort's newcomers that voted within 15 s of verifying (`RUSH_BINS`)."""
    return sum(cohort(f"delay={b}") for b in RUSH_BINS)


def _rushing(t: Any, n: int, cohort: Any, others: Any, without: str | None = None) -> bool:
    """The cohort's identities in a rush (`VoteSignal.rush`) stand out among its newcomers against the others'."""
    k = cohort("rush=y")
    known, known_others = n - cohort("rush=?"), others("*", without) - others("rush=?", without)
    if k < t.contrast_min_identities or known <= 0 or known_others < t.contrast_baseline_min / 4:
        return False
    ratio = contrast(k, known, others("rush=y", without), known_others, t.contrast_prior, t.contrast_sigmas)[1]
    return bool(ratio >= t.contrast_support)


def _unheld(ctx: Context, c: str, entry: str, x: str, day: datetime) -> int:
    """Identities that voted for `entry` today with trait value `x`, but those held or invalidated."""
    return max(ctx.counts.get((c, "entry_trait_day", f"{entry}|{x}", day), 0)
               - ctx.distinct.get((c, "held_entry_trait_day", f"{entry}|{x}", day), 0), 0)


def standout(v: VoteSignal, ctx: Context, name: str, value: str, others: Any) -> str | None:
    """Another entry of the batch most of whose identities today (and `contrast_ratio` times as large a share as
    the rest of the campaign's) have this habit, with at least `contrast_min_identities` of them: a farm of the
    same script striking at once, not yet held. It is left out of the vote's cohort's baseline for the habit: two
    surges in a rush at a campaign's opening each made the other's rush look common, and neither was found."""
    if name not in _TRIMMED:
        return None
    c, e, day, t = v.campaign_id, entry_key(v.entry_id), v.window(DAY), ctx.t
    memo = (c, e, f"{name}={value}", day.isoformat())
    if memo in ctx.standouts:
        return ctx.standouts[memo]
    best: tuple[float, str, int, int] | None = None
    for other in ctx.entries.get(c, frozenset()) - {e}:
        k = _unheld(ctx, c, other, f"{name}={value}", day)
        known = _unheld(ctx, c, other, "*", day) - (_unheld(ctx, c, other, f"{name}=?", day)
                                                     if name in MAYBE_UNKNOWN else 0)
        if k >= t.contrast_min_identities and known > 0 and (best is None or k / known > best[0]):
            best = (k / known, other, k, known)
    found = None
    if best is not None:
        share, other, k, known = best
        # (an identity that voted for both entries counts in each: the rest may come out empty, or below it)
        rest = others("*") - (others(f"{name}=?") if name in MAYBE_UNKNOWN else 0) - known
        if rest > 0 and share * 2 > 1 \
                and share >= t.contrast_ratio * (max(others(f"{name}={value}") - k, 0) + 0.5) / (rest + 1):
            found = other
    ctx.standouts[memo] = found
    return found


def _beyond(v: VoteSignal, ctx: Context, co: Cohort, n: int,
            traits: _Comparison) -> tuple[list[Evidence], Evidence | None]:
    """The evidence beyond the traits: the burst the vote came in; for an entry, its surge (or the same habits found
    for it earlier that day); for a network, being taken over (also returned apart)."""
    t, label = ctx.t, co.label
    extra: list[Evidence] = []
    timing = ctx.timing.get(v.vote_id, [])
    if timing:
        extra.append(max(timing, key=lambda x: x.ratio))
    # Beside a strong behavioural trait (a script's habit, not a place's), a surge that clearly stands out supports it.
    habit = any(name not in _PLACE_TRAITS for name, _, _ in traits.strong)
    if label == "entry" and (jump := surge(v, ctx, co, t.contrast_support if habit else None)):
        extra.append(jump)
    elif label == "entry" and habit and (before := _found_before(v, ctx, traits.strong + traits.support)):
        extra.append(before)
    taken = takeover(v, ctx, n) if label == "network" else None
    if taken:
        extra.append(taken)
    return extra, taken


def _place_trait(name: str, value: str, from_place: bool, strong: Evidence | None, spread: bool = False,
                 t: Thresholds | None = None) -> bool:
    """A trait a place gives everyone in it (`_PLACE_TRAITS`; for a vote `from_place`, `_TOLD_TOGETHER`, and any
    delay that only supports: people told which entry to back vote seconds after verifying, a few times as often as
    the campaign's crowd, who first look around; a script's seconds stand out far more. So is voting within 2 s
    (`INSTANT_BIN`) there unless it stands out as far as `instant_ratio`: a class group's link opening the school's
    entry with the count picked puts the button under every thumb, and one student in five or so taps it the moment
    the code is accepted, several times the crowd's share; a script's sleep puts half or all of its identities
    there; not from a data centre (`t` None: no class sits there, and a headless browser's hosts, ten identities
    each, stand out less than that from so few). A data centre's network, unless its votes for the entry came from
    many of its addresses: `spread`. `strong`: the trait's evidence when it is a strong trait, None when it only
    supports)."""
    if name in _PLACE_TRAITS or (name == "host" and not spread):
        return True
    if not from_place or name != "delay":
        return False
    if value == INSTANT_BIN:
        return t is not None and (strong is None or strong.ratio < t.instant_ratio)
    return value in _TOLD_TOGETHER or strong is None


def _behaviour(v: VoteSignal, t: Thresholds, here: bool, spread: bool, strong: list[Trait], support: list[Trait]
               ) -> bool:
    """Whether any of the cohort's traits is a script's habit rather than its place's (`_place_trait`; the quick taps
    of people told together at a place are not read so on a data centre's network)."""
    lenient = None if v.host else t
    return any(not _place_trait(x, y, here, ev, spread, lenient) for x, y, ev in strong) \
        or any(not _place_trait(x, y, here, None, spread, lenient) for x, y, _ in support)


def _judge(v: VoteSignal, ctx: Context, co: Cohort, n: int, traits: _Comparison) -> bool:
    """With the evidence beyond the traits (timing, a surge, a network taken over): hold, invalidate or nothing.
    Whether a finding was made."""
    t, label = ctx.t, co.label
    extra, taken = _beyond(v, ctx, co, n, traits)
    strong, support = traits.strong, traits.support
    # A supporting trait alone needs a second one (a campus a little quicker than everyone is no farm), unless it
    # is never loading the page on a network taken over: people on one network differ from everyone in how fast
    # they vote when told together, not in whether they open the page they vote on.
    never_looked = taken is not None and [(name, value) for name, value, _ in support] == [("page", "n")]
    # A kind of number the cohort shares with this one, a code platform's (`_platform`, a test of the whole cohort),
    # is its stock's: behaviour, and enough alone (a cloud-phone farm's carrier SIMs dilute its share, not its weight).
    platform = traits.platform if any(name == "num" for name, _, _ in strong + support) else None
    if not (strong or len(support) >= 2 or never_looked or platform):
        return False
    score = traits.score + sum(math.log(min(x.ratio, _TIMING_CAP)) for x in extra)
    # A network taken over is concentration: it is a piece of evidence beside a behavioural trait, but beside a
    # place's trait alone (one user agent: a unit's PCs installed from one image) it only weighs.
    here = label == "network" or _from_place(v, ctx)
    spread = _spread(v, ctx)
    behaviour = platform is not None or _behaviour(v, t, here, spread, strong, support)
    # So is an entry's surge, seen from a network where many identities back the entry: a company rallying at
    # lunch surges for its unit, from its offices, on its imaged PCs.
    place = label == "network" or (not behaviour and any(x.signal == "surge" for x in extra)
                                   and (_from_place(v, ctx) or _placed(v, ctx, co, n)))
    # A rush is two habits at once (the delay and never loading the page): two pieces, as they were apart. So is
    # changing fingerprints far commoner here than among everyone (`rotation_ratio`): an anti-detect browser's.
    rotates = any(name == "dev" and ev.ratio >= t.rotation_ratio for name, _, ev in strong)
    # So are coming back on a clock, voting from data centres and voting faster than a person can, far commoner here
    # (`_far_commoner`).
    # A network's cohort with only its place's traits is not made a farm by the entry's burst either: the burst is
    # of the entry's requests from everywhere (another farm's, say), and people told together at one place vote in
    # the same seconds (an office at lunch).
    together = ("surge", "burst") if label == "network" else ("surge",)
    # From a place, its traits together are one piece, the place: a unit's imaged PCs and its people's quick votes.
    seen = strong + support
    pieces = (1 if here and not behaviour else len(seen)) + any(name == "rush" for name, _, _ in seen) + rotates \
        + _far_commoner(traits, t, spread) \
        + sum(behaviour or not (x.signal == "network" or (x.signal in together and place)) for x in extra)
    if pieces < 2 or score < math.log(t.hold_odds):
        return False
    sure = len(strong) >= 2 and pieces >= 3 and score >= math.log(t.invalidate_odds)
    burst_only = False
    lone = (strong + support)[0][0] if len(strong + support) == 1 else None
    if label == "entry" and lone and (traits.shares[0] > t.single_trait_share or lone == "num"):
        # One trait that many honest voters have too (never looking at the page, say) picks out a farm only
        # inside its burst; across an entry's ten minutes it would take the entry's honest voters with it. So does
        # the kind of number alone: one of three kinds, a virtual operator's shared by a few in a hundred people.
        if not any(x.signal == "burst" for x in extra):
            return False
        burst_only = True
    chosen = _with_its_ua(v, t, traits, strong + support)
    # On a network taken over by a platform's stock with data SIMs, the farm's carrier SIMs are its own too; not on
    # one found by its addresses (a carrier's NAT pool, a town's people beside a farm's exits, has many too). So are
    # those sending the script's string in a rush (`_rush_string`).
    _found(v, ctx, co, burst_only, n, chosen, traits.contributing + extra + _stocked(platform) + _again(v, ctx, chosen),
           score, "invalidate" if sure else "hold", any_number=traits.its_ua or rotates or _rush_string(chosen)
           or bool(platform and taken and not platform[2]), few_strong=len(strong) < 2)
    return True


def _rush_string(chosen: list[Trait]) -> bool:
    """A finding on a browser string in a rush (a SIM pool router's): its carrier SIMs send it as its data SIMs do."""
    return {"ua", "rush"} <= {name for name, _, _ in chosen}


def _again(v: VoteSignal, ctx: Context, chosen: list[Trait]) -> list[Evidence]:
    """For a finding on a browser string in a rush with which the day's findings held enough of the entry's
    identities (`_held_with_string`): the explanation says so, and few identities together are enough
    (`too_few_together`); not weighed again. However few come in a later ten minutes, they are the same script's."""
    if not (_rush_string(chosen) and _held_with_string(v, ctx)):
        return []
    return [Evidence("found_string", 1.0,
                     "voters of this entry in a rush with this browser string had already been held that day (the "
                     "same script still at work, however few of its identities came in these ten minutes)",
                     "当天已有该作品使用此浏览器标识匆忙投票的投票者被暂扣（同一脚本仍在运行，无论这十分钟里来了多少个）")]


def _far_commoner(traits: _Comparison, t: Thresholds, spread: bool) -> int:
    """The further pieces of evidence (one each) of habits standing out far among the strong traits: coming back on
    a clock (`clock_ratio`: a few devoted fans in a hundred are ever that even in a day, a slow drip's identities
    all are); voting from data centres (`host_ratio`), from many of its network's addresses (`spread`: a
    cloud-phone farm's phones, each with its own; people on a VPN are a few in a hundred for every entry alike);
    and voting faster than a person can (`instant_ratio`), or a moment later beside a cohort that does (`_instant`)."""
    strong = traits.strong
    clocks = any(name == "clock" and ev.ratio >= t.clock_ratio for name, _, ev in strong)
    hosted = spread and any(name == "host" and ev.ratio >= t.host_ratio for name, _, ev in strong)
    delays = {value: ev.ratio for name, value, ev in strong if name == "delay"}
    instant = delays.get(INSTANT_BIN, 0.0) >= t.instant_ratio \
        or (_EDGE_BIN in delays and any(ev.signal == "instant" and ev.ratio >= t.instant_ratio
                                        for ev in traits.contributing))
    return clocks + hosted + instant


def _spread(v: VoteSignal, ctx: Context) -> bool:
    """A vote from a data centre's network whose votes for the entry that day came from `host_addresses_min` of its
    addresses or more: phones or servers each with their own, not a company's cloud gateway."""
    return v.host and _entry_addresses(v, ctx) >= ctx.t.host_addresses_min


def _entry_addresses(v: VoteSignal, ctx: Context) -> int:
    """The addresses of the vote's network the entry's votes came from that day."""
    return ctx.ids("entry_subnet_ips_day", f"{entry_key(v.entry_id)}|{v.subnet}", v)


def _with_its_ua(v: VoteSignal, t: Thresholds, traits: _Comparison, chosen: list[Trait]) -> list[Trait]:
    """The traits a finding keeps to, and the identity's user agent when it is clearly commoner in the cohort than
    elsewhere, or most of the cohort sends it, before enough identities send it to stand out: the script's one (not
    the entry's honest voters with the same habit in other browsers)."""
    if traits.string is not None and not any(name == "ua" for name, _, _ in chosen):
        k, rushed, strings = traits.string
        chosen.append(("ua", v.ua or "?", Evidence(
            "ua", 1.0, f"{k} of the {rushed} in a rush sent this browser string, one of the {strings} they send",
            f"其中 {k} 个（共 {rushed} 个匆忙投票者）使用此浏览器标识，他们共使用 {strings} 种")))
        return chosen
    ua = next((x for x in traits.contributing if x.signal == "ua"), None)
    if ua and (ua.ratio >= t.contrast_support or traits.here.get("ua", 0.0) >= 0.5) \
            and not any(name == "ua" for name, _, _ in chosen):
        chosen.append(("ua", v.ua or "?", ua))
    return chosen


def _stocked(platform: tuple[int, int, int] | None) -> list[Evidence]:
    """The explanation of a platform's kinds of number (`_platform`), when they were evidence."""
    if platform is None:
        return []
    resold, known, addresses = platform
    where_en = f", from {addresses} addresses of the one network (an office's people share its one or few)" \
        if addresses else ""
    where_zh = f"，来自同一网段的 {addresses} 个不同地址（单位员工共用一两个出口地址）" if addresses else ""
    return [Evidence("platform", 1.0,
                     f"{resold} of the {known} whose number is known verified with a virtual operator's or a data "
                     f"SIM's number ({resold / known:.0%}){where_en}, the stock of code-receiving platforms; people "
                     f"buy carriers' numbers nearly always",
                     f"号码可知的 {known} 个身份中有 {resold} 个使用虚拟运营商或上网卡号码验证"
                     f"（{resold / known:.0%}）{where_zh}，这是接码平台的主要号源；普通人几乎都用基础运营商号码")]


def takeover(v: VoteSignal, ctx: Context, n: int) -> Evidence | None:
    """Most of the identities the network showed today back this entry (with a behavioural trait, not alone:
    a loyal campus or office does the same)."""
    t = ctx.t
    population = ctx.ids("subnet_voters_day", v.subnet, v)
    share = n / population if population else 0.0
    if n < t.covote_min_identities or share < t.network_share:
        return None
    ratio = min(1.0 / max(1.05 - share, 0.05), _TIMING_CAP)
    return Evidence("network", ratio,
                    f"they are {n} of the {population} identities the network {v.subnet} showed that day ({share:.0%})",
                    f"他们占网段 {v.subnet} 当天出现的 {population} 个身份中的 {n} 个（{share:.0%}）")


def _found(v: VoteSignal, ctx: Context, co: Cohort, burst_only: bool, n: int,
           evidence: list[tuple[str, str, Evidence]], signals: list[Evidence], score: float, level: str,
           any_number: bool = False, few_strong: bool = True) -> None:
    """One finding per cohort, window and set of the script's traits. It covers the votes, in the cohort's windows,
    of the identities that voted for the entry (from the network) with every one of those traits, and their other
    votes of those windows too (camouflage). An entry cohort's ten minutes are covered from two minutes before they
    start (`_LOOKBACK_S`); on a clock, the whole day of the identities that voted for the entry on one (the clock
    shows only once they have come back several times: their first visits too). With a single trait and a burst,
    only the burst's seconds are covered. When the script sends one user agent most of the cohort sends, or changes
    fingerprints as no crowd does (`any_number`), its identities on other kinds of number are covered too: the
    farm's carrier SIMs beside its code platform's.
    The explanation names every signal that made the identities likelier to be scripted, strong or not, and, when it
    holds at odds that would invalidate, why (`few_strong`: fewer than two strong traits, else fewer than three
    pieces of evidence)."""
    label = co.label
    if burst_only:
        start, end = v.window(BURST), v.window(BURST) + timedelta(seconds=BURST)
    else:
        start = co.start - timedelta(seconds=_LOOKBACK_S if label == "entry" else 0)
        end = co.start + timedelta(seconds=co.length)
    traits = {name: value for name, value, _ in evidence}
    if "clock" in traits:  # the identities' whole day: one finding (and case) per entry and day
        start, end = v.window(DAY), v.window(DAY) + timedelta(seconds=DAY)
    whom_en, whom_zh = _whom(v, ctx, co, n, start, traits)
    odds = math.exp(score)
    ctx.put(Finding(
        "coordinated_cohort",
        f"{label}:{co.prefix.rstrip('|')}|" + "|".join(f"{k}={x}" for k, x in sorted(traits.items())),
        f"Of the {whom_en}: " + "; ".join(s.text for s in signals)
        + f". Together {odds:,.0f}× likelier under one script than among the campaign's other voters "
          f"(holds at {ctx.t.hold_odds:.0f}×; invalidates at {ctx.t.invalidate_odds:.0f}× with two strong traits among "
          f"three signals)" + ((_HELD_EN if few_strong else _HELD_PIECES_EN)
                               if level == "hold" and odds >= ctx.t.invalidate_odds else "") + ".",
        f"{whom_zh}中：" + "；".join(s.text_zh for s in signals)
        + f"。综合来看，出自同一脚本的可能性是活动中其他投票者的 {odds:,.0f} 倍"
          f"（{ctx.t.hold_odds:.0f} 倍起暂扣待核；"
          f"三项信号中有两项显著特征且达 {ctx.t.invalidate_odds:.0f} 倍起自动作废）"
        + ((_HELD_ZH if few_strong else _HELD_PIECES_ZH) if level == "hold" and odds >= ctx.t.invalidate_odds else "")
        + "。",
        {"cohort": label, "identities": n, "odds": round(odds, 1), "score": round(score, 3),
         "signals": [{"signal": s.signal, "ratio": round(s.ratio, 2)} for s in signals], "traits": traits},
        Selector(v.campaign_id, start, end, entry_id=v.entry_id,
                 subnet=v.subnet if label == "network" else None, voters_of_entry=True,
                 ua=traits.get("ua"), delay=traits.get("delay"),
                 page=False if "rush" in traits else None if "page" not in traits else traits["page"] == "y",
                 rush=True if "rush" in traits else None,
                 num=None if any_number else traits.get("num"),
                 rot=True if "dev" in traits else None, clock=True if "clock" in traits else None,
                 host=True if "host" in traits else None),
        level=level, entry_id=v.entry_id, score=score))


def _whom(v: VoteSignal, ctx: Context, co: Cohort, n: int, start: datetime,
          traits: dict[str, str]) -> tuple[str, str]:
    """Whom a finding speaks of, and which of their votes it covers (en, zh)."""
    if co.label == "network":
        # The finding stands for the network's day (`pipeline.standing`): its case grows with later such votes.
        return (f"{n} identities that voted for this entry from {v.subnet} on {day_text(v.cast_at)} (every vote "
                f"from the network that day of those with the traits below is covered, those cast later too)",
                f"{day_text(v.cast_at, zh=True)} 从网段 {v.subnet} 为该作品投票的 {n} 个身份"
                f"（该网段当天具有下列特征者的全部选票一并处理，此后投出的也包括在内）")
    if co.label == "day":
        return (f"{n} identities that voted for this entry on {day_text(v.cast_at)} (every vote that day of "
                f"those with the traits below is covered)",
                f"{day_text(v.cast_at, zh=True)} 为该作品投票的 {n} 个身份（其中具有下列特征者当天的全部选票一并处理）")
    since, since_zh, apart_s = hm(start), hm_zh(start), f"{ctx.t.apart_s:.0f}"
    covers = ("clock" if "clock" in traits else "" if start >= co.start
              else "before" if covered_whole(traits) else "apart")
    en = {"clock": f" (every vote from {since} that day of those that came back on a clock is covered)",
          "apart": f" (votes with the same traits from {since} are covered too, but not those of the few identities "
                   f"at either end that came apart from the rest by {apart_s} s or more)",
          "before": f" (votes with the same traits from {since} are covered too)", "": ""}[covers]
    zh = {"clock": f"（其中按固定间隔回来投票的身份当天自 {since_zh} 起的全部选票一并处理）",
          "apart": f"（{since_zh} 起具有相同特征的选票一并处理，首尾与其余相隔 {apart_s} 秒以上的少数身份除外）",
          "before": f"（{since_zh} 起具有相同特征的选票一并处理）", "": ""}[covers]
    return (f"{n} identities that voted for this entry in the 10 minutes from {hm(co.start)}{en}",
            f"{hm_zh(co.start)} 起的 10 分钟内为该作品投票的 {n} 个身份{zh}")


def covered_whole(traits: dict[str, str]) -> bool:
    """A finding on these traits covers its window whole (`apart` leaves no one out): two traits or more, a delay of
    more than seconds, or a clock (a slow drip's identities come as spread as the entry's own)."""
    return len(traits) != 1 or traits.get("delay") not in (None, *RUSH_BINS) or "clock" in traits


def apart(f: Finding, votes: list[VoteSignal], t: Thresholds) -> list[VoteSignal]:
    """The votes an entry cohort's finding on one trait covers, without those of the few identities that came apart
    from the rest. A script's identities arrive close together (a rush verifies and votes as one action; a farm's
    user agent surges); the entry's honest voters who happen to share the trait (a few people in a hundred vote from
    a deep link seconds after verifying, or send the same common browser string) arrive at the entry's own pace,
    some of them in the minutes before the script starts or after it stops, inside the finding's window. So at the
    ends of the cohort's identities (by their first vote for the entry matching the finding), a gap longer than
    `apart_s` and `_APART_PACE` times the cohort's median gap leaves out the identities beyond it when they are no
    more than `apart_max_identities` and the rest twice as many and at least half of `contrast_min_identities` (the
    identities a trait needs to stand out): too few to be a script's trait on their own, while a script's wave is
    larger. Kept whole: a finding on two traits or more (one user agent and a rush: a few honest people in a
    thousand share both, while a drip sent by the same script comes one identity at a time), one on a delay of more
    than seconds (a slow drip's identities come as spread as the entry's own), a network's day, a burst's seconds.

    A `device_shared` finding likewise, beyond a gap of ten minutes at least (the span its pace is read in): a phone
    serves its identities one after another, a farm's at its script's uneven pace, and where a fingerprint tells only
    a phone's model the few people who own the same model and backed the same entry that day come at their own
    times, one of them an hour after the phone's run (`device_voters_per_day` identities must be left)."""
    s = f.selector
    if f.reason_code == "device_shared":
        return _without_ends(votes, first_votes(s, votes), t, t.device_voters_per_day, TEN_MINUTES)
    if f.reason_code != "coordinated_cohort" or f.evidence.get("cohort") != "entry" or \
            covered_whole(f.evidence.get("traits", {})) or (s.end - s.start).total_seconds() <= BURST:
        return votes
    return _without_ends(votes, first_votes(s, votes), t, t.contrast_min_identities // 2, t.apart_s)


def _without_ends(votes: list[VoteSignal], first: dict[str, VoteSignal], t: Thresholds,
                  least: int, gap_s: float) -> list[VoteSignal]:
    """`votes` without those of the identities at either end of `first` that came apart from the rest (`apart`) by
    `gap_s` at least, when the rest are `least` or more and twice as many."""
    order = sorted(first, key=lambda x: first[x].cast_at)
    if len(order) < 3:
        return votes
    at = [first[x].cast_at.timestamp() for x in order]
    gaps = [b - a for a, b in itertools.pairwise(at)]
    far = max(gap_s, _APART_PACE * sorted(gaps)[len(gaps) // 2])
    most = t.apart_max_identities
    head = max((i + 1 for i, g in enumerate(gaps[:most]) if g > far), default=0) if most else 0
    tail = max((i + 1 for i, g in enumerate(reversed(gaps[-most:])) if g > far), default=0) if most else 0
    rest = len(order) - head - tail
    if head + tail == 0 or rest < max(least, 2 * (head + tail)):
        return votes
    out = set(order[:head]) | set(order[len(order) - tail:])
    return [v for v in votes if v.voter_id not in out]


def too_few_together(f: Finding, votes: list[VoteSignal], t: Thresholds) -> bool:
    """An entry cohort's finding on two traits or more whose identities with all of them (`votes`, as selected) are
    fewer than `contrast_min_identities`: each trait stood out among other identities — a unit's imaged PCs' one
    string and a farm's seconds from verifying to voting, for one entry in the same ten minutes — and the one or two
    who happen to have both are no script's (an outside check's office worker was held alone that way). A script's
    identities have its traits together. Not one on a string in a rush with which findings earlier that day held
    enough of the entry's identities (`_again`: a SIM pool router's last cards)."""
    if f.reason_code != "coordinated_cohort" or f.evidence.get("cohort") != "entry" \
            or len(f.evidence.get("traits", {})) < 2 \
            or any(s["signal"] == "found_string" for s in f.evidence.get("signals", ())):
        return False
    return len(first_votes(f.selector, votes)) < t.contrast_min_identities


def odd_ballots(f: Finding, votes: list[VoteSignal], t: Thresholds) -> list[VoteSignal]:
    """The votes an entry cohort's finding covers, without those of the few identities whose first covered vote for
    the entry gave another number of ballots than nearly all the others' did. A script sends its identities' requests
    alike (the day's whole ballot at once, say); a person gives theirs as they please, three now and seven later.
    When all but `apart_max_identities` (or `odd_ballots_share` of the identities, if more) of at least
    `contrast_min_identities` give one number, and four times as many as the rest, those who gave another are not
    the script's: the entry's honest voters who share its habit inside its minutes. A farm whose requests vary has
    no such number, and loses nothing here. Kept whole: a finding on three habits or more (a rush is two): a user
    agent and a rush are shared by a few honest people in a thousand, and an identity with all of a script's traits
    that gives other requests is its own camouflage, or another script of the same farm's."""
    s = f.selector
    traits = f.evidence.get("traits", {})
    if f.reason_code != "coordinated_cohort" or f.evidence.get("cohort") != "entry" \
            or len(traits) + ("rush" in traits) >= 3:
        return votes
    first = first_votes(s, votes)
    given = Counter(v.count for v in first.values())
    if len(given) < 2:
        return votes
    most, m = given.most_common(1)[0]
    if not _few_odd(m, len(first) - m, len(first), t):
        return votes
    out = {x for x, v in first.items() if v.count != most}
    return [v for v in votes if v.voter_id not in out]


def off_its_strings(f: Finding, votes: list[VoteSignal], t: Thresholds) -> list[VoteSignal]:
    """The votes an entry cohort's finding on a rush alone covers, without those of the few identities whose browser
    string no other identity it covers sends, when nearly all the others send strings some of them share. A SIM
    pool's routers or a farm's phones each send one string for many identities, and the first of its identities were
    found in a rush before any string of theirs was many enough to stand out; a person in a rush for the entry in
    those minutes sends their own. When at least `contrast_min_identities` share strings, four times as many as those
    alone, and those alone are no more than `apart_max_identities` (or `odd_ballots_share` of the identities), those
    alone are not the script's. A farm in everyone's browsers has strings of its own nearly one each, and loses
    nothing here; nor does a finding that names the string."""
    if f.reason_code != "coordinated_cohort" or f.evidence.get("cohort") != "entry" \
            or f.evidence.get("traits", {}) != {"rush": "y"}:
        return votes
    first = first_votes(f.selector, votes)
    strings = Counter(v.ua for v in first.values() if v.ua)
    alone = {x for x, v in first.items() if v.ua and strings[v.ua] == 1}
    shared = sum(1 for v in first.values() if v.ua and strings[v.ua] > 1)
    if not _few_odd(shared, len(alone), len(first), t):
        return votes
    return [v for v in votes if v.voter_id not in alone]


def _few_odd(alike: int, odd: int, identities: int, t: Thresholds) -> bool:
    """Among a finding's `identities`, the `odd` ones are a few beside the `alike` (`odd_ballots`, `off_its_strings`):
    some, at least `contrast_min_identities` alike and four times as many, and no more than `apart_max_identities`
    (or `odd_ballots_share` of the identities, if more)."""
    return 0 < odd <= max(t.apart_max_identities, t.odd_ballots_share * identities) \
        and alike >= max(t.contrast_min_identities, 4 * odd)


def off_its_networks(f: Finding, votes: list[VoteSignal], t: Thresholds) -> list[VoteSignal]:
    """The votes an entry cohort's finding covers, without those of identities alone on their network among them,
    when they are few: when all but `alone_share` of the identities it covers (at least `contrast_min_identities`)
    came through networks they share with others of them, the script runs on those few networks (a farm's /24s), and
    an identity on a network of its own is a person with the script's habits who backed the same entry in its
    minutes (an outside run's farm on three /24s took 5.9 % of its entry's honest votes with it that way). The
    shared networks must be few: `contrast_min_identities` identities each on average (a pool of sixty proxy /24s,
    five identities each, would lose its identities that came alone through one). A farm behind residential
    proxies, one identity a network, loses nothing here, nor one with a larger part on them. A finding on voting
    from data centres covers none alone on its network: its farm's phones share a data centre's networks, each with
    its own address (`host_addresses_min`), while a person on a VPN exit votes alone there. Nor does one on the
    script's browser string in a rush: a SIM pool's router renews its carrier address every few minutes, and its
    card in a new /24 is alone there until the next (a person in a rush beside it sends a string of their own)."""
    s = f.selector
    if f.reason_code != "coordinated_cohort" or f.evidence.get("cohort") != "entry" or (s.ua and s.rush):
        return votes
    first = first_votes(s, votes)
    if len(first) < t.contrast_min_identities:
        return votes
    per_network = Counter(v.subnet for v in first.values() if v.subnet)
    alone = {x for x, v in first.items() if not v.subnet or per_network[v.subnet] == 1}
    shared = [n for n in per_network.values() if n > 1]
    if not alone or (not s.host and (len(alone) > t.alone_share * len(first)
                                      or sum(shared) < t.contrast_min_identities * len(shared))):
        return votes  # (a pool of many proxy networks, a few identities each, is not a few networks)
    return [v for v in votes if v.voter_id not in alone]
