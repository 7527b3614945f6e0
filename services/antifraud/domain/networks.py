"""Networks: one network (a /24 or /64) concentrated on one entry.

A campus or a company votes for its own entry from a handful of addresses, and a carrier NAT puts thousands of
people behind one: concentration alone is no evidence of brushing. These rules only raise alerts for operators;
what holds votes is coordination (`coordination`), timing (`timing`) and devices (`devices`).
"""

from __future__ import annotations

import uuid
from typing import Any

from .context import Context
from .findings import WINDOW_ZH, Finding, hm, hm_zh, sel
from .registry import Thresholds
from .signals import (
    DAY,
    HOUR,
    MINUTE,
    TEN_MINUTES,
    CounterKey,
    VoteSignal,
    cautious_excess,
    day_text,
    entry_key,
)


def check(v: VoteSignal, ctx: Context) -> None:
    e = str(v.entry_id)

    def ids(dimension: str, key: str | None) -> int:
        return ctx.ids(dimension, key, v)

    if v.subnet:
        _focus(v, e, ctx.c, ids, ctx.t, ctx.put)
        mine = ctx.past.get(v.vote_id)
        for entry in (v.entry_id, *(mine.entries if mine else ())):
            _covoting(v, entry, ctx.c, ids, ctx.t, ctx.put)
    _fresh(v, e, ctx, ids)


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
                        f"{hm(v.window(length))}: {focus:.0%} of that network's votes and {share:.0%} "
                        f"of the entry's, from {voters} identities, {taken:.0%} of all the network showed today "
                        f"(limits {t.focus_share:.0%}, {t.entry_share:.0%}, {t.takeover_share:.0%}, "
                        f"at least {minimum} votes)",
                        f"{hm_zh(v.window(length))} 起的{WINDOW_ZH[suffix]}内，网段 {v.subnet} 向该作品投出 {to_entry} "
                        f"票，占该网段全部投票的 {focus:.0%}、该作品得票的 {share:.0%}，来自 {voters} 个身份，占该网段"
                        f"当天出现的全部身份的 {taken:.0%}（阈值 {t.focus_share:.0%}、{t.entry_share:.0%}、"
                        f"{t.takeover_share:.0%}，且不少于 {minimum} 票）",
                        {"votes": to_entry, "network_votes": from_subnet, "entry_votes": entry_total,
                         "focus": round(focus, 3), "entry_share": round(share, 3), "identities": voters,
                         "network_share_of_identities": round(taken, 3), "window": suffix},
                        sel(v, length, entry_id=v.entry_id, subnet=v.subnet), entry_id=v.entry_id))


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
                    f"{voters} of the {population} identities that voted from {v.subnet} on {day_text(v.cast_at)} "
                    f"({share:.0%}) voted for this entry, and it got {focus:.0%} of that network's votes "
                    f"({to_entry} of {from_subnet}); the people behind one network spread their votes, and even a "
                    f"campus voting for its own university does not all vote for it "
                    f"(limits {t.covote_share:.0%} of identities, {t.covote_focus:.0%} of votes, at least "
                    f"{t.covote_min_identities} identities and {t.covote_min_votes} votes)",
                    f"{day_text(v.cast_at, zh=True)} 从网段 {v.subnet} 投票的 {population} 个身份中有 {voters} 个"
                    f"（{share:.0%}）"
                    f"投给了该作品，该作品获得该网段 {focus:.0%} 的选票（{from_subnet} 票中的 {to_entry} 票）；"
                    f"同一网络背后的真实用户会分散投票，即使校园为本校投票，也不会人人都投给它"
                    f"（阈值：身份占比 {t.covote_share:.0%}、选票占比 {t.covote_focus:.0%}，且不少于 "
                    f"{t.covote_min_identities} 个身份、{t.covote_min_votes} 票）",
                    {"identities": voters, "network_identities": population, "share_of_identities": round(share, 3),
                     "votes": to_entry, "network_votes": from_subnet, "focus": round(focus, 3)},
                    sel(v, DAY, entry_id=entry, subnet=v.subnet, voters_of_entry=True), entry_id=entry))


def _fresh(v: VoteSignal, e: str, ctx: Context, ids: Any) -> None:
    c, t, put = ctx.c, ctx.t, ctx.put
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
                    f"{v.subnet}, voted for this entry in the 10 minutes from {hm(start)}, with {focus:.0%} of "
                    f"that network's fresh votes; they are {takeover(v, to_entry, ids):.0%} of the identities it "
                    f"showed today "
                    f"(limits {t.fresh_min_votes} identities, {t.fresh_focus_share:.0%}, {t.takeover_share:.0%})",
                    f"{hm_zh(start)} 起的 10 分钟内，网段 {v.subnet} 有 {to_entry} 个投票前不到 "
                    f"{t.fresh_window_s // 60} 分钟才完成验证的身份为该作品投票，占该网段新验证身份投票的 "
                    f"{focus:.0%}；这些身份占该网段当天出现的全部身份的 {takeover(v, to_entry, ids):.0%}"
                    f"（阈值 {t.fresh_min_votes} 个身份、{t.fresh_focus_share:.0%}、{t.takeover_share:.0%}）",
                    {"fresh_identities": to_entry, "votes": votes_to_entry, "network_fresh_votes": votes_from_subnet,
                     "focus": round(focus, 3), "network_share_of_identities": round(takeover(v, to_entry, ids), 3)},
                    sel(v, TEN_MINUTES, entry_id=v.entry_id, subnet=v.subnet, fresh_only=True), entry_id=v.entry_id))
    n = ids("fresh_entry", e)
    if n >= t.fresh_entry_alert and (shares := jump(v, ctx)) is not None:
        now, before = shares
        en = (f"{now:.0%} of the campaign's identities in those minutes against {before:.0%} earlier that day "
              f"(limit {t.fresh_entry_jump:g}×, or {t.fresh_entry_excess} identities beyond)" if before is not None
              else f"{now:.0%} of the campaign's identities in its first minutes")
        zh = (f"占这段时间全部投票身份的 {now:.0%}，而当天此前为 {before:.0%}"
              f"（阈值 {t.fresh_entry_jump:g} 倍，或多出 {t.fresh_entry_excess} 个身份）" if before is not None
              else f"占活动开始最初几分钟全部投票身份的 {now:.0%}")
        put(Finding("fresh_identity_entry_surge", f"entry:{e}",
                    f"{n} freshly verified identities voted for this entry in the 10 minutes from {hm(start)}, "
                    f"{en} (limit {t.fresh_entry_alert} identities)",
                    f"{hm_zh(start)} 起的 10 分钟内，有 {n} 个新验证的身份为该作品投票，{zh}"
                    f"（阈值 {t.fresh_entry_alert} 个身份）",
                    {"fresh_identities": n, "share_now": round(now, 3),
                     "share_before": None if before is None else round(before, 3)},
                    sel(v, TEN_MINUTES, entry_id=v.entry_id), entry_id=v.entry_id))


def reads(v: VoteSignal) -> set[CounterKey]:
    """The entry's identities and the campaign's in the vote's ten minutes and day (`jump`)."""
    c, e, day, start = v.campaign_id, entry_key(v.entry_id), v.window(DAY), v.window(TEN_MINUTES)
    return {(c, "entry_trait_ten", f"{e}|*", start), (c, "ids_ten", "*", start), (c, "trait_day", "*", day),
            (c, "entry_trait_day", f"{e}|*", day)}


def jump(v: VoteSignal, ctx: Context) -> tuple[float, float | None] | None:
    """The entry's share of the campaign's identities in the vote's (aligned) ten minutes, and earlier that day,
    when the first is at least `fresh_entry_jump` times the second, or `fresh_entry_excess` identities beyond it
    (`cautious_excess`: an entry at a third of everyone cannot double) — or the campaign has too few identities
    earlier that day to say (`contrast_baseline_min`; None for the share before); else None. In a busy hour every
    entry gets its fifty newcomers as it always does; an entry that a mention, a share or a farm suddenly sends
    them to jumps against its own history."""
    e, day, start, t, counts = entry_key(v.entry_id), v.window(DAY), v.window(TEN_MINUTES), ctx.t, ctx.counts
    mine = counts.get((v.campaign_id, "entry_trait_ten", f"{e}|*", start), 0)
    everyone = counts.get((v.campaign_id, "ids_ten", "*", start), 0)
    now = mine / everyone if everyone else 0.0
    earlier = counts.get((v.campaign_id, "trait_day", "*", day), 0) - everyone
    if earlier < t.contrast_baseline_min:
        return now, None
    mine_before = max(counts.get((v.campaign_id, "entry_trait_day", f"{e}|*", day), 0) - mine, 0)
    before = (mine_before + 1) / (earlier + 1)
    beyond = cautious_excess(mine, everyone, mine_before, earlier, t.contrast_sigmas) >= t.fresh_entry_excess
    return (now, before) if now >= t.fresh_entry_jump * before or beyond else None
