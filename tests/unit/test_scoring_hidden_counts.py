"""While a campaign hides vote counts, what scoring shows the public and announces leaves them out."""

from __future__ import annotations

from services.scoring.domain import counts_hidden, may_read_counts, without_counts


def test_counts_are_hidden_while_voting_is_open_unless_the_campaign_always_shows_them() -> None:
    assert counts_hidden("rank_only", voting_closed=False)
    assert counts_hidden("hidden", voting_closed=False)
    assert not counts_hidden("always", voting_closed=False)
    assert not counts_hidden("rank_only", voting_closed=True)


def test_reviewers_approvers_admins_and_operators_read_counts_the_public_does_not() -> None:
    assert all(may_read_counts(r) for r in ("committee", "supervisor", "admin", "operator"))
    assert not any(may_read_counts(r) for r in (None, "unit", "office", "expert"))


def test_without_counts_nulls_the_votes_and_keeps_ranks_and_scores_and_the_stored_entry() -> None:
    entry = {"entry_id": "a", "rank": 1, "total": 40.0, "components": {"vote": 100.0},
             "explanation": {"vote": {"weight": 30, "votes": 512, "no_votes": False, "vote_rank": 1, "tally_rank": 1},
                             "initial": {"weight": 20, "followers": 1000}}}
    [public] = without_counts([entry])
    assert public["explanation"]["vote"] == {"weight": 30, "votes": None, "no_votes": None, "vote_rank": 1,
                                             "tally_rank": 1}
    assert public["explanation"]["initial"] == {"weight": 20, "followers": 1000}
    assert public["rank"] == 1 and public["components"] == {"vote": 100.0}
    assert entry["explanation"]["vote"]["votes"] == 512  # the original is not changed
    assert without_counts([{"entry_id": "b", "explanation": {}}]) == [{"entry_id": "b", "explanation": {}}]
