"""Coordination: a cohort of identities backing one entry that behaves like one script, not like a crowd.

A crowd — a campus rallying for its own school, a company for its own unit, a carrier NAT, a popular entry at
its peak — is concentrated, but each person in it behaves like the campaign's other voters: the same mix of
user agents, the same human delays between verifying and voting, the same habit of looking at the page first.
A farm shares its script's traits. So each cohort is compared, trait by trait, with the campaign's identities
that did not vote for the entry that day:

- one entry's voters from one network over the day (a farm on a few subnets);
- one entry's voters anywhere in ten minutes (a surge of fresh identities from thousands of addresses).

For a vote, each of its traits gets a likelihood ratio: how much more common its value is in the cohort than
among the others (the cohort's share shrunk towards the others' for small cohorts). Delays are compared among
identities verified lately only, so a surge of honest newcomers is compared with other newcomers. Whether a
trait stands out is read cautiously (`contrast`). The identity's votes are held when at least one trait is
strong and a second piece of evidence supports it (another trait, a burst, a surge against the entry's
history, or a network taken over), or two traits each stand out, and the likelihood ratios multiply to
`hold_odds`. A network taken over is a piece of evidence only beside a behavioural trait (delay, page, changing
fingerprints): beside a place's trait alone (one user agent, one kind of number) it is a unit whose PCs were
installed from one image, and only weighs; so does the entry's surge, for a vote from a network where many
identities back the entry (the unit rallying at lunch from its offices). With two strong traits, three pieces
and `invalidate_odds`, they are invalidated on their own.
Among an entry's voters anywhere, an identity one of whose traits is clearly rarer in the cohort than elsewhere
is not the script's (an honest voter amid a farm) and is not held by it, unless two of its traits are the
script's strong ones; on one network most of whose identities back the entry, it is. When the entry's voters of
those ten minutes send several times fewer user agents per identity than the campaign's (`few_user_agents`: a
script's one or few), an identity whose user agent does not stand out among them is not the script's either,
whatever habits it shares (a newcomer voting from a deep link seconds after verifying). A trait that is missing
is never evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .context import Context, Evidence
from .findings import Finding, Selector, hm
from .signals import (
    BURST,
    DAY,
    DELAY_BINS,
    DELAY_TEXT_ZH,
    MAYBE_UNKNOWN,
    TEN_MINUTES,
    CounterKey,
    VoteSignal,
    entry_key,
    pair,
)

_MAX_RATIO = 1000.0
_MIN_RATIO = 0.05
_TIMING_CAP = 20.0
_CONTRIBUTES = 1.5  # a trait this much commoner in the cohort is named in the explanation
# An entry cohort's windows are aligned ten minutes: a surge that starts just before a window's edge leaves its
# first identities in the window before, too few there to stand out. Its finding also covers the identities with
# the script's traits that voted for the entry in the two minutes before its window.
_LOOKBACK_S = 120
# Traits a place gives everyone in it, not a script's behaviour: a unit's PCs share one browser build, an
# employer's group plan one operator's numbers.
_PLACE_TRAITS = frozenset({"ua", "num"})
_EXPECTED = 5.0  # identities a trait value would have in the cohort by the others' share, before its rarity counts

_TRAIT_EN = {"ua": "the same user agent", "delay": "voted {value} after verifying"}
_TRAIT_ZH = {"ua": "使用相同的浏览器标识", "delay": "在验证后 {value} 内投票"}
_PAGE_EN = {"n": "never loaded the campaign's page before voting", "y": "loaded the campaign's page"}
_PAGE_ZH = {"n": "投票前从未打开活动页面", "y": "投票前打开过活动页面"}
_NUM_EN = {"virtual": "verified with a virtual operator's number (170/171/162/165/167)",
           "data": "verified with a data or IoT SIM's number (145–149)", "mobile": "verified with a carrier's number"}
_DEV_EN = "changed device fingerprints between their votes that day"
_DEV_ZH = "当天投票时多次更换设备指纹"
_NUM_ZH = {"virtual": "使用虚拟运营商号码（170/171/162/165/167）验证",
           "data": "使用上网卡/物联网卡号码（145–149）验证", "mobile": "使用基础运营商号码验证"}


def cohorts(v: VoteSignal) -> list[tuple[str, str, str, int]]:
    """(label, dimension, key prefix, window) of each cohort the vote belongs to."""
    e = entry_key(v.entry_id)
    out = [("entry", "entry_trait_ten", f"{e}|", TEN_MINUTES)]
    if v.subnet:
        out.insert(0, ("network", "entry_subnet_trait_day", f"{pair(e, v.subnet)}|", DAY))
    return out


def reads(v: VoteSignal) -> set[CounterKey]:
    """Every trait counter the vote's judgement reads (the batch only adds to those of identities' first votes)."""
    c, e, day = v.campaign_id, entry_key(v.entry_id), v.window(DAY)
    values = ["*", *(f"{name}={value}" for name, value in v.traits()), *(f"{name}=?" for name in MAYBE_UNKNOWN),
              *(f"delay={b}" for b in faster(v.delay))]
    out: set[CounterKey] = {(c, "ids_ten", "*", v.window(TEN_MINUTES))}
    for x in values:
        out.add((c, "trait_day", x, day))
        out.add((c, "entry_trait_day", f"{e}|{x}", day))
        for _, dimension, prefix, length in cohorts(v):
            out.add((c, dimension, f"{prefix}{x}", v.window(length)))
    return out


_BIN_NAMES = [name for _, name in DELAY_BINS]


def faster(delay: str | None) -> list[str]:
    """The bin of a script's delay (seconds), when this delay is slower. A slower delay is compared among the
    identities that took longer than that (in the cohort and among the others): a farm voting within seconds
    among the campaign's other voters would otherwise make every slower bin look rarer there, and a campus quick
    to vote look like a script."""
    return _BIN_NAMES[:1] if delay in _BIN_NAMES[1:] else []


def contrast(k: int, known: int, k_others: int, known_others: int, prior: float,
             sigmas: float = 1.5) -> tuple[float, float]:
    """The others' share of a trait value, and how many times commoner it is in the cohort, read cautiously:
    the cohort's share at its lower bound and the others' at their upper bound (`sigmas` standard deviations of a
    count each), and a small cohort shrunk towards the others by `prior` pseudo-identities. Chance rarely makes a
    trait look rarer elsewhere or commoner here than the counts can show."""
    p = (k_others + 0.5) / (known_others + 1.0)
    p_high = min((k_others + 1 + sigmas * math.sqrt(k_others + 1)) / (known_others + 1.0), 1.0)
    q_low = (max(k - sigmas * math.sqrt(k), 0.0) + prior * p_high) / (known + prior)
    return p, min(max(q_low / p_high, _MIN_RATIO), _MAX_RATIO)


def surge(v: VoteSignal, ctx: Context, count: Any) -> Evidence | None:
    """The entry's share of the campaign's identities in these ten minutes against its share earlier that day
    (a change-point): a surge several times the entry's own history, read cautiously like a trait."""
    t, e = ctx.t, entry_key(v.entry_id)
    here, everyone = count("entry_trait_ten", f"{e}|*", TEN_MINUTES), count("ids_ten", "*", TEN_MINUTES)
    before = count("entry_trait_day", f"{e}|*", DAY) - here
    everyone_before = count("trait_day", "*", DAY) - everyone
    if here < t.surge_min_identities or everyone_before < t.contrast_baseline_min:
        return None  # no history to jump against (the campaign's first minutes)
    share_before, ratio = contrast(here, everyone, max(before, 0), everyone_before, t.contrast_prior,
                                   t.contrast_sigmas)
    if ratio < t.surge_ratio:
        return None
    return Evidence("surge", ratio,
                    f"the entry drew {here} of the campaign's {everyone} identities in the 10 minutes from "
                    f"{hm(v.window(TEN_MINUTES))} ({here / everyone:.0%}), against {share_before:.1%} earlier that "
                    f"day: {ratio:.1f}× its own history",
                    f"{hm(v.window(TEN_MINUTES))} 起的 10 分钟内，该作品获得活动 {everyone} 个身份中的 {here} 个"
                    f"（{here / everyone:.0%}），当天此前仅 {share_before:.1%}：是其自身历史的 {ratio:.1f} 倍")


def _describe(name: str, value: str) -> tuple[str, str]:
    if name == "page":
        return _PAGE_EN[value], _PAGE_ZH[value]
    if name == "num":
        return _NUM_EN[value], _NUM_ZH[value]
    if name == "dev":
        return _DEV_EN, _DEV_ZH
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
    here: dict[str, float] = field(default_factory=dict)  # the cohort's share of each of the identity's values
    score: float = 0.0  # log odds from the traits


def check(v: VoteSignal, ctx: Context) -> None:
    t = ctx.t
    c, e = v.campaign_id, entry_key(v.entry_id)

    def count(dimension: str, key: str, length: int) -> int:
        return ctx.counts.get((c, dimension, key, v.window(length)), 0)

    def others(x: str) -> int:
        """Identities of the campaign today that did not vote for this entry, with trait value `x`."""
        return max(count("trait_day", x, DAY) - count("entry_trait_day", f"{e}|{x}", DAY), 0)

    n_others = others("*")
    if n_others < t.contrast_baseline_min:
        return
    for label, dimension, prefix, length in cohorts(v):

        def cohort(suffix: str, dimension: str = dimension, prefix: str = prefix, length: int = length) -> int:
            return count(dimension, f"{prefix}{suffix}", length)

        n = cohort("*")
        if n < t.contrast_cohort_min:
            continue
        # rotating devices is counted for the campaign and the entry, not per network
        unweighed = _unweighed(v, ctx) | ({"dev"} if label == "network" else frozenset())
        traits = _compare(v, t, label, n, n_others, cohort, others, unweighed)
        if label == "entry" and v.ua and not any(name == "ua" for name, _, _ in traits.strong + traits.support) \
                and few_user_agents(v, ctx, n):
            traits.contradicts.add("ua")  # the script sends a few user agents, and this is not one of them
        # An identity with two of the script's strong traits is the script's whatever its number or page habit (a
        # farm mixing a code platform's numbers with carriers' must not hide its carrier half that way), and so is
        # one sending the user agent most of the cohort sends, when it stands out, whatever its number; not one
        # sending a user agent the script does not.
        its_ua = any(name == "ua" for name, _, _ in traits.strong) and traits.here.get("ua", 0.0) >= 0.5
        mine = len(traits.strong) >= 2 or (its_ua and traits.contradicts <= {"num"})
        if (traits.contradicts and (not mine or "ua" in traits.contradicts)) or not (traits.strong or traits.support):
            continue
        _judge(v, ctx, label, prefix, length, n, traits, count)


def few_user_agents(v: VoteSignal, ctx: Context, n: int) -> bool:
    """The entry's voters of these ten minutes sent `contrast_ratio` times fewer user agents per identity than the
    campaign's voters did: most of them share a script's few. (Distinct values grow more slowly than the identities
    sending them, so the smaller cohort is, if anything, read as the more varied.)"""
    mine = ctx.ids("entry_uas_ten", entry_key(v.entry_id), v)
    everyone = ctx.ids("uas_ten", "*", v)
    identities = ctx.c(v, "ids_ten", "*")
    return bool(mine and identities) and mine * ctx.t.contrast_ratio * identities < everyone * n


def _unweighed(v: VoteSignal, ctx: Context) -> frozenset[str]:
    """Traits not weighed for this vote. The kind of phone number is a place's as much as a script's: an employer's
    group plan puts one virtual operator's numbers in many hands in one office, while a code platform's numbers
    arrive from everywhere. So it is not weighed for a vote from a network where many identities back the entry."""
    if v.num and _from_place(v, ctx):
        return frozenset({"num"})
    return frozenset()


def _from_place(v: VoteSignal, ctx: Context) -> bool:
    """Many identities back the vote's entry from the vote's network that day (a campus, an office, a farm)."""
    return bool(v.subnet) and ctx.ids("entry_subnet_voters_day", f"{entry_key(v.entry_id)}|{v.subnet}", v) \
        >= ctx.t.covote_min_identities


def _compare(v: VoteSignal, t: Any, label: str, n: int, n_others: int, cohort: Any, others: Any,
             unweighed: frozenset[str] = frozenset()) -> _Comparison:
    """Each of the identity's traits in the cohort against the others: likelihood ratios and what stands out."""
    out = _Comparison()
    for name, value in v.traits():
        if value == "?" or name in unweighed:
            continue
        known = n - (cohort(f"{name}=?") if name in MAYBE_UNKNOWN else 0)
        known_others = n_others - (others(f"{name}=?") if name in MAYBE_UNKNOWN else 0)
        if name == "delay":
            known -= sum(cohort(f"delay={b}") for b in faster(value))
            known_others -= sum(others(f"delay={b}") for b in faster(value))
        if known <= 0 or known_others < t.contrast_baseline_min / 4:
            continue  # too few to compare (few identities verified lately, few user agents sent)
        k = cohort(f"{name}={value}")
        k_others = others(f"{name}={value}")
        out.here[name] = k / known
        p, ratio = contrast(k, known, k_others, known_others, t.contrast_prior, t.contrast_sigmas)
        likely = (k + t.contrast_prior * p) / (known + t.contrast_prior) / p  # the likelihood ratio itself
        if label == "entry" and known * p >= _EXPECTED and likely < 1 / t.contrast_support:
            out.contradicts.add(name)
        out.score += math.log(min(max(likely, _MIN_RATIO), _MAX_RATIO))
        if ratio < _CONTRIBUTES:
            continue
        en, zh = _describe(name, value)
        ev = Evidence(name, ratio,
                      f"{k} of them {en} ({k / known:.0%}, against {p:.1%} of the campaign's other voters: "
                      f"{ratio:.1f}× as common)",
                      f"其中 {k} 个{zh}（占 {k / known:.0%}，活动中其他投票者仅 {p:.1%}，为其 {ratio:.1f} 倍）")
        out.contributing.append(ev)
        if k >= t.contrast_min_identities and ratio >= t.contrast_ratio:
            out.strong.append((name, value, ev))
            out.shares.append(p)
        elif k >= t.contrast_min_identities and ratio >= t.contrast_support:
            out.support.append((name, value, ev))
            out.shares.append(p)
    return out


def _judge(v: VoteSignal, ctx: Context, label: str, prefix: str, length: int, n: int, traits: _Comparison,
           count: Any) -> None:
    """With the evidence beyond the traits (timing, a surge, a network taken over): hold, invalidate or nothing."""
    t = ctx.t
    extra: list[Evidence] = []
    timing = ctx.timing.get(v.vote_id, [])
    if timing:
        extra.append(max(timing, key=lambda x: x.ratio))
    if label == "entry" and (jump := surge(v, ctx, count)):
        extra.append(jump)
    taken = takeover(v, ctx, n) if label == "network" else None
    if taken:
        extra.append(taken)
    strong, support = traits.strong, traits.support
    # A supporting trait alone needs a second one (a campus a little quicker than everyone is no farm), unless it
    # is never loading the page on a network taken over: people on one network differ from everyone in how fast
    # they vote when told together, not in whether they open the page they vote on.
    never_looked = taken is not None and [(name, value) for name, value, _ in support] == [("page", "n")]
    if not (strong or len(support) >= 2 or never_looked):
        return
    score = traits.score + sum(math.log(min(x.ratio, _TIMING_CAP)) for x in extra)
    # A network taken over is concentration: it is a piece of evidence beside a behavioural trait, but beside a
    # place's trait alone (one user agent: a unit's PCs installed from one image) it only weighs.
    behaviour = any(name not in _PLACE_TRAITS for name, _, _ in strong + support)
    # So is an entry's surge, seen from a network where many identities back the entry: a company rallying at
    # lunch surges for its unit, from its offices, on its imaged PCs.
    place = label == "network" or (not behaviour and any(x.signal == "surge" for x in extra) and _from_place(v, ctx))
    pieces = len(strong) + len(support) + sum(
        behaviour or not (x.signal == "network" or (x.signal == "surge" and place)) for x in extra)
    if pieces < 2 or score < math.log(t.hold_odds):
        return
    sure = len(strong) >= 2 and pieces >= 3 and score >= math.log(t.invalidate_odds)
    window = length
    if len(strong + support) == 1 and label == "entry" and traits.shares[0] > t.single_trait_share:
        # One trait that many honest voters have too (never looking at the page, say) picks out a farm only
        # inside its burst; across an entry's ten minutes it would take the entry's honest voters with it.
        if not any(x.signal == "burst" for x in extra):
            return
        window = BURST
    _found(v, ctx, label, prefix, window, n, strong + support, traits.contributing + extra, score,
           "invalidate" if sure else "hold")


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


def _found(v: VoteSignal, ctx: Context, label: str, prefix: str, length: int, n: int,
           evidence: list[tuple[str, str, Evidence]], signals: list[Evidence], score: float, level: str) -> None:
    """One finding per cohort, window and set of the script's traits. It covers the votes, in the window, of the
    identities that voted for the entry (from the network) with every one of those traits, and their other
    votes of the window too (camouflage). An entry cohort's window is covered from two minutes before it starts
    (`_LOOKBACK_S`). With a single trait and a burst, only the burst's seconds are covered.
    The explanation names every signal that made the identities likelier to be scripted, strong or not."""
    start = v.window(length)
    lookback = timedelta(seconds=_LOOKBACK_S if length == TEN_MINUTES else 0)
    traits = {name: value for name, value, _ in evidence}
    whom_en = (f"{n} identities that voted for this entry from {v.subnet} on {v.cast_at:%Y-%m-%d} (UTC)"
               if label == "network" else
               f"{n} identities that voted for this entry in the 10 minutes from {hm(v.window(TEN_MINUTES))}"
               + (f" (votes with the same traits from {hm(start - lookback)} are covered too)" if lookback else ""))
    whom_zh = (f"{v.cast_at:%Y-%m-%d}（UTC）从网段 {v.subnet} 为该作品投票的 {n} 个身份"
               if label == "network" else f"{hm(v.window(TEN_MINUTES))} 起的 10 分钟内为该作品投票的 {n} 个身份"
               + (f"（{hm(start - lookback)} 起具有相同特征的选票一并处理）" if lookback else ""))
    odds = math.exp(score)
    ctx.put(Finding(
        "coordinated_cohort",
        f"{label}:{prefix.rstrip('|')}|" + "|".join(f"{k}={x}" for k, x in sorted(traits.items())),
        f"Of the {whom_en}: " + "; ".join(s.text for s in signals)
        + f". Together {odds:,.0f}× likelier under one script than among the campaign's other voters "
          f"(holds at {ctx.t.hold_odds:.0f}×; invalidates at {ctx.t.invalidate_odds:.0f}× with two strong traits among "
          f"three signals).",
        f"{whom_zh}中：" + "；".join(s.text_zh for s in signals)
        + f"。综合来看，出自同一脚本的可能性是活动中其他投票者的 {odds:,.0f} 倍"
          f"（{ctx.t.hold_odds:.0f} 倍起暂扣待核；"
          f"三项信号中有两项显著特征且达 {ctx.t.invalidate_odds:.0f} 倍起自动作废）。",
        {"cohort": label, "identities": n, "odds": round(odds, 1), "score": round(score, 3),
         "signals": [{"signal": s.signal, "ratio": round(s.ratio, 2)} for s in signals], "traits": traits},
        Selector(v.campaign_id, start - lookback, start + timedelta(seconds=length), entry_id=v.entry_id,
                 subnet=v.subnet if label == "network" else None, voters_of_entry=True,
                 ua=traits.get("ua"), delay=traits.get("delay"),
                 page=None if "page" not in traits else traits["page"] == "y", num=traits.get("num"),
                 rot=True if "dev" in traits else None),
        level=level, entry_id=v.entry_id, score=score))
