"""Scoring rules: vote conversions, ties, forfeits, normalisation, the hand-computed seed-000 total, determinism."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from services.scoring.domain import (
    AccountMetrics,
    ActivityRecord,
    CategoryInputs,
    EntryInputs,
    ScoringRules,
    VoteConversion,
    VoteTier,
    activity_score,
    activity_state,
    compute_ranking,
    expert_score,
    initial_scores,
    inputs_digest,
    round2,
    rule_version,
    vote_ranks,
    vote_scores,
)

CAMPAIGNS = Path(__file__).parents[2] / "campaigns"

# Seed 000 (§四.4) as the Shaanxi definition spells it.
SEED_000_SCORING = {
    "components": [
        {"id": "initial", "weight": 20},
        {"id": "vote", "weight": 30},
        {"id": "expert", "weight": 30},
        {"id": "activity", "weight": 20},
    ],
    "initial_metrics": [
        {"metric": "followers", "weight": 40},
        {"metric": "posts", "weight": 30},
        {"metric": "interactions", "weight": 30},
    ],
    "vote_conversion": {"method": "rank_step", "top": 100, "step": 2, "floor": 0},
    "activity_forfeit_if_missing": True,
}


def entry(entry_id: str, name: str | None = None, **kw) -> EntryInputs:
    return EntryInputs(entry_id=entry_id, name=name or f"entry {entry_id}", unit_id=f"unit-{entry_id}", **kw)


def category(entries, scoring=SEED_000_SCORING, *, voting_closed=False) -> CategoryInputs:
    return CategoryInputs(
        campaign_id="shaanxi-2024-accounts",
        category_id="institutional",
        rule_version=rule_version("shaanxi-2024-accounts", 1, scoring),
        rules=ScoringRules.from_config(scoring),
        entries=tuple(entries),
        voting_closed=voting_closed,
    )


def seed_000_entries() -> list[EntryInputs]:
    return [
        entry("a", "陕西发布", metrics=AccountMetrics(200_000, 500, 10_000, "verified"), votes=300, tally_rank=2,
              activity="held", summary="on_time", expert_scores=(80, 90), activity_scores=(60, 70)),
        entry("b", "西安发布", metrics=AccountMetrics(100_000, 1_000, 5_000, "reported"), votes=500, tally_rank=1,
              activity="held_outside_period", summary="on_time", expert_scores=(70,)),
        entry("c", "宝鸡发布", metrics=AccountMetrics(50_000, 250, 0, "reported"), votes=100, tally_rank=3,
              activity="held", summary="on_time"),
    ]


# --- vote conversion -----------------------------------------------------------------------

def test_rank_step_loses_step_points_per_rank_and_never_goes_below_the_floor():
    conversion = VoteConversion("rank_step", top=100, step=2)
    assert [conversion.score(r, 10) for r in (1, 2, 3, 4)] == [100, 98, 96, 94]
    steep = VoteConversion("rank_step", top=100, step=40, floor=5)
    assert [steep.score(r, 10) for r in (1, 2, 3, 4)] == [100, 60, 20, 5]


def test_linear_spreads_top_to_zero_over_the_entries_and_a_lone_entry_gets_top():
    conversion = VoteConversion("linear", top=100)
    assert [conversion.score(r, 5) for r in (1, 2, 3, 4, 5)] == [100, 75, 50, 25, 0]
    assert conversion.score(1, 1) == 100


def test_tiers_take_the_first_tier_covering_the_rank_and_the_floor_beyond():
    conversion = VoteConversion("tiers", top=100, tiers=(VoteTier(3, 100), VoteTier(10, 60)))
    assert [conversion.score(r, 20) for r in (1, 3, 4, 10, 11)] == [100, 100, 60, 60, 0]


def test_tied_votes_share_the_rank_and_its_score():
    entries = [entry("a", votes=10, tally_rank=1), entry("b", votes=10, tally_rank=1), entry("c", votes=5, tally_rank=3)]
    scores = vote_scores(entries, VoteConversion("rank_step", step=2), voting_closed=False)
    assert {k: v[0] for k, v in scores.items()} == {"a": 100, "b": 100, "c": 96}
    assert scores["c"][1]["vote_rank"] == 3


def test_entries_without_votes_rank_together_after_every_entry_with_votes():
    entries = [entry("a", votes=10, tally_rank=1), entry("b", votes=0, tally_rank=2), entry("c"),
               entry("d", votes=3, tally_rank=2)]
    assert vote_ranks(entries) == {"a": 1, "d": 2, "b": 3, "c": 3}
    scores = vote_scores(entries, VoteConversion("linear"), voting_closed=False)
    assert scores["c"][0] == pytest.approx(100 / 3) and scores["c"][1]["no_votes"] is True


def test_before_any_vote_the_vote_score_is_pending_not_top():
    scores = vote_scores([entry("a"), entry("b")], VoteConversion(), voting_closed=False)
    assert all(score == 0 and why["pending"] for score, why in scores.values())


def test_hidden_counts_fall_back_to_the_tally_ranks():
    entries = [entry("a", tally_rank=2), entry("b", tally_rank=1), entry("c", tally_rank=2), entry("d")]
    assert vote_ranks(entries) == {"b": 1, "a": 2, "c": 2, "d": 4}


# --- other components ----------------------------------------------------------------------

def test_an_activity_not_held_within_its_period_forfeits_the_activity_component():
    # seed 000 §四.4(3): 如未在规定期限内开展互动实践活动的，视作放弃该部分分数
    for status in ("not_held", "held_outside_period"):
        score, why = activity_score(status, (90.0,), forfeit_if_missing=True, summary="on_time")
        assert score == 0 and why["forfeited"] is True and why["held"] == status
        assert why["forfeit_reason"] == status and why["pending"] is False
    score, why = activity_score("held", (80.0, 90.0), forfeit_if_missing=True)
    assert score == 85 and why["forfeited"] is False


def test_a_late_summary_of_an_activity_held_in_time_is_only_marked_late():
    # The seed names no consequence for a late summary: the part is scored, the summary marked late.
    score, why = activity_score("held", (70.0, 80.0), forfeit_if_missing=True, summary="late")
    assert score == 75 and why["forfeited"] is False and why["summary_late"] is True


def test_a_campaign_may_forfeit_the_part_for_a_late_summary():
    score, why = activity_score("held", (70.0,), forfeit_if_missing=True, summary="late", late_summary_forfeits=True)
    assert score == 0 and why["forfeited"] is True and why["forfeit_reason"] == "late_summary"


def test_nothing_reported_waits_for_the_end_of_the_period_and_is_not_held_after_it():
    end = datetime(2024, 9, 21, tzinfo=UTC)
    assert activity_state(None, end, end - timedelta(seconds=1)) == ("awaiting", "none")
    assert activity_state(None, end, end) == ("not_held", "none")
    assert activity_state(None, None, end) == ("not_held", "none")
    assert activity_state(ActivityRecord(on_time=False, held_in_period=True), end, end) == ("held", "late")
    assert activity_state(ActivityRecord(True, False), end, end) == ("held_outside_period", "on_time")
    # reported before the day was asked for: taken as held in the period
    assert activity_state(ActivityRecord(True, None), end, end) == ("held", "on_time")


def test_a_campaign_without_forfeit_lets_experts_score_an_activity_held_late():
    score, why = activity_score("held_outside_period", (70.0,), forfeit_if_missing=False)
    assert score == 70 and why["forfeited"] is False


def test_expert_score_is_the_mean_and_pending_without_scores():
    assert expert_score([]) == (0.0, {"scores": [], "experts": 0, "pending": True})
    assert expert_score([90, 70, 80])[0] == 80


def test_a_metric_whose_category_maximum_is_zero_scores_zero_instead_of_failing():
    entries = [entry("a", metrics=AccountMetrics(100, 10, 0)), entry("b", metrics=AccountMetrics(50, 0, 0))]
    scores = initial_scores(entries, {"followers": 1, "posts": 1, "interactions": 1})
    assert scores["a"][0] == pytest.approx(200 / 3)  # (100 + 100 + 0) / 3
    assert scores["b"][0] == pytest.approx(50 / 3)
    assert scores["b"][1]["metrics"]["interactions"] == {"value": 0, "category_max": 0, "score": 0.0, "weight": 1}


def test_an_entry_without_metrics_scores_zero_and_says_so():
    scores = initial_scores([entry("a"), entry("b", metrics=AccountMetrics(10, 10, 10))], {"followers": 1})
    assert scores["a"] == (0.0, {"missing": True, "source": None})
    assert scores["b"][0] == 100


def test_verified_metrics_are_reported_as_the_source_of_the_initial_score():
    ranking = compute_ranking(category(seed_000_entries()))
    by_id = {e.entry_id: e for e in ranking.entries}
    assert by_id["a"].explanation["initial"]["source"] == "verified"


# --- the total and the ranking -------------------------------------------------------------

def test_seed_000_total_matches_the_hand_computation():
    # initial (followers 40, posts 30, interactions 30; maxima 200000 / 1000 / 10000):
    #   a: .4×100 + .3×50 + .3×100 = 85     b: .4×50 + .3×100 + .3×50 = 65     c: .4×25 + .3×25 + 0 = 17.5
    # vote ranks b 1, a 2, c 3 → 100, 98, 96; expert a (80+90)/2 = 85, b 70, c none → 0
    # activity a (60+70)/2 = 65, b held after its period → forfeited 0, c held but not scored yet → 0
    # total a = .2×85 + .3×98 + .3×85 + .2×65 = 84.9; b = 13 + 30 + 21 = 64; c = 3.5 + 28.8 = 32.3
    ranking = compute_ranking(category(seed_000_entries()))
    got = {e.entry_id: (e.rank, e.total, e.components) for e in ranking.entries}
    assert got == {
        "a": (1, 84.9, {"initial": 85.0, "vote": 98.0, "expert": 85.0, "activity": 65.0}),
        "b": (2, 64.0, {"initial": 65.0, "vote": 100.0, "expert": 70.0, "activity": 0.0}),
        "c": (3, 32.3, {"initial": 17.5, "vote": 96.0, "expert": 0.0, "activity": 0.0}),
    }
    b, c = ranking.entries[1], ranking.entries[2]
    assert b.explanation["activity"]["forfeited"] is True
    assert c.explanation["expert"]["pending"] is True and c.explanation["activity"]["pending"] is True
    assert b.explanation["vote"]["weight"] == 30


def test_equal_totals_are_broken_by_vote_score_then_initial_then_name_then_id():
    scoring = {"components": [{"id": "initial", "weight": 50}, {"id": "vote", "weight": 50}],
               "vote_conversion": {"method": "rank_step", "top": 100, "step": 20}}
    # x: initial 100, vote rank 2 → 80; y: initial 80, vote rank 1 → 100; both total 90.
    x = entry("x", "A账号", metrics=AccountMetrics(100, 100, 100), votes=5, tally_rank=2)
    y = entry("y", "B账号", metrics=AccountMetrics(80, 80, 80), votes=9, tally_rank=1)
    ranking = compute_ranking(category([x, y], scoring))
    assert [(e.entry_id, e.total) for e in ranking.entries] == [("y", 90.0), ("x", 90.0)]

    # Equal in every score: the name decides, then the id; ranks are never shared.
    twins = [entry("2", "同名"), entry("1", "同名"), entry("3", "甲")]
    ranking = compute_ranking(category(twins, scoring))
    assert [(e.entry_id, e.rank) for e in ranking.entries] == [("1", 1), ("2", 2), ("3", 3)]


def test_the_same_inputs_in_any_order_give_the_same_ranking_and_digest():
    entries = seed_000_entries() + [entry(f"z{i}", votes=i, tally_rank=None, metrics=AccountMetrics(i, i, i))
                                    for i in range(12)]
    expected = compute_ranking(category(entries))
    shuffler = random.Random(7)
    for _ in range(5):
        shuffled = entries[:]
        shuffler.shuffle(shuffled)
        shuffled = [replace(e, expert_scores=tuple(reversed(e.expert_scores))) for e in shuffled]
        assert compute_ranking(category(shuffled)) == expected
    assert compute_ranking(category(entries)).inputs_digest == expected.inputs_digest


@pytest.mark.parametrize("change", [
    lambda es: [replace(es[0], votes=301), *es[1:]],
    lambda es: [replace(es[0], expert_scores=(80, 91)), *es[1:]],
    lambda es: [replace(es[0], metrics=replace(es[0].metrics, source="reported")), *es[1:]],
    lambda es: [replace(es[1], activity="held"), *es[:1], *es[2:]],
    lambda es: es[:2],
])
def test_any_changed_input_changes_the_digest(change):
    before = inputs_digest(category(seed_000_entries()))
    assert inputs_digest(category(change(seed_000_entries()))) != before


def test_the_close_of_voting_and_the_rules_are_inputs_too():
    entries = seed_000_entries()
    before = inputs_digest(category(entries))
    assert inputs_digest(category(entries, voting_closed=True)) != before
    steeper = {**SEED_000_SCORING, "vote_conversion": {"method": "rank_step", "top": 100, "step": 5}}
    assert inputs_digest(category(entries, steeper)) != before


def test_rule_version_names_campaign_version_and_configuration():
    version = rule_version("shaanxi-2024-accounts", 3, SEED_000_SCORING)
    assert version.startswith("shaanxi-2024-accounts@v3:")
    assert version == rule_version("shaanxi-2024-accounts", 3, dict(reversed(list(SEED_000_SCORING.items()))))
    assert version != rule_version("shaanxi-2024-accounts", 3, {**SEED_000_SCORING, "activity_forfeit_if_missing": False})


# --- configuration -------------------------------------------------------------------------

def test_an_empty_scoring_section_falls_back_to_the_seed_000_defaults():
    rules = ScoringRules.from_config({})
    assert dict(rules.weights) == {"initial": 20, "vote": 30, "expert": 30, "activity": 20}
    assert rules.vote_conversion == VoteConversion("rank_step", top=100, step=2, floor=0)
    assert dict(rules.initial_weights) == {"followers": 1, "posts": 1, "interactions": 1}
    assert rules.activity_forfeit_if_missing is True and rules.warnings == ()


def test_weights_may_be_given_as_a_mapping_and_unknown_parts_are_reported_not_fatal():
    rules = ScoringRules.from_config({
        "components": {"vote": 40, "expert": 60, "committee": 10},
        "initial_metrics": {"followers": 1},
        "vote_conversion": {"method": "lottery"},
    })
    assert dict(rules.weights) == {"initial": 0, "vote": 40, "expert": 60, "activity": 0}
    assert dict(rules.initial_weights) == {"followers": 1, "posts": 0, "interactions": 0}
    assert rules.vote_conversion == VoteConversion()
    assert any("committee" in w for w in rules.warnings) and any("lottery" in w for w in rules.warnings)


@pytest.mark.parametrize("path", sorted(CAMPAIGNS.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_shipped_campaign_definitions_read_without_warnings(path):
    scoring = yaml.safe_load(path.read_text(encoding="utf-8"))["scoring"]
    rules = ScoringRules.from_config(scoring)
    assert rules.warnings == ()
    assert sum(rules.weights.values()) == 100


def test_rounding_is_half_up_on_the_decimal_spelling():
    assert round2(2.675) == 2.68 and round2(84.899999999) == 84.9 and round2(0.125) == 0.13


# --- deadlines, adjustments, rank normalisation --------------------------------------------

def test_before_its_deadline_a_missing_activity_is_pending_not_forfeited():
    score, why = activity_score("awaiting", (), forfeit_if_missing=True)
    assert score == 0 and why["forfeited"] is False and why["pending"] is True


def test_a_committee_adjustment_moves_the_total_and_says_why():
    base = compute_ranking(category(seed_000_entries()))
    adjusted = [replace(e, adjustments=((20.0, "复核加分"),)) if e.entry_id == "b" else e for e in seed_000_entries()]
    ranking = compute_ranking(category(adjusted))
    b = next(e for e in ranking.entries if e.entry_id == "b")
    assert b.total == 84.0 and b.rank == 2  # 64 + 20, still behind a (84.9)
    assert b.explanation["adjustments"] == [{"points": 20.0, "reason": "复核加分"}]
    assert ranking.inputs_digest != base.inputs_digest


def test_rank_normalisation_scores_each_metric_by_its_place_among_the_entries():
    entries = [entry("a", metrics=AccountMetrics(300, 1, 1)), entry("b", metrics=AccountMetrics(200, 1, 1)),
               entry("c", metrics=AccountMetrics(100, 1, 1))]
    scores = initial_scores(entries, {"followers": 1, "posts": 0, "interactions": 0}, "rank")
    assert [scores[x][0] for x in "abc"] == [100, 50, 0]
    assert scores["b"][1]["metrics"]["followers"]["rank"] == 2


def test_initial_score_can_compare_accounts_only_with_their_own_platform() -> None:
    from services.scoring.domain import AccountMetrics, EntryInputs, ScoringRules, initial_scores

    entries = [
        EntryInputs("a", "微信甲", "u1", AccountMetrics(20_000, 100, 1_000, "verified"), platform="wechat"),
        EntryInputs("b", "微信乙", "u2", AccountMetrics(10_000, 50, 500, "verified"), platform="wechat"),
        EntryInputs("c", "抖音丙", "u3", AccountMetrics(400_000, 100, 90_000, "verified"), platform="douyin"),
    ]
    weights = {"followers": 1.0, "posts": 1.0, "interactions": 1.0}
    whole = initial_scores(entries, weights)
    by_platform = initial_scores(entries, weights, scope="platform")
    # Against the whole category the Douyin account's followers dwarf the WeChat ones ...
    assert whole["a"][0] < 70
    # ... compared within its platform, the best WeChat account scores 100, and the other half of it.
    assert [round(by_platform[k][0], 6) for k in "abc"] == [100, 50, 100]
    assert by_platform["b"][1]["platform"] == "wechat" and by_platform["b"][1]["compared_with"] == 2
    assert ScoringRules.from_config({"initial_normalization_scope": "platform"}).initial_scope == "platform"
    rules = ScoringRules.from_config({"initial_normalization_scope": "galaxy"})
    assert rules.initial_scope == "category" and any("galaxy" in w for w in rules.warnings)
