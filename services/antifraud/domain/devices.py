"""Devices: many identities voting from one device in a day (a phone farm, an emulator)."""

from __future__ import annotations

import math
from collections import Counter

from massline.localtime import local_time

from .context import Context
from .findings import Finding, first_votes, sel
from .registry import Level, Thresholds
from .signals import BURST, DAY, MINUTE, CounterKey, VoteSignal, binomial_tail, day_text, entry_key, upper_share

_PACE = "|fast"  # the subject of the finding at a farm's pace: device:<hash>|fast


def case_level(subject: str) -> Level:
    """The level a `device_shared` case was opened at, from its subject: invalidate at a farm's pace, else hold."""
    return "invalidate" if subject.endswith(_PACE) else "hold"


def reads(v: VoteSignal) -> set[CounterKey]:
    """The networks the vote's device voted from that day and in its minute, read also for a vote that came without
    a network; and the identities a finding held that day, in the campaign and of the vote's entry (`by_chance`)."""
    if not v.device_hash:
        return set()
    day = v.window(DAY)
    return {(v.campaign_id, "device_networks_day", v.device_hash, day),
            (v.campaign_id, "device_networks_minute", v.device_hash, v.window(MINUTE)),
            (v.campaign_id, "device_networks_burst", v.device_hash, v.window(BURST)),
            (v.campaign_id, "held_trait_day", "*", day),
            (v.campaign_id, "held_entry_trait_day", f"{entry_key(v.entry_id)}|*", day)}


def counter_reads(v: VoteSignal) -> set[CounterKey]:
    """Whether the vote's fingerprint was seen as many phones' earlier that day (`crowd`), whether `device_shared`
    found the device earlier that day, and whether it and how many fingerprints in the campaign reached its
    identities that day (`draws`)."""
    if not v.device_hash:
        return set()
    return {(v.campaign_id, dimension, v.device_hash, v.window(DAY))
            for dimension in ("device_class_day", "device_found_day", "device_tested_day", "device_beyond_day")} \
        | {(v.campaign_id, dimension, "*", v.window(DAY)) for dimension in ("devices_tested_day", "devices_beyond_day")}


def draws(v: VoteSignal, ctx: Context) -> int:
    """How many fingerprints in the campaign reached `device_voters_per_day` identities that day, the vote's among
    them (counted once each when it first does: `Context.marks`). Each is a draw of the chance test: where
    fingerprints are worth their name a few families' and farms' phones are, where they tell only a phone's model
    hundreds of values are, and one of hundreds of crowds backs its popular entry by a chance that would be beyond
    it for one."""
    c, day = v.campaign_id, v.window(DAY)
    return max(1, _once(ctx, (c, "device_tested_day", v.device_hash or "", day), (c, "devices_tested_day", "*", day)))


def _once(ctx: Context, mark: CounterKey, tally: CounterKey) -> int:
    """Marks `mark` for the day and adds one to `tally` the first time; `tally`'s count, this batch's included."""
    if not ctx.counts.get(mark, 0) and mark not in ctx.marks:
        ctx.marks[mark] = 1
        ctx.marks[tally] = ctx.marks.get(tally, 0) + 1
    return ctx.counts.get(tally, 0) + ctx.marks.get(tally, 0)


def crowd(v: VoteSignal, ctx: Context) -> bool:
    """The vote's fingerprint is sent by many phones alike, not by one device: it came through
    `device_class_networks` networks or more within one minute that day, or `device_class_burst` within ten seconds
    (a phone is on one network at a time, and a farm's phone hopping addresses between its identities changes them
    one identity at a time, each verifying and voting first). A fingerprint with too little entropy (one model and
    system) is sent by dozens of people at once in a busy campaign; the first such window marks it for the rest of
    the day (`Context.marks`), so that its requests are not one device's pace in its quieter minutes either, behind
    one carrier NAT (`velocity`)."""
    if not v.device_hash:
        return False
    c, day = v.campaign_id, v.window(DAY)
    mark = (c, "device_class_day", v.device_hash, day)
    if ctx.counts.get(mark, 0) or mark in ctx.marks:
        return True
    if ctx.distinct.get((c, "device_networks_minute", v.device_hash, v.window(MINUTE)), 0) \
            < ctx.t.device_class_networks and \
            ctx.distinct.get((c, "device_networks_burst", v.device_hash, v.window(BURST)), 0) \
            < ctx.t.device_class_burst:
        return False
    ctx.marks[mark] = 1
    return True


def by_chance(v: VoteSignal, ctx: Context, ids: int, backing: int) -> float:
    """The chance that `backing` or more of the device's `ids` identities would have voted for the vote's entry if they
    chose as the campaign's other identities did that day: the entry's share of those, read at its upper bound
    (`contrast_sigmas` standard deviations of a count). People who happen to send one fingerprint back the popular
    entries as often as everyone; a farm's phone backs its target every time. Identities a finding held that day are
    not among the others: a farm's other phones would lift its target's share (and so its chance) phone by phone."""
    c, e, day = v.campaign_id, entry_key(v.entry_id), v.window(DAY)
    held = ctx.distinct.get((c, "held_entry_trait_day", f"{e}|*", day), 0)
    entry = ctx.counts.get((c, "entry_trait_day", f"{e}|*", day), 0) - held - backing
    everyone = ctx.counts.get((c, "trait_day", "*", day), 0) - ctx.distinct.get((c, "held_trait_day", "*", day), 0) \
        - ids
    k, n = max(entry, 0), max(everyone, 0)
    if n < ctx.t.contrast_baseline_min:
        return 0.0  # too few others to say how people vote (a campaign's first minutes): the focus alone decides
    return binomial_tail(backing, ids, upper_share(k, n, ctx.t.contrast_sigmas))


def beyond_chance(v: VoteSignal, ctx: Context, ids: int, backing: int, tested: int) -> bool:
    """The device's identities back the entry beyond chance (`by_chance`), read among the `tested` fingerprints
    that could have (`draws`), or did earlier that day: then its later identities are the same device's, though the
    entry's share among the others may have grown since. Marked for the rest of the day when it does
    (`Context.marks`).

    Among the draws, as Benjamini and Hochberg read many tests at once: a value whose chance is at most
    `device_focus_chance` on its own is one of `k` such values that day, and is found when its chance is also at
    most k / tested of that. One lucky value among hundreds of models (k = 1) must be hundreds of times as unlikely;
    the twenty phones of one farm, each as unlikely on its own, are found as if each were alone."""
    c, day = v.campaign_id, v.window(DAY)
    found = (c, "device_found_day", v.device_hash or "", day)
    if ctx.counts.get(found, 0) or found in ctx.marks:
        return True
    chance = by_chance(v, ctx, ids, backing)
    if chance > ctx.t.device_focus_chance:
        return False
    k = _once(ctx, (c, "device_beyond_day", v.device_hash or "", day), (c, "devices_beyond_day", "*", day))
    if chance * tested > ctx.t.device_focus_chance * k:
        return False
    ctx.marks[found] = 1
    return True


def check(v: VoteSignal, ctx: Context) -> None:
    """Held at `device_voters_per_day` identities in a day that came through `device_networks` networks or more, and
    invalidated at `device_voters_fast` within ten minutes (aligned, or starting halfway) (a separate finding, so the
    device's votes of the day go from held to invalidated when the pace shows). A device many people take turns on
    stays where it is used: a community centre's tablet on the centre's broadband, an office PC on the office's line
    (a family's phone, carried between home and mobile data, serves two or three); a farm's phone hops addresses
    between its identities (proxies, airplane mode), about as many networks as identities (`device_hop_share`),
    while a village grid worker carrying her phone door to door keeps her carrier's address for a while: placed.
    On one network, a device is held only at `device_voters_placed` within ten minutes (people taking turns there
    each wait for their own code: a minute apart at the quickest), never invalidated on its own: identities sharing a
    fingerprint there may be people on identical machines (a unit's PCs of one image), as fast as a script's phone.
    Only when `device_focus` of them voted for this vote's entry, and people voting as the campaign's others did would
    back it that often with a chance of `device_focus_chance` at most (`by_chance`): a farm's phone works for its
    target, a family's or a community centre's tablet for theirs, while the identities behind a fingerprint that many
    phones send alike (one model and system, fingerprinted with too little entropy) vote for the entries as everyone
    does — four of five of them for the entry a third of everyone backs, one time in twenty; and where fingerprints
    tell only a phone's model, hundreds of values are each such a draw, so the chance is read against their number
    (`draws`; a device found earlier that day is not asked again: `beyond_chance`). A value seen as many phones' that
    day (`crowd`) is still read here: its identities backing one entry beyond chance are a group rallying on one
    popular phone, or a farm whose script sends one fingerprint through rotating proxies, and which it is the device
    cannot tell.
    The finding covers the day's votes of the identities that voted for the entry from the device (their votes for
    other entries too, and from other devices): not the people who merely send the same value from the same model
    of phone, whose votes go elsewhere."""
    if not v.device_hash:
        return
    t = ctx.t
    ids = ctx.distinct.get((v.campaign_id, "device_voters_day", v.device_hash, v.window(DAY)), 0)
    if ids < t.device_voters_per_day:
        return
    tested = draws(v, ctx)
    backing = ctx.distinct.get((v.campaign_id, "device_entry_voters_day", f"{v.device_hash}|{entry_key(v.entry_id)}",
                                v.window(DAY)), 0)
    if backing < t.device_focus * ids:
        return
    ten, start = max((ctx.distinct.get((v.campaign_id, "device_voters_ten", v.device_hash, s), 0), s)
                     for s in v.tens())
    networks = ctx.distinct.get((v.campaign_id, "device_networks_day", v.device_hash, v.window(DAY)), 0)
    placed = networks < max(t.device_networks, math.ceil(t.device_hop_share * ids))
    pace = t.device_voters_placed if placed else t.device_voters_fast
    fast = ten >= pace
    if (placed and not fast) or not beyond_chance(v, ctx, ids, backing, tested):
        return
    sure, since = fast and not placed, local_time(start, fmt="time", with_zone=False)  # on the day's clock
    pace_en = (f"; {ten} of them within the 10 minutes from {since}, faster than people "
               f"can pass a device on and each verify their own number (limit {pace - 1})" if fast else "")
    pace_zh = (f"；其中 {ten} 个在 {since} 起的 10 分钟内，快于多人轮流使用一台设备并各自验证"
               f"号码所需的时间（上限 {pace - 1} 个）" if fast else "")
    ctx.put(Finding("device_shared", f"device:{v.device_hash}" + (_PACE if sure else ""),
                    f"{ids} different identities voted from one device on {day_text(v.cast_at)} "
                    f"(limit {t.device_voters_per_day - 1}; a family shares a phone between two or three), "
                    f"through {networks} network{'' if networks == 1 else 's'} (a device people take turns on in one "
                    f"place shows one){pace_en}",
                    f"{day_text(v.cast_at, zh=True)} 有 {ids} 个不同身份使用同一设备投票"
                    f"（上限 {t.device_voters_per_day - 1} 个；一家人共用手机通常只有两三个身份），"
                    f"经由 {networks} 个网段（在固定场所轮流使用的设备只有一个）{pace_zh}",
                    {"identities": ids, "limit": t.device_voters_per_day - 1, "networks": networks,
                     "within_ten_minutes": ten},
                    sel(v, DAY, device_hash=v.device_hash, entry_id=v.entry_id, voters_of_entry=True),
                    level="invalidate" if sure else "hold"))


def other_browsers(f: Finding, votes: list[VoteSignal], t: Thresholds) -> list[VoteSignal]:
    """The votes a `device_shared` finding covers, without those of identities browsing with another user agent than
    nearly all the others. One phone's identities go through its one browser (or its script's one string); where a
    fingerprint tells only a phone's model, a person who happens to own the same model and back the same entry
    browses with their own, or with a client that sends none. When all but `apart_max_identities` (or a fifth, if
    more) of the identities that voted for the entry from the device sent one user agent, four times as many as the
    rest, those who sent another or none are left out. A farm whose identities send many strings, or leave most of
    them out, has no such one and loses nothing here; where a fingerprint is worth its name (the page's own id for
    its browser) nobody else sends it to be left out."""
    if f.reason_code != "device_shared":
        return votes
    first = first_votes(f.selector, votes)
    sent = Counter(v.ua for v in first.values() if v.ua)
    if not sent:
        return votes
    ua, m = sent.most_common(1)[0]
    odd = len(first) - m
    if not odd or m < 4 * odd or odd > max(t.apart_max_identities, len(first) // 5):
        return votes
    out = {x for x, v in first.items() if v.ua != ua}
    return [v for v in votes if v.voter_id not in out]


def verified_before(f: Finding, votes: list[VoteSignal], t: Thresholds) -> list[VoteSignal]:
    """The votes a `device_shared` finding covers, without those of identities verified long before (no delay from
    verifying to voting is known for them: an earlier day, or over an hour before) when nearly all the others that
    voted for the entry from the device verified just before voting. A farm's phone verifies each identity it runs,
    one after another; where a fingerprint tells only a phone's model, a person who owns the same model, verified on
    the campaign's first day and back to vote for the same entry, is not one of its identities. When all but
    `apart_max_identities` (or a fifth, if more) of them verified lately, four times as many as the rest, those
    verified long before are left out. A farm running aged identities has them all so, and loses nothing here."""
    if f.reason_code != "device_shared":
        return votes
    first = first_votes(f.selector, votes)
    lately = sum(v.delay is not None for v in first.values())
    old = {x for x, v in first.items() if v.delay is None and v.verified_at is not None}
    if not old or lately < 4 * len(old) or len(old) > max(t.apart_max_identities, len(first) // 5):
        return votes
    return [v for v in votes if v.voter_id not in old]
