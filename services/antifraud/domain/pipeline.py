"""One batch through every rule: the same code in the consumer and in the evaluation (in memory)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from . import coordination, devices, networks, timing, turns, velocity
from .context import Context
from .findings import Finding, Selector, matches
from .registry import Thresholds
from .signals import (
    DAY,
    MINUTE,
    CounterKey,
    Earlier,
    ShardedKey,
    VoterPast,
    VoteSignal,
    acquired_increments,
    delay_bin,
    distinct_members,
    firsts,
    on_clock,
    voter_past,
    window_start,
)

# The signal families, in the order they are read: timing before coordination, which weighs its bursts.
FAMILIES = (velocity, devices, networks, timing, turns, coordination)


def past_reads(votes: Iterable[VoteSignal], past: dict[uuid.UUID, VoterPast],
               entries: dict[str, frozenset[str]] | None = None) -> tuple[set[CounterKey], set[CounterKey]]:
    """The counters and distinct counts read back without adding to them: co-voting is judged again, on each vote
    of an identity, for the entries it voted for earlier today from the same network; the coordination rule reads
    every trait counter of the vote's cohorts (the batch adds only to those of identities' first votes), and the
    batch's `entries`' counts of its habits (by default the votes' own entries); a device's networks are read for
    its votes that came without one."""
    votes = list(votes)
    counters, distinct = coordination.other_entry_reads(
        votes, coordination.batch_entries(votes) if entries is None else entries)
    memo: dict[tuple[Any, ...], Any] = {}
    for v in votes:
        its_counters, its_distinct = coordination.reads(v, memo)
        counters.update(its_counters, timing.reads(v), devices.counter_reads(v), networks.reads(v))
        distinct.update(its_distinct, devices.reads(v))
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
    again: Iterable[VoteSignal] = (),
    early: dict[EarlyKey, VoteSignal] | None = None,
    marks: dict[ShardedKey, int] | None = None,
    due: Iterable[timing.DueWave] = (),
    waves: dict[timing.WaveKey, timing.KeptWave] | None = None,
    sittings: dict[CounterKey, Collection[str]] | None = None,
) -> list[Finding]:
    """Every rule, read against the counters after the batch was added. One finding per subject and window.

    `again`: votes of earlier batches whose cohorts the coordination rule could not compare then (too few other
    identities in the campaign that day), judged by it again. `early` (the store's) keeps, for a later batch, each
    vote of this batch (and of `again`) still waiting for that baseline. `marks` receives the counters the rules
    marked for later batches (`Context.marks`). `due`: the waves kept by earlier batches whose seconds after have
    passed, judged now (`timing.judge_waves`); `waves` (the store's) forgets them (marks those of the sooner look)
    and keeps this batch's new ones. `sittings`: the members of the batch's browsers' sittings (`turns`)."""
    votes, again, due = list(votes), list(again), list(due)
    ctx = Context(counts, distinct, history, t, past or {}, entries=coordination.batch_entries(votes + again),
                  sittings=sittings or {})
    # An identity's requests per minute, from its history (which holds the batch): the identity's votes may come
    # from several networks, and so from several instances.
    for campaign, voter in {(v.campaign_id, v.voter_id) for v in votes}:
        for p in history.get((campaign, voter), ()):
            k = (campaign, voter, window_start(p[0], MINUTE))
            ctx.requests[k] = ctx.requests.get(k, 0) + 1
    for v in votes:
        for family in FAMILIES:
            family.check(v, ctx)
    for v in again:
        coordination.check(v, ctx)
    counted = timing.judge_waves(due, ctx, waves)
    timing.check_batch(votes, ctx)
    coordination.check_batch(votes, ctx)
    if marks is not None:
        for mark, n in ctx.marks.items():
            marks[(mark, 0)] = marks.get((mark, 0), 0) + n
    if early is not None:
        for v in again:
            early.pop(early_key(v), None)
            early.pop(pending_key(v), None)
        for kept, v in [(early_key(v), v) for v in ctx.early] + [(pending_key(v), v) for v in ctx.pending]:
            if len(early) < _EARLY_MAX or kept in early:
                early[kept] = v
    if waves is not None:
        for v, final, _, small in due:
            key = timing.wave_key(v, small)
            if final:
                waves.pop(key, None)
            else:  # the sooner look: the one on the 40 s after is still to come
                waves[key] = timing.KeptWave(v, looked=True, counted=counted.get(key))
        for v, small in ctx.waves:
            timing.keep_wave(waves, v, small)
    return list(ctx.found.values())


# A vote's entry and network: one vote each is kept to judge their cohorts again once the campaign has a baseline.
EarlyKey = tuple[str, str, str]
_EARLY_S = 900  # … for at most this long after it (of the batches' own time)
_PENDING_S = 3600  # … and one kept for its entry's history to be written (`pending_key`): a slow opening fills late
_EARLY_MAX = 10_000


def early_key(v: VoteSignal) -> EarlyKey:
    return v.campaign_id, str(v.entry_id), v.subnet or ""


def pending_key(v: VoteSignal) -> EarlyKey:
    """A vote kept for its entry's history to be written (`Context.pending`): one per entry and set of habits (the
    finding one makes covers the cohort's identities with them)."""
    return v.campaign_id, str(v.entry_id), "~" + "&".join(coordination.habits(v.traits()))


def early_again(store: Any, votes: list[VoteSignal]) -> list[VoteSignal]:
    """The votes kept by earlier batches (`judge`, in `store.early`) to judge again with this batch: those of its
    campaigns whose network the store holds (an instance that no longer does reads none of it). Kept ones older
    than `_EARLY_S` are forgotten: the cohort has been judged by its own later votes, or stayed small; those kept
    for an entry's history (`pending_key`) after `_PENDING_S`. A vote kept under both keys is judged once."""
    early: dict[EarlyKey, VoteSignal] = store.early
    latest = max(v.cast_at for v in votes)
    for k in [k for k, v in early.items()
              if (latest - v.cast_at).total_seconds() > (_PENDING_S if k[2].startswith("~") else _EARLY_S)]:
        del early[k]
    campaigns = {v.campaign_id for v in votes}
    return list({v.vote_id: v for v in early.values() if v.campaign_id in campaigns and store.holds(v)}.values())


async def detect(votes: list[VoteSignal], store: Any, t: Thresholds) -> list[tuple[Finding, list[VoteSignal]]]:
    """The whole pipeline for one batch, the same in the consumer and the evaluation (memory).

    A few round trips per batch whatever its size: load the windows of networks the instance does not hold yet,
    read each voter's recent votes (the gap to the identity's previous vote feeds the timer counters; the entries
    it voted for earlier today are judged again; its earlier votes tell in which scopes a vote is its first),
    store the votes, add to the shared counters, count distinct identities; one more fetches the votes of
    whatever tripped.
    """
    if not votes:
        return []
    await store.prepare(votes)
    since = min(v.cast_at for v in votes) - timedelta(seconds=DAY)
    history = with_batch(await store.history({(v.campaign_id, v.voter_id) for v in votes}, since), votes)
    votes = first_vote_delays(votes, history, t)
    past = voter_past(votes, history, t)
    first = firsts(votes, history)
    await store.remember(votes, past)
    again = early_again(store, votes)
    entries = coordination.batch_entries(votes + again)
    counter_reads, distinct_reads = past_reads(votes, past, entries)
    due = timing.waves_due(store, votes)
    for w, _, _, small in due:
        counter_reads |= timing.wave_reads(w, small)
    if again:
        again_counters, again_held = coordination.other_entry_reads(again, entries)
        counter_reads |= again_counters
        distinct_reads |= again_held
    for v in again:
        its_counters, its_distinct = coordination.reads(v)
        counter_reads |= its_counters
        distinct_reads |= {k for k, _ in distinct_members([v])} | its_distinct
    counts = await store.count_votes(votes, counter_reads, first,
                                     acquired_increments(votes, history, first, t))
    distinct = await store.count_identities(votes, past, distinct_reads)
    marks: dict[ShardedKey, int] = {}
    findings = judge(votes, counts, distinct, history, t, past, again, store.early, marks, due, store.waves,
                     store.sittings(turns.keys(votes)))
    kept = await selected(store, votes, [f for f in findings if f.decisive], t)
    decisive = [f for f, _ in kept]
    for k, n in coordination.remembered(decisive).items():
        marks[k] = marks.get(k, 0) + n
    if marks:
        await store.bump(marks)
    covered = [turns.in_turn(f, devices.verified_before(f, devices.other_browsers(f, coordination.off_its_networks(
        f, coordination.off_its_strings(f, coordination.odd_ballots(f, coordination.apart(f, vs, t), t), t), t), t),
        t)) for f, vs in kept]
    held, identities = coordination.held_members(zip(decisive, covered, strict=True), store.held)
    if held:
        await store.bump_distinct(held)
        store.counted_held(identities)
    return [(f, vs) for f, vs in zip(decisive, covered, strict=True)] + [(f, []) for f in findings if not f.decisive]


async def selected(store: Any, votes: list[VoteSignal], decisive: list[Finding],
                   t: Thresholds) -> list[tuple[Finding, list[VoteSignal]]]:
    """The batch's decisive findings and those standing from earlier batches that its votes fall in, each with the
    stored votes its selector covers; not an entry cohort's finding on traits fewer identities have together than
    make a trait (`coordination.too_few_together`)."""
    decisive = decisive + standing(store.standing, votes, decisive)
    found = await store.select([f.selector for f in decisive]) if decisive else []
    return [(f, vs) for f, vs in zip(decisive, found, strict=True) if not coordination.too_few_together(f, vs, t)]


# Decisive findings an instance keeps while their windows are open (a vote may come this late after its window).
_STANDING_MAX = 20_000
_STANDING_LATE = timedelta(minutes=5)
# … of the rules whose selector is a network's voters of an entry: not `device_shared`, whose device may be a phone
# model many people send alike, each judged anew.
_STANDS = frozenset({"coordinated_cohort", "synchronised_networks"})


def standing(kept: dict[tuple[str, str, str, datetime], Finding], votes: list[VoteSignal],
             made: list[Finding]) -> list[Finding]:
    """The decisive findings on a network's voters of an entry made by earlier batches, still open, that a vote of
    this batch matches and this batch did not make again: such a finding covers its network's day whole, including
    the votes that come after it was made (a farm's carrier SIMs on a network its platform numbers took over, or its
    stragglers once its traits no longer come in new votes to make it again). Not a finding on an entry's voters
    anywhere: those in its ten minutes after it was made are the entry's other voters as much as the script's, and
    the finding's trims (`coordination.off_its_networks`) were read from the cohort it judged. `kept` (the store's)
    then keeps this batch's such findings too, and forgets those whose windows closed. An instance keeps the
    findings it made (those of its networks); a restart forgets them, and the next vote that makes a finding again
    covers its window again."""
    earliest = min(v.cast_at for v in votes)
    for k in [k for k, f in kept.items() if f.selector.end + _STANDING_LATE < earliest]:
        del kept[k]
    again = {f.identity for f in made}
    index: dict[tuple[str, str, str], list[Finding]] = {}
    for k, f in kept.items():
        if k not in again:
            index.setdefault(_narrowest(f.selector), []).append(f)
    out: dict[tuple[str, str, str, datetime], Finding] = {}
    for v in votes:
        for key in ((v.campaign_id, "voter", v.voter_id), (v.campaign_id, "device", v.device_hash or ""),
                    (v.campaign_id, "subnet", v.subnet or ""), (v.campaign_id, "entry", str(v.entry_id)),
                    (v.campaign_id, "", "")):
            for f in index.get(key, ()):
                if f.identity not in out and matches(f.selector, v):
                    out[f.identity] = f
    for f in made:
        if f.reason_code in _STANDS and f.selector.subnet and (len(kept) < _STANDING_MAX or f.identity in kept):
            kept[f.identity] = f
    return list(out.values())


def _narrowest(s: Selector) -> tuple[str, str, str]:
    """The field a selector's votes are looked up by: its voter, device, network or entry, the first it has."""
    for name, value in (("voter", s.voter_id), ("device", s.device_hash), ("subnet", s.subnet),
                        ("entry", s.entry_id)):
        if value is not None:
            return s.campaign_id, name, str(value)
    return s.campaign_id, "", ""


def first_vote_delays(votes: list[VoteSignal], history: dict[tuple[str, str], list[Earlier]],
                      t: Thresholds) -> list[VoteSignal]:
    """Each vote's delay trait is its identity's: from verifying to the identity's first vote of the day (a
    script's identity votes seconds after verifying, and every one of its votes carries that). And whether the
    identity had voted from `rotate_devices` or more devices that day by this vote (`rotating`), and had come back
    on a clock (`signals.on_clock`)."""
    out = []
    for v in votes:
        earlier = history.get((v.campaign_id, v.voter_id), ())
        rot = rotating(v, earlier, t)
        day = v.window(DAY)
        clock = on_clock([p[0] for p in earlier if day <= p[0] <= v.cast_at], t)
        delay = v.delay
        if v.verified_at is not None:
            first = next((p[0] for p in earlier if p[0] >= day), v.cast_at)
            delay = delay_bin((first - v.verified_at).total_seconds(), t.fresh_delay_max_s)
        out.append(v if (delay, rot, clock) == (v.delay, v.rot, v.clock)
                   else replace(v, delay=delay, rot=rot, clock=clock, _starts=v._starts))
    return out


def rotating(v: VoteSignal, earlier: Iterable[Earlier], t: Thresholds) -> bool:
    """The identity voted from `rotate_devices` or more devices that day, up to this vote (its own included)."""
    day = v.window(DAY)
    seen = {v.device_hash} if v.device_hash else set()
    for at, _, _, device in earlier:
        if at > v.cast_at:
            break
        if at >= day and device:
            seen.add(device)
    return len(seen) >= t.rotate_devices


def with_batch(history: dict[tuple[str, str], list[Earlier]],
               votes: list[VoteSignal]) -> dict[tuple[str, str], list[Earlier]]:
    """Each voter's stored votes followed by the batch's own, in time order (in `history`, which every store
    builds afresh for the batch)."""
    out = history
    for v in votes:
        out.setdefault((v.campaign_id, v.voter_id), []).append((v.cast_at, v.entry_id, v.subnet, v.device_hash))
    for k in {(v.campaign_id, v.voter_id) for v in votes}:
        out[k].sort(key=lambda p: p[0])
    return out


__all__ = ["FAMILIES", "datetime", "detect", "early_again", "judge", "past_reads", "with_batch"]
