"""How a micro-batch of votes is decided, without a database: what each voter hears and what is written."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime

from massline.contracts import network_shard
from services.voting.domain import (
    Answered,
    Ballot,
    BatchDecision,
    BatchState,
    IdempotencyKeyReused,
    LoggedVote,
    VoteRefused,
    VotingError,
    decide_batch,
    demand,
    refused_keys,
    same_request,
    used_before_taking,
    voters_by_limit,
)

DAY = date(2026, 11, 20)
ENTRY, OTHER = uuid.UUID(int=1), uuid.UUID(int=2)


def _ballot(voter: str, key: str, count: int = 1, *, cap: int | None = None, entry: uuid.UUID = ENTRY,
            limit: int = 10, subnet: str | None = "10.0.0.0/24", device: str | None = None) -> Ballot:
    return Ballot(campaign_id="c", voter_id=voter, idempotency_key=key, entry_id=entry, category_id="gov",
                  count=count, votes_per_day=limit, per_entry_daily_cap=cap, day=DAY,
                  cast_at=datetime(2026, 11, 20, 8, tzinfo=UTC), ip_hash=f"h-{voter}", subnet=subnet,
                  device_hash=device, identity_verified_at=None)


def _ids() -> itertools.count[int]:
    return itertools.count(100)


def _decide(batch: list[Ballot], state: BatchState) -> tuple[list[object], BatchDecision]:
    counter = _ids()
    decided = decide_batch(batch, state, new_id=lambda: uuid.UUID(int=next(counter)))
    heard: list[object] = []
    for outcome in decided.outcomes:
        if isinstance(outcome, VoteRefused):
            heard.append((outcome.code, outcome.remaining_today))
        elif isinstance(outcome, VotingError):
            heard.append(outcome.code)
        else:
            heard.append((outcome.status, outcome.body["remaining_today"]) + (("replayed",) if outcome.replayed
                                                                                else ()))
    return heard, decided


def test_votes_count_until_the_daily_quota_is_used_and_the_rest_are_refused_with_what_is_left() -> None:
    batch = [_ballot("v", "a", 4), _ballot("v", "b", 3), _ballot("v", "c", 2), _ballot("v", "d", 1)]
    heard, decided = _decide(batch, BatchState(used={("c", "v", DAY): 2}))
    # 8 left: 4 and 3 fit (1 left), 2 does not, the last single vote still does.
    assert heard == [(201, 4), (201, 1), ("quota_exceeded", 1), (201, 0)]
    assert decided.quota_rows == [("c", "v", DAY, 10)]
    assert len(decided.accepted) == 3


def test_a_voter_with_the_day_used_up_is_refused_with_nothing_left_and_nothing_is_written() -> None:
    heard, decided = _decide([_ballot("v", "a", 1)], BatchState(used={("c", "v", DAY): 10}))
    assert heard == [("quota_exceeded", 0)]
    assert (decided.accepted, decided.quota_rows, decided.events) == ([], [], [])


def test_the_same_key_twice_in_one_batch_is_counted_once_and_answered_the_same() -> None:
    batch = [_ballot("v", "k", 3), _ballot("v", "k", 3), _ballot("v", "other", 1)]
    heard, decided = _decide(batch, BatchState(used={("c", "v", DAY): 0}))
    assert heard == [(201, 7), (201, 7, "replayed"), (201, 6)]
    first, again = decided.outcomes[0], decided.outcomes[1]
    assert isinstance(first, Answered) and isinstance(again, Answered)
    # The same status and the same body: nothing in the body tells a replay apart.
    assert (again.status, again.body) == (first.status, first.body) and not first.replayed
    assert decided.quota_rows == [("c", "v", DAY, 4)]


STORED = {"vote_id": "x", "entry_id": str(ENTRY), "count": 2, "remaining_today": 8, "votes_per_day": 10,
          "day": DAY.isoformat()}


def test_a_retry_of_a_key_already_in_the_log_gets_the_stored_answer_and_costs_no_vote() -> None:
    state = BatchState(used={("c", "v", DAY): 2}, known={("c", "v", "r1"): LoggedVote(ENTRY, 2, STORED)})
    heard, decided = _decide([_ballot("v", "r1", 2), _ballot("v", "r2", 1)], state)
    assert decided.outcomes[0] == Answered(201, STORED, replayed=True)
    assert heard[1] == (201, 7)
    assert [a.ballot.idempotency_key for a in decided.accepted] == ["r2"]


def test_a_key_in_the_log_sent_with_another_entry_or_count_is_refused_and_changes_nothing() -> None:
    state = BatchState(used={("c", "v", DAY): 2}, known={("c", "v", "r1"): LoggedVote(ENTRY, 2, STORED)})
    heard, decided = _decide([_ballot("v", "r1", 2, entry=OTHER), _ballot("v", "r1", 3)], state)
    assert heard == ["idempotency_key_reused", "idempotency_key_reused"]
    assert all(isinstance(o, IdempotencyKeyReused) for o in decided.outcomes)
    assert (decided.accepted, decided.quota_rows, decided.entry_quota_rows, decided.events) == ([], [], [], [])


def test_a_key_reused_within_one_batch_for_another_vote_is_refused_and_the_first_still_counts() -> None:
    batch = [_ballot("v", "k", 2), _ballot("v", "k", 2, entry=OTHER), _ballot("v", "k", 1), _ballot("v", "k", 2)]
    heard, decided = _decide(batch, BatchState(used={("c", "v", DAY): 0}))
    assert heard == [(201, 8), "idempotency_key_reused", "idempotency_key_reused", (201, 8, "replayed")]
    assert decided.quota_rows == [("c", "v", DAY, 2)]
    assert [a.ballot.entry_id for a in decided.accepted] == [ENTRY]


def test_the_meaning_of_a_vote_is_its_entry_and_count_not_the_signals_it_carries() -> None:
    logged = LoggedVote(ENTRY, 2, STORED)
    # Retried from another network, another device: the same request.
    assert same_request(_ballot("v", "k", 2, subnet="192.168.0.0/24", device="another-device"), logged)
    assert not same_request(_ballot("v", "k", 2, entry=OTHER), logged)
    assert not same_request(_ballot("v", "k", 1), logged)


def test_a_key_belongs_to_its_voter_and_campaign() -> None:
    # Another voter's vote under the same key is that voter's own: decided as new.
    state = BatchState(used={("c", "w", DAY): 0}, known={("c", "v", "k"): LoggedVote(ENTRY, 2, STORED)})
    heard, _ = _decide([_ballot("w", "k", 1, entry=OTHER)], state)
    assert heard == [(201, 9)]


def test_the_keys_of_votes_refused_for_room_are_the_ones_to_look_up_after_a_decision_without_keys() -> None:
    batch = [_ballot("v", "a", 9), _ballot("v", "b", 2), _ballot("v", "c", 1), _ballot("v", "c", 3)]
    heard, decided = _decide(batch, BatchState(used={("c", "v", DAY): 0}))
    assert heard[1:] == [("quota_exceeded", 1), (201, 0), "idempotency_key_reused"]
    # Not "c": a key reused within the batch is judged against the batch's own vote, whose insert finds a logged one.
    assert refused_keys(batch, decided) == [("c", "v", "b")]
    # "b" is in the log with the same request: decided again, it is the stored answer and costs nothing.
    again = decide_batch(batch, BatchState(used={("c", "v", DAY): 0},
                                           known={("c", "v", "b"): LoggedVote(ENTRY, 2, STORED)}))
    assert again.outcomes[1] == Answered(201, STORED, replayed=True)
    assert refused_keys(batch, again) == []


def test_the_per_entry_cap_refuses_beyond_it_while_other_entries_still_take_votes() -> None:
    batch = [_ballot("v", "a", 2, cap=3), _ballot("v", "b", 2, cap=3), _ballot("v", "c", 2, cap=3, entry=OTHER)]
    state = BatchState(used={("c", "v", DAY): 0},
                       entry_used={("c", "v", ENTRY, DAY): 0, ("c", "v", OTHER, DAY): 0})
    heard, decided = _decide(batch, state)
    assert heard == [(201, 8), ("entry_cap_exceeded", 8), (201, 6)]
    refusal = decided.outcomes[1]
    assert isinstance(refusal, VoteRefused)
    assert (refusal.per_entry_daily_cap, refusal.votes_per_day) == (3, 10)
    assert decided.entry_quota_rows == [("c", "v", ENTRY, DAY, 2), ("c", "v", OTHER, DAY, 2)]


def test_voters_taken_at_once_get_each_vote_its_own_remaining_count_and_are_not_written_again() -> None:
    batch = [_ballot("room", "a", 3), _ballot("room", "b", 2), _ballot("room", "a", 3), _ballot("near", "n", 1)]
    asked = demand(batch)
    assert asked == {("c", "room", DAY): 5, ("c", "near", DAY): 1}  # the repeated key counted once
    taken = {("c", "room", DAY): 5}  # the row now holds the batch's 5 votes
    used = {("c", "near", DAY): 8, **used_before_taking(taken, asked)}
    heard, decided = _decide(batch, BatchState(used=used, taken=frozenset(taken)))
    assert heard == [(201, 7), (201, 5), (201, 7, "replayed"), (201, 1)]
    assert decided.quota_rows == [("c", "near", DAY, 9)]


def test_voters_are_grouped_by_daily_limit_in_lock_order() -> None:
    batch = [_ballot("b", "1", limit=20), _ballot("a", "2", limit=10), _ballot("c", "3", limit=10)]
    assert voters_by_limit(batch) == [(10, [("c", "a", DAY), ("c", "c", DAY)]), (20, [("c", "b", DAY)])]


def test_accepted_votes_travel_one_event_per_network_shard_in_acceptance_order() -> None:
    batch = [_ballot("v1", "a", subnet="10.0.0.0/24"), _ballot("v2", "b", subnet="10.0.1.0/24"),
             _ballot("v3", "c", subnet="10.0.0.0/24")]
    _, decided = _decide(batch, BatchState(used={("c", v, DAY): 0 for v in ("v1", "v2", "v3")}))
    events = decided.events
    assert {campaign for _, campaign in events} == {"c"}
    by_shard = {e.network_shard: [v.voter_id for v in e.votes] for e, _ in events}
    assert by_shard == {network_shard("10.0.0.0/24", None, ""): ["v1", "v3"],
                        network_shard("10.0.1.0/24", None, ""): ["v2"]}
