"""Turns: one browser voting for many identities one after another (代投: someone typing colleagues' numbers in turn
on one PC, each in a new private window, so that no fingerprint repeats).

A sitting runs from the moment an identity's code was sent (`VoteSignal.asked`) to its first vote from the browser
(an address and a user agent, `browser_sittings_hour`: a run is judged on its vote's hour and the one before). One
pair of hands at one browser has one sitting open at a time, and starts the next as soon as the last one voted;
people who merely send the same browser string from behind one address (an office's PCs installed from one image, a
café's) come at their own times, and their sittings overlap as soon as they come that often — while, coming
sparsely, the gaps between them grow.

A drawer of SIM cards voted one by one on an office phone (单位行业卡) is slower: each card swapped in, the phone
restarted, a minute or two between sittings. Its sittings are short, since the code arrives on the phone that asked
for it; a clerk taking villagers in turn on their phone waits for each code to be read off the villager's handset.
Such a phone's sittings are turns `turn_device_gap_s` apart when their median is `turn_own_code_s` or less.

A cloud phone (云手机) on an address of its own, given a new identity for each number it runs (一键新机: a new model
string, its browser's storage wiped), leaves no browser to read: its address takes the identities one at a time,
each from a device none of the others came from (`address_runs`, `address_turns`).
"""

from __future__ import annotations

import functools
import itertools
import statistics
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime
from typing import NamedTuple

from massline.localtime import local_time

from .context import Context
from .findings import Finding, sel
from .registry import Thresholds
from .signals import DAY, CounterKey, VoteSignal, day_text, entry_key, sitting_key


class Sitting(NamedTuple):
    asked: int  # unix seconds: the identity's code was sent
    voted: int  # … its first vote from the browser that day
    voter: str
    entry: str  # the entry of that vote
    device: str  # the page's fingerprint it sent ("" without one)


def keys(votes: Collection[VoteSignal]) -> set[CounterKey]:
    """The browsers and addresses whose sittings the batch's votes are judged on."""
    return {k for v in votes for h in (0, 1) for b in (True, False) if (k := sitting_key(v, h, b)) is not None}


def sittings(members: Collection[str]) -> list[Sitting]:
    """Each identity's sitting on the browser, in the order they began: from its code to its first vote there (only
    votes within `SITTING_MAX_S` of the code are members: a code asked on another day, the identity back later, is
    no sitting)."""
    first: dict[str, Sitting] = {}
    for m in members:
        s = _sitting(m)
        have = first.get(s.voter)
        if have is None or s.voted < have.voted:
            first[s.voter] = s
    return sorted(first.values())  # by when each began (then voted): a tuple's own order


@functools.lru_cache(maxsize=1 << 16)
def _sitting(member: str) -> Sitting:
    """A member read once (a busy address's sittings are read again by each batch that votes there)."""
    voter, asked, voted, entry, *device = member.split("|")
    return Sitting(int(asked), int(voted), voter, entry, device[0] if device else "")


def runs(ordered: list[Sitting], gap_s: int) -> list[list[Sitting]]:
    """The sittings in turns: each run's next one began after the last one voted, within `gap_s`. A sitting that
    began before the last one voted (two people at once) or long after it ends the run and starts another. Two
    sittings open at once are neither a turn (whose hands each was is not known: an insider's next sitting, a
    colleague's at her own PC on the same image): the one that began first ends its run without it, the other begins
    the next run only as the link to the sitting after it."""
    out: list[list[Sitting]] = []
    heads: set[int] = set()  # runs begun by a sitting that began while the last one was open
    tails: set[int] = set()  # runs whose last sitting was still open when the next one began
    for s in ordered:
        last = out[-1][-1] if out else None
        if last and 0 <= s.asked - last.voted <= gap_s:
            out[-1].append(s)
            continue
        if last and s.asked < last.voted:
            tails.add(len(out) - 1)
            heads.add(len(out))
        out.append([s])
    return [kept for i, r in enumerate(out) if (kept := r[i in heads:len(r) - (i in tails)])]


def own_code(run: list[Sitting], t: Thresholds) -> bool:
    """A run of one device's sittings that reads as a device reading its own codes (`own_code_runs`)."""
    return len(run) >= t.turn_own_code_min and len({s.device for s in run}) == 1 and bool(run[0].device) \
        and _quick(run, t.turn_own_code_s)


def _quick(run: list[Sitting], sitting_s: int) -> bool:
    """Three in four of the run's sittings took `sitting_s` or less (their upper quartile)."""
    return statistics.quantiles([s.voted - s.asked for s in run], n=4)[2] <= sitting_s


def own_code_runs(ordered: list[Sitting], gap_s: int, sitting_s: int, fewest: int) -> list[list[Sitting]]:
    """Each device's runs of `fewest` sittings or more, `gap_s` apart, three in four of them `sitting_s` or shorter
    (their upper quartile): the code read on the phone that asked for it, a SIM swapped in for each. (Not their
    median: a shared PC's people read their codes off their own phones, half a minute a sitting, and a run of eight
    of them read as it grows has a half as quick by chance now and then; three in four hardly.)"""
    by_device: dict[str, list[Sitting]] = {}
    for s in ordered:
        if s.device:
            by_device.setdefault(s.device, []).append(s)
    return [r for mine in by_device.values() if len(mine) >= fewest for r in runs(mine, gap_s)
            if len(r) >= fewest and _quick(r, sitting_s)]


def check(v: VoteSignal, ctx: Context) -> None:
    """Held (never invalidated: a community worker helping the elderly vote one by one looks the same) when the
    identity's sitting is one of a run of `turns_min` or more on its browser, or of `address_turns_min` or more on its
    address each from a phone not seen in the run before (`address_runs`), `turn_focus` of them voting for the vote's
    entry. The finding covers the run's identities' votes from the network that day (`in_turn`); one case per
    browser (address) and day."""
    for browser in (True, False):
        k, before = sitting_key(v, browser=browser), sitting_key(v, 1, browser)
        if k is None or before is None:
            continue
        turns: dict[str, list[Sitting]] | None = ctx.turns.get(k)
        if turns is None:  # the browser's (address's) runs, once per batch: each run's identities, to their run
            earlier, now = ctx.sittings.get(before, ()), ctx.sittings.get(k, ())
            n, t = len(earlier) + len(now), ctx.t
            # most browsers and addresses see a person or two; a crowd's address has sittings open all the time
            read = n >= min(t.turns_min, t.turn_own_code_min) if browser \
                else t.address_turns_min <= n <= t.address_turns_crowd
            ordered = sittings([*earlier, *now]) if read else []
            turns = ctx.turns[k] = browser_runs(ordered, ctx.t) if browser else address_runs(ordered, ctx.t)
        run = turns.get(v.voter_id)
        if run is None:
            continue
        code, subject = ("browser_turns", f"browser:{v.ip_hash}|{v.ua}") if browser \
            else ("address_turns", f"address:{v.ip_hash}")
        have = ctx.found.get((v.campaign_id, code, subject, v.window(DAY)))
        if have is None:
            _put(v, run, code, subject, ctx, frozenset())
        elif have.entry_id == v.entry_id and not (have.voters or frozenset()) >= {s.voter for s in run}:
            # One finding per browser and day, covering every run of the batch's votes for its entry: a batch whose
            # votes span the turn of the hour reads a longer run for its later ones.
            _put(v, run, code, subject, ctx, have.voters or frozenset())


def browser_runs(ordered: list[Sitting], t: Thresholds) -> dict[str, list[Sitting]]:
    """A browser's runs of turns, each identity's: sittings `turn_gap_s` apart (those of one device when it sent most
    of them), or on one device reading its own codes `turn_device_gap_s` apart."""
    out: dict[str, list[Sitting]] = {}
    for r in runs(ordered, t.turn_gap_s):
        kept = one_device(r, t.turn_focus) if len(r) >= t.turns_min else []
        if len(kept) >= t.turns_min:
            out.update((s.voter, kept) for s in kept)
    for r in own_code_runs(ordered, t.turn_device_gap_s, t.turn_own_code_s, t.turn_own_code_min):
        if len(r) >= t.turn_own_code_min:
            out.update((s.voter, r) for s in r if len(out.get(s.voter, ())) < len(r))
    return out


def address_runs(ordered: list[Sitting], t: Thresholds) -> dict[str, list[Sitting]]:
    """An address's runs of `address_turns_min` sittings or more, `address_turn_gap_s` apart, whatever the browser,
    none from a device another of them came from: a cloud phone on its own address running numbers one after
    another, a new phone (一键新机: a new model string, its storage wiped) for each. People behind one address come
    on their own phones at their own times: coming that often, their sittings overlap. A device that came back is a
    browser's (a clerk's phone, a shared PC: `browser_runs`)."""
    out: dict[str, list[Sitting]] = {}
    for r in runs(ordered, t.address_turn_gap_s):
        known = [s.device for s in r if s.device]
        if len(r) >= t.address_turns_min and len(set(known)) == len(known):
            out.update((s.voter, r) for s in r)
    return out


def one_device(run: list[Sitting], share: float) -> list[Sitting]:
    """A run most of whose sittings (`share`) came from one device (a PC's normal browser keeps its fingerprint)
    without those from another: a colleague at their own PC on the office's one image, whose sitting fell just
    before or after the run's, is not one of its turns. A run of private windows (a new fingerprint each, or none)
    has no such device and keeps every sitting."""
    sent = Counter(s.device for s in run if s.device)
    if not sent:
        return run
    device, n = sent.most_common(1)[0]
    return [s for s in run if s.device == device] if n >= share * len(run) else run


def _put(v: VoteSignal, run: list[Sitting], code: str, subject: str, ctx: Context, also: frozenset[str]) -> None:
    t, e = ctx.t, entry_key(v.entry_id)
    backing = sum(s.entry == e for s in run)
    if backing < t.turn_focus * len(run):
        return
    gaps = [b.asked - a.voted for a, b in itertools.pairwise(run)]
    sitting = statistics.median(s.voted - s.asked for s in run)
    start, end = (datetime.fromtimestamp(run[0].voted, UTC), datetime.fromtimestamp(run[-1].voted + 1, UTC))
    since, until = (local_time(start, fmt="time", with_zone=False), local_time(end, fmt="time", with_zone=False))
    gap = statistics.median(gaps)
    day, day_zh, n = day_text(v.cast_at), day_text(v.cast_at, zh=True), len(run)
    if code == "address_turns":
        limit = t.address_turns_min - 1
        en = (f"{n} identities voted from one address on {day} one after another from {since} to {until}, {backing} "
              f"of them for this entry, each from a device none of the others came from: each asked for its code "
              f"{gap:.0f} s (median) after the one before voted, never while another's was open, and voted "
              f"{sitting:.0f} s after asking (limit {limit} in a row; people behind one address, each on their own "
              f"phone, come at their own times and overlap: a cloud phone given a new identity for each number "
              f"comes one at a time)")
        zh = (f"{day_zh} {since} 至 {until}，同一地址依次有 {n} 个身份投票，其中 {backing} 个投给该作品，且各自使用"
              f"互不相同的设备：每个身份都在上一个身份投票后约 {gap:.0f} 秒（中位数）申请验证码，从不与其他身份的"
              f"验证过程重叠，申请后约 {sitting:.0f} 秒投票（连续上限 {limit} 个；同一出口后的人各用自己的手机、"
              f"各自投票，时间会彼此重叠；云手机每换一个号码就“一键新机”，才会逐个依次出现）")
    else:
        own = own_code(run, t)  # one device reading its own codes: a card swapped in for each
        limit = (t.turn_own_code_min if own else t.turns_min) - 1
        swap_en = ", all on one device, each code read on the device that asked for it" if own else ""
        swap_zh = "，均在同一设备上，验证码即由申请的设备本身读取" if own else ""
        where_en, where_zh = (" on one device reading its own codes", "同一设备读取自身验证码时") if own else ("", "")
        en = (f"{n} identities voted from one browser (one address, one user agent) on {day} one after another from "
              f"{since} to {until}, {backing} of them for this entry: each asked for its code {gap:.0f} s (median) "
              f"after the one before voted, never while another's was open, and voted {sitting:.0f} s after asking"
              f"{swap_en} (limit {limit} in a row{where_en}; a shared PC passes between a few people, and people "
              f"merely using the same browser behind one address come at their own times and overlap)")
        zh = (f"{day_zh} {since} 至 {until}，同一浏览器（同一地址、同一浏览器标识）依次有 {n} 个身份投票，其中 "
              f"{backing} 个投给该作品：每个身份都在上一个身份投票后约 {gap:.0f} 秒（中位数）申请验证码，从不与其他"
              f"身份的验证过程重叠，申请后约 {sitting:.0f} 秒投票{swap_zh}（{where_zh}连续上限 {limit} 个；共用电脑"
              f"通常只在几个人之间传递，只是浏览器相同、共用出口的人各自投票，时间会彼此重叠）")
    ctx.found[(v.campaign_id, code, subject, v.window(DAY))] = Finding(
        code, subject, en, zh,
        {"identities": n, "for_entry": backing, "limit": limit, "median_gap_s": round(gap, 1),
         "median_sitting_s": round(sitting, 1)},
        sel(v, DAY, entry_id=v.entry_id, subnet=v.subnet, voters_of_entry=True),
        entry_id=v.entry_id, voters=frozenset(s.voter for s in run) | also)


def in_turn(f: Finding, votes: list[VoteSignal]) -> list[VoteSignal]:
    """The votes a turns finding covers: those of the run's identities (others of the network who voted for the entry
    in those minutes are not in it)."""
    if f.reason_code not in ("browser_turns", "address_turns") or not f.voters:
        return votes
    return [v for v in votes if v.voter_id in f.voters]

