"""Scoring as the committee and the public read it: one rounding rule for numbers and their explanations, votes out
of the count named with their reasons, and what the review of open anti-fraud cases could do to the ranking."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from test_scoring_domain import SEED_000_SCORING, category, entry, seed_000_entries

from massline.numbers import half_up, score_text, score_value
from services.gateway.rendering import explanation_lines, page_templates
from services.scoring.domain import (
    AccountMetrics,
    VoteReason,
    compute_ranking,
    expert_score,
    open_cases,
    total_formula,
    total_score,
    without_counts,
)

VOTES_ONLY = {"components": [{"id": "vote", "weight": 100}]}
DEVICE = VoteReason("held", "device_reuse", 450, "many identities voting from one device", "多个身份使用同一设备投票")
BURST = VoteReason("invalidated", "burst", 30, "a burst of new voters", "短时间内大量新身份投票")


# --- one rounding rule ---------------------------------------------------------------------------------------

def test_a_half_rounds_up_whatever_binary_arithmetic_made_of_it():
    assert score_text(43.5 / 80 * 100) == "54.38"  # 54.37499999999999 in binary
    assert score_text(78.125) == "78.13"  # round() would give 78.12 (half to even)
    assert score_text(2.675) == "2.68" and score_text(100) == "100.00" and score_text(None) == "—"
    assert score_value(54.375) == 54.38 and half_up(-1.005) == Decimal("-1.01")


def test_the_expert_mean_on_a_half_is_shown_and_explained_as_the_same_number():
    mean, why = expert_score([54.37, 54.38])  # 54.375
    assert score_text(mean) == "54.38" and why["formula"] == "mean(54.37, 54.38) = 54.38"


scores = st.decimals(min_value=0, max_value=100, places=2).map(float)


@settings(max_examples=200, deadline=None)
@given(expert=st.lists(scores, min_size=1, max_size=5), activity=st.lists(scores, min_size=1, max_size=5),
       votes=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
       adjustment=st.decimals(min_value=-100, max_value=100, places=2).map(float))
def test_every_explanation_writes_the_number_the_page_shows(expert, activity, votes, adjustment):
    entries = [entry(f"e{i}", metrics=AccountMetrics(1000 + 7 * i, 10 * i + 3, 99 * i), votes=v, tally_rank=i + 1,
                     activity="held", summary="on_time", expert_scores=tuple(expert),
                     activity_scores=tuple(activity), adjustments=((adjustment, "调整"),) if adjustment else ())
               for i, v in enumerate(votes)]
    page = page_templates().env
    for e in compute_ranking(category(entries)).entries:
        shown_total = page.from_string("{{ v | score }}").render(v=e.total)
        written, result = e.explanation["total_formula"].rsplit(" = ", 1)
        assert result == shown_total == score_text(e.total)
        # the sum as written (weights, components as shown, adjustment) gives the shown total exactly
        terms = written.replace(" − ", " + -").split(" + ")
        value = sum((Decimal(w.rstrip("%")) / 100 * Decimal(c) for w, c in
                     (t.split("% × ") for t in terms if "×" in t)), Decimal(0))
        value += sum((Decimal(t.replace("+ ", "")) for t in terms if "×" not in t), Decimal(0))
        assert score_text(value) == shown_total
        for component in ("expert", "activity"):
            assert e.explanation[component]["formula"].rsplit(" = ", 1)[1] == score_text(e.components[component])
        # the explanation lines of the final review write the component's scores as the page writes scores
        lines = dict(explanation_lines(e.explanation["expert"]))
        assert lines["scores"] == ", ".join(score_text(s) for s in sorted(expert))


def test_the_total_formula_names_each_weighted_component_and_the_adjustment():
    components = {"initial": 85.0, "vote": 98.0, "expert": 85.0, "activity": 65.0}
    weights = {"initial": 20.0, "vote": 30.0, "expert": 30.0, "activity": 20.0}
    assert total_formula(components, weights, -1.5) == (
        "20% × 85.00 + 30% × 98.00 + 30% × 85.00 + 20% × 65.00 − 1.50 = 83.40")
    assert total_score(components, weights, -1.5) == 83.4


# --- votes out of the count, named ----------------------------------------------------------------------------

def test_the_vote_explanation_lists_held_and_invalidated_votes_by_reason_in_both_languages():
    entries = [entry("a", votes=10, tally_rank=2, held=0, invalidated=30, vote_reasons=(BURST,)),
               entry("b", votes=40, tally_rank=1, held=0, invalidated=0)]
    vote = {e.entry_id: e for e in compute_ranking(category(entries)).entries}["a"].explanation["vote"]
    assert (vote["votes"], vote["invalidated"], vote["held"]) == (10, 30, 0)
    assert vote["invalidations"] == [{"reason_code": "burst", "votes": 30, "reason": "a burst of new voters",
                                      "reason_zh": "短时间内大量新身份投票"}]
    assert vote["held_reasons"] == []


def test_while_counts_are_hidden_the_votes_out_of_the_count_are_hidden_too():
    entries = [entry("a", votes=10, tally_rank=2, held=450, invalidated=30, vote_reasons=(DEVICE, BURST)),
               entry("b", votes=40, tally_rank=1)]
    ranked = compute_ranking(category(entries)).entries
    hidden = without_counts([{"entry_id": e.entry_id, "explanation": e.explanation} for e in ranked])
    for e in hidden:
        vote = e["explanation"]["vote"]
        assert all(vote[k] is None for k in ("votes", "held", "invalidated", "held_reasons", "invalidations"))
        assert vote["vote_rank"] is not None  # the rank stays: the order shows it anyway


# --- open anti-fraud cases at approval -----------------------------------------------------------------------

def test_held_votes_that_would_pass_another_entry_could_change_a_rank():
    entries = [entry("a", "甲", votes=300, held=1, vote_reasons=(), tally_rank=2),
               entry("b", "乙", votes=500, held=0, tally_rank=1),
               entry("c", "丙", votes=100, held=450, vote_reasons=(DEVICE,), tally_rank=3)]
    cases = {c["entry_id"]: c for c in open_cases(category(entries, VOTES_ONLY))}
    assert set(cases) == {"a", "c"}
    c = cases["c"]
    assert (c["rank"], c["rank_if_reinstated"], c["could_change_rank"], c["held_votes"]) == (3, 1, True, 450)
    assert {m["entry_id"] for m in c["ranks_changed"]} == {"a", "b", "c"}
    assert c["reasons"][0]["reason_zh"] == "多个身份使用同一设备投票"
    a = cases["a"]
    assert (a["rank_if_reinstated"], a["could_change_rank"], a["together_could_change_rank"]) == (2, False, True)


def test_no_held_votes_no_open_cases_and_unknown_counts_cannot_be_judged():
    assert open_cases(category(seed_000_entries())) == []
    hidden = [entry("a", tally_rank=1, held=None), entry("b", tally_rank=2)]
    assert open_cases(category(hidden, SEED_000_SCORING)) == []


def test_confirming_a_case_that_cannot_reach_the_next_entry_changes_nothing():
    entries = [entry("a", votes=500, tally_rank=1), entry("b", votes=100, held=50, tally_rank=2)]
    [case] = open_cases(category(entries, VOTES_ONLY))
    assert (case["could_change_rank"], case["together_could_change_rank"], case["ranks_changed"]) == (False, False, [])
