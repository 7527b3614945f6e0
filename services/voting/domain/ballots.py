"""How a micro-batch of votes is decided: which count, which are refused, which repeat an earlier answer.

The vote path settles the votes that arrive within a couple of milliseconds together (see `batcher.py`). Given
the votes and what the database said about their voters (quota used today before the batch, per-entry use,
votes already in the log under the batch's keys), `decide_batch` says for each vote what its voter hears, and
returns the rows and events to write. It reads and writes nothing itself.

A voter notices three rules here:
- the daily quota: a vote whose count no longer fits what is left today is refused (`quota_exceeded`), and the
  votes after it in the same batch still count if they fit;
- the per-entry daily cap, where the campaign sets one (`entry_cap_exceeded`);
- the idempotency key, as the IETF Idempotency-Key draft has it: a key is the voter's own (per campaign), and
  names one request. The same key with the same request (a client retrying, in the same batch or later) gets
  the first answer back, the same status and the same body, and is counted once; the same key with another
  request is refused (`idempotency_key_reused`, 422) and changes nothing. What a vote means is its entry and
  its count (`same_request`); the device fingerprint, the address and the browser are signals about the
  sender, not part of the request, so a retry from another network or browser is still the same vote. Only
  accepted votes are kept in the log, all answered 201: a key whose vote was refused (quota, cap) names
  nothing yet and may be sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from massline.contracts import CastVote, VoteCast, network_shard
from massline.contracts.ids import uuid7

from .errors import IdempotencyKeyReused, VoteRefused, VotingError
from .votelog import RECEIPT_FIELDS, receipt

QuotaKey = tuple[str, str, date]  # campaign, voter, voting day
EntryQuotaKey = tuple[str, str, uuid.UUID, date]  # campaign, voter, entry, voting day
Answer = dict[str, Any]  # the JSON body a voter gets for an accepted vote
KeyOf = tuple[str, str, str]  # campaign, voter, idempotency key


@dataclass(slots=True)
class Ballot:
    """One vote as the vote path hands it to the batch: who, for what, how many, and the signals it carries."""

    campaign_id: str
    voter_id: str
    idempotency_key: str
    entry_id: uuid.UUID
    category_id: str
    count: int
    votes_per_day: int
    per_entry_daily_cap: int | None
    day: date
    cast_at: datetime
    ip_hash: str | None
    subnet: str | None
    device_hash: str | None
    identity_verified_at: datetime | None
    user_agent_hash: str | None = None
    page_viewed_at: datetime | None = None
    number_kind: str | None = None
    code_sent_at: datetime | None = None  # when the voter's verification code was sent (ticket claim `cs`)
    log_voter: str = ""  # the voter as the sealed vote log names them (`votelog.log_voter`), for the receipt


class Answered(NamedTuple):
    """What an accepted vote's voter hears: the status and the body; `replayed` when it repeats a key's first
    answer (the same status and body; the vote path says so in a header, and counts the vote once)."""

    status: int
    body: Answer
    replayed: bool = False


Outcome = Answered | VotingError  # the answer, or the refusal (VoteRefused, IdempotencyKeyReused)


@dataclass(frozen=True, slots=True)
class LoggedVote:
    """A vote under an idempotency key, as a later request with that key is judged: what it was for (entry and
    count) and the answer it got."""

    entry_id: uuid.UUID
    count: int
    answer: Answer


def same_request(ballot: Ballot, logged: LoggedVote) -> bool:
    """Whether the ballot asks what the logged vote asked: the same entry and the same count."""
    return ballot.entry_id == logged.entry_id and ballot.count == logged.count


# The fields of an accepted vote's answer, in the order it is given; a stored answer is given back in the same
# order (the log's jsonb keeps its own), so a replay is the first answer to the byte.
ANSWER_FIELDS = ("vote_id", "entry_id", "count", "remaining_today", "votes_per_day", "day", "receipt")


def repeat_of(ballot: Ballot, logged: LoggedVote) -> Outcome:
    """What a ballot whose key was already answered hears: that answer again, or `idempotency_key_reused`."""
    if not same_request(ballot, logged):
        return IdempotencyKeyReused()
    stored = logged.answer
    answer = {k: stored[k] for k in ANSWER_FIELDS if k in stored}
    answer.update((k, v) for k, v in stored.items() if k not in answer)
    if isinstance(answer.get("receipt"), dict):  # the log's jsonb orders the receipt's keys its own way
        answer["receipt"] = {k: answer["receipt"][k] for k in RECEIPT_FIELDS if k in answer["receipt"]}
    return Answered(201, answer, replayed=True)


class AcceptedVote(NamedTuple):
    """A vote that counts: its new id and the answer stored with it in the vote log."""

    ballot: Ballot
    vote_id: uuid.UUID
    answer: Answer


@dataclass(slots=True)
class BatchState:
    """What the database says about the voters of a batch, read (and locked) before deciding.

    `used`: votes used today before this batch, for every voter of the batch. `entry_used`: the same per entry,
    for the votes of campaigns with a per-entry cap. `known`: votes already in the log, by campaign, voter and
    idempotency key (only for the keys looked up). `taken`: voters whose quota row already holds the
    batch's whole demand (taken in one statement beforehand), so it is not written again.
    """

    used: dict[QuotaKey, int]
    entry_used: dict[EntryQuotaKey, int] = field(default_factory=dict)
    known: dict[KeyOf, LoggedVote] = field(default_factory=dict)
    taken: frozenset[QuotaKey] = frozenset()


@dataclass(slots=True)
class BatchDecision:
    """What each vote of the batch hears (in order), and what to write so that it holds.

    `quota_rows` and `entry_quota_rows` give the new `used` per quota row; `events` the VoteCast events with the
    campaign each goes to. Nothing to write when no vote counted.
    """

    outcomes: list[Outcome]
    accepted: list[AcceptedVote]
    quota_rows: list[tuple[str, str, date, int]]
    entry_quota_rows: list[tuple[str, str, uuid.UUID, date, int]]
    events: list[tuple[VoteCast, str]]


def decide_batch(batch: Sequence[Ballot], state: BatchState,
                 new_id: Callable[[], uuid.UUID] = uuid7) -> BatchDecision:
    """Decide every vote of the batch in arrival order, each against what the votes before it left."""
    used = dict(state.used)
    entry_used = dict(state.entry_used)
    known = state.known
    outcomes: list[Outcome] = []
    accepted: list[AcceptedVote] = []
    seen_in_batch: dict[KeyOf, LoggedVote] = {}
    for r in batch:
        key = (r.campaign_id, r.voter_id, r.idempotency_key)
        earlier = known.get(key) or seen_in_batch.get(key)
        if earlier is not None:
            outcomes.append(repeat_of(r, earlier))
            continue
        qkey = (r.campaign_id, r.voter_id, r.day)
        left = r.votes_per_day - used[qkey]
        if r.count > left:
            outcomes.append(VoteRefused("quota_exceeded", max(left, 0), r.votes_per_day))
            continue
        if r.per_entry_daily_cap:
            ekey = (r.campaign_id, r.voter_id, r.entry_id, r.day)
            if entry_used[ekey] + r.count > r.per_entry_daily_cap:
                outcomes.append(VoteRefused("entry_cap_exceeded", left, r.votes_per_day, r.per_entry_daily_cap))
                continue
            entry_used[ekey] += r.count
        used[qkey] += r.count
        vote_id = new_id()
        answer = dict(zip(ANSWER_FIELDS, (str(vote_id), str(r.entry_id), r.count, r.votes_per_day - used[qkey],
                                          r.votes_per_day, r.day.isoformat(),
                                          receipt(r.campaign_id, vote_id, r.log_voter, r.entry_id, r.count, r.day)),
                          strict=True))
        seen_in_batch[key] = LoggedVote(r.entry_id, r.count, answer)
        accepted.append(AcceptedVote(r, vote_id, answer))
        outcomes.append(Answered(201, answer))
    if not accepted:
        return BatchDecision(outcomes, accepted, [], [], [])
    touched = sorted({(a.ballot.campaign_id, a.ballot.voter_id, a.ballot.day) for a in accepted} - state.taken)
    return BatchDecision(
        outcomes, accepted,
        [(c, v, d, used[(c, v, d)]) for c, v, d in touched],
        [(c, v, e, d, entry_used[(c, v, e, d)]) for c, v, e, d in sorted(entry_used)],
        vote_events(accepted),
    )


def refused_keys(batch: Sequence[Ballot], decided: BatchDecision) -> list[KeyOf]:
    """The keys of the votes refused for the quota or the per-entry cap: looked up when the batch was decided
    without its keys, since such a vote may be a retry of one already in the log (a retry needs no room).

    Only those: they are never of a voter whose whole demand was taken at once, so deciding again with what
    their keys name changes nothing for such a voter. (A key reused within the batch is judged against the
    batch's own earlier vote; if that one is in the log, its insert finds it and the batch is settled again.)
    """
    return [(r.campaign_id, r.voter_id, r.idempotency_key)
            for r, outcome in zip(batch, decided.outcomes, strict=True) if isinstance(outcome, VoteRefused)]


def demand(batch: Iterable[Ballot]) -> dict[QuotaKey, int]:
    """Votes each voter asks for in the batch, a key repeated within the batch counted once."""
    asked: dict[QuotaKey, int] = {}
    seen: set[tuple[str, str, str]] = set()
    for r in batch:
        qkey = (r.campaign_id, r.voter_id, r.day)
        asked.setdefault(qkey, 0)
        if (r.campaign_id, r.voter_id, r.idempotency_key) not in seen:
            seen.add((r.campaign_id, r.voter_id, r.idempotency_key))
            asked[qkey] += r.count
    return asked


def voters_by_limit(batch: Iterable[Ballot]) -> list[tuple[int, list[QuotaKey]]]:
    """The voters of a batch grouped by their daily limit (ascending), each group in lock order (sorted)."""
    limits = {(r.campaign_id, r.voter_id, r.day): r.votes_per_day for r in batch}
    return [(limit, sorted(k for k, v in limits.items() if v == limit))
            for limit in sorted(set(limits.values()))]


def used_before_taking(taken: dict[QuotaKey, int], asked: dict[QuotaKey, int]) -> dict[QuotaKey, int]:
    """Votes used before the batch by voters whose whole demand was taken: the value after, less the demand.

    Deciding their votes from it gives each vote its own remaining count, and ends at the value already written.
    """
    return {qkey: after - asked[qkey] for qkey, after in taken.items()}


def vote_events(accepted: Iterable[AcceptedVote]) -> list[tuple[VoteCast, str]]:
    """One VoteCast per campaign and network shard, the votes in the order they were accepted.

    The shard is that of the vote's network (subnet, else address hash, else voter), so every vote
    from one network travels on one partition of the vote topic.
    """
    groups: dict[tuple[str, int], list[CastVote]] = {}
    for r, vote_id, _ in accepted:
        groups.setdefault((r.campaign_id, network_shard(r.subnet, r.ip_hash, r.voter_id)), []).append(CastVote(
            vote_id=vote_id, voter_id=r.voter_id, entry_id=r.entry_id, category_id=r.category_id, count=r.count,
            cast_at=r.cast_at, ip_hash=r.ip_hash, subnet=r.subnet, device_hash=r.device_hash,
            identity_verified_at=r.identity_verified_at, user_agent_hash=r.user_agent_hash,
            page_viewed_at=r.page_viewed_at, number_kind=r.number_kind, code_sent_at=r.code_sent_at))
    return [(VoteCast(network_shard=shard, votes=votes), campaign) for (campaign, shard), votes in groups.items()]
