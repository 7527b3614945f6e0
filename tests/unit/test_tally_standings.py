"""The tally voting sends downstream: counted votes and rank, and the votes held for review or invalidated with the
rule's labels, so scoring can explain a count and warn of open cases; only ranks while the campaign hides counts."""

from __future__ import annotations

import uuid

from massline.contracts import EntryStanding
from services.voting.domain import EntryCounts, TallyCounts, public_standings, tally_standings
from services.voting.schemas import Standings

A, B = uuid.UUID(int=1), uuid.UUID(int=2)
ROWS = [TallyCounts(A, 10, 4, 30, [
            {"state": "invalidated", "reason_code": "burst", "votes": 30, "reason_text": "a burst of new voters",
             "reason_text_zh": "短时间内大量新身份投票"},
            {"state": "held", "reason_code": "device_shared", "votes": 4, "reason_text": None,
             "reason_text_zh": None}]),
        TallyCounts(B, 40, 0, 0, [])]


def test_the_tally_carries_votes_held_and_invalidated_with_their_reasons_best_first() -> None:
    standings = [EntryStanding.model_validate(s) for s in tally_standings(ROWS, hidden=False)]
    assert [(s.entry_id, s.rank, s.votes, s.held, s.invalidated) for s in standings] == [
        (B, 1, 40, 0, 0), (A, 2, 10, 4, 30)]
    reasons = {r.reason_code: (r.state, r.votes, r.reason, r.reason_zh) for r in standings[1].reasons or []}
    assert reasons["burst"] == ("invalidated", 30, "a burst of new voters", "短时间内大量新身份投票")
    # a decision recorded before the events carried a label: the code stands in for it
    assert reasons["device_shared"] == ("held", 4, "device_shared", "device_shared")


def test_while_counts_are_hidden_the_tally_carries_ranks_only() -> None:
    standings = [EntryStanding.model_validate(s) for s in tally_standings(ROWS, hidden=True)]
    assert [(s.rank, s.votes, s.held, s.invalidated, s.reasons) for s in standings] == [
        (1, None, None, None, None), (2, None, None, None, None)]


def test_the_public_standings_say_whether_and_why_votes_are_held_where_only_ranks_show_never_how_many() -> None:
    """A rank-only campaign while voting is open: each entry says whether some of its votes are held or invalidated
    and why (its rank moved with them), never a number; a hidden one says nothing; after voting, every count."""
    rows = [EntryCounts(r.entry_id, "甲号" if r.entry_id == A else "乙号", "单位", "gov", r.votes, r.held,
                        r.invalidated, r.reasons) for r in ROWS]
    ranked_only = {e["entry_id"]: e for e in public_standings("c1", "voting", "rank_only", rows)["categories"]["gov"]}
    a, b = ranked_only[str(A)], ranked_only[str(B)]
    assert (a["rank"], a["has_held"], a["has_invalidated"]) == (2, True, True)
    assert a["reasons"]["invalidated"] == [{"reason_code": "burst", "reason": "a burst of new voters",
                                            "reason_zh": "短时间内大量新身份投票"}]
    assert [r["reason_code"] for r in a["reasons"]["held"]] == ["device_shared"]
    assert (b["has_held"], b["has_invalidated"], b["reasons"]) == (False, False, {"held": [], "invalidated": []})
    assert not {"votes", "held", "invalidated"} & (a.keys() | b.keys())
    assert "30" not in str(a) and "4" not in str(a["reasons"])
    # … as the route answers it (its response model), for the rank-only, hidden and after-voting answers alike
    for show, phase in (("rank_only", "voting"), ("hidden", "voting"), ("rank_only", "scoring")):
        answer = Standings.model_validate(public_standings("c1", phase, show, rows))
        assert answer.categories["gov"][0].has_held is (None if show == "hidden" else False)
    hidden = public_standings("c1", "voting", "hidden", rows)["categories"]["gov"]
    assert all(e.keys() == {"entry_id", "name", "unit_name"} for e in hidden)
    after = {e["entry_id"]: e for e in public_standings("c1", "scoring", "rank_only", rows)["categories"]["gov"]}
    assert (after[str(A)]["held"], after[str(A)]["invalidated"], after[str(A)]["has_held"]) == (4, 30, True)
