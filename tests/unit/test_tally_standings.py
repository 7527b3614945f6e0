"""The tally voting sends downstream: counted votes and rank, and the votes held for review or invalidated with the
rule's labels, so scoring can explain a count and warn of open cases; only ranks while the campaign hides counts."""

from __future__ import annotations

import uuid

from massline.contracts import EntryStanding
from services.voting.domain import TallyCounts, tally_standings

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
