"""Expert review rules and result exports without I/O: criteria, conflicts, assignment, normalisation, outliers."""

from __future__ import annotations

import csv
import io

import pytest

from services.scoring import exports
from services.scoring.review import (
    Criterion,
    Entry,
    Expert,
    ScoreRefused,
    assign,
    conflict,
    criteria_from_config,
    normalise,
    outlying_experts,
    score_total,
)

SEED_000 = criteria_from_config([{"id": "standardization", "name": "规范性", "max_points": 25},
                                 {"id": "reach", "name": "传播力", "max_points": 25},
                                 {"id": "influence", "name": "影响力", "max_points": 25},
                                 {"id": "service", "name": "服务性", "max_points": 25}])


def test_a_score_is_the_share_of_the_maximum_points():
    assert score_total(SEED_000, {"standardization": 23, "reach": 22, "influence": 21, "service": 24}) == 90
    uneven = (Criterion("conduct", "活动开展情况", 40), Criterion("effect", "活动效果", 30))
    assert score_total(uneven, {"conduct": 40, "effect": 15}) == 78.57  # 55 / 70 × 100, half-up at 2 decimals


def test_an_expert_score_on_a_half_rounds_up_whatever_binary_arithmetic_makes_of_it():
    # 43.5 / 80 × 100 is 54.37499999999999 in binary floating point; as written it is 54.375 → 54.38
    quarters = (Criterion("a", "甲", 40), Criterion("b", "乙", 40))
    assert score_total(quarters, {"a": 21.75, "b": 21.75}) == 54.38
    assert score_total(quarters, {"a": 31.25, "b": 31.25}) == 78.13  # 78.125 → 78.13, not the half-even 78.12


@pytest.mark.parametrize("points, code", [
    ({"standardization": 26, "reach": 0, "influence": 0, "service": 0}, "score_out_of_range"),
    ({"standardization": -0.5, "reach": 0, "influence": 0, "service": 0}, "score_out_of_range"),
    ({"standardization": True, "reach": 0, "influence": 0, "service": 0}, "score_out_of_range"),
    ({"standardization": "20", "reach": 0, "influence": 0, "service": 0}, "score_out_of_range"),
    ({"standardization": float("nan"), "reach": 0, "influence": 0, "service": 0}, "score_out_of_range"),
    ({"standardization": 20}, "criteria_incomplete"),
    ({"standardization": 1, "reach": 1, "influence": 1, "service": 1, "looks": 1}, "criterion_unknown"),
])
def test_scores_outside_the_criteria_are_refused_with_a_code(points, code):
    with pytest.raises(ScoreRefused) as refused:
        score_total(SEED_000, points)
    assert refused.value.code == code


def test_conflicts_same_unit_declared_and_same_region_only_when_the_panel_says():
    expert = Expert("li", unit_id="u1", region="西安", declared_unit_ids=("u2",))
    assert conflict(expert, Entry("e1", "u1"), same_region=False) == "same_unit"
    assert conflict(expert, Entry("e2", "u2"), same_region=False) == "declared"
    assert conflict(expert, Entry("e3", "u3", "西安"), same_region=False) is None
    assert conflict(expert, Entry("e3", "u3", "西安"), same_region=True) == "same_region"


def test_assignment_gives_k_experts_balanced_and_never_a_blocked_pair():
    experts = [Expert(x) for x in ("a", "b", "c", "d")]
    entries = [Entry(f"e{i}", "u") for i in range(6)]
    new, short = assign(experts, entries, 2, excluded={("a", "e0")})
    by_entry: dict[str, set[str]] = {}
    for x, e in new:
        by_entry.setdefault(e, set()).add(x)
    assert all(len(v) == 2 for v in by_entry.values()) and len(by_entry) == 6 and not short
    assert "a" not in by_entry["e0"]
    load = [sum(x == name for x, _ in new) for name in "abcd"]
    assert max(load) - min(load) <= 1
    # the same inputs give the same assignment; existing pairs are kept and only gaps are filled
    assert assign(experts, entries, 2, excluded={("a", "e0")}) == (new, short)
    assert assign(experts, entries, 2, existing=new, excluded={("a", "e0")}) == ([], {})


def test_an_entry_without_enough_eligible_experts_is_reported_short():
    new, short = assign([Expert("a"), Expert("b")], [Entry("e", "u")], 3, excluded={("b", "e")})
    assert new == [("a", "e")] and short == {"e": 1}


def test_zscore_puts_a_harsh_expert_on_the_same_scale_and_none_keeps_raw_scores():
    marks = {"li": {"x": 90, "y": 80, "z": 70}, "he": {"x": 60, "y": 50, "z": 40}}
    assert normalise(marks, "none")["x"] == {"li": 90, "he": 60}
    z = normalise(marks, "zscore")
    assert z["x"]["li"] == z["x"]["he"] and z["z"]["li"] == z["z"]["he"]
    assert z["x"]["li"] > z["y"]["li"] > z["z"]["li"]
    # one score, or no spread: nothing to standardise, the raw score stays
    assert normalise({"solo": {"x": 77}}, "zscore") == {"x": {"solo": 77}}


def test_the_outlying_expert_is_the_one_far_from_the_median():
    marks = {"li": {"x": 90, "y": 80}, "wu": {"x": 88, "y": 78}, "he": {"x": 60, "y": 50}}
    found = outlying_experts(marks, 10)
    assert [(o["expert_id"], o["mean_deviation"]) for o in found] == [("he", -28.0)]
    # with only two experts per entry there is no median to trust: no alert
    assert outlying_experts({"li": {"x": 90}, "he": {"x": 10}}, 10) == []


RESULTS = {"version": 1, "published_at": "2024-10-21T00:00:00+00:00", "title": "推选活动", "categories": {
    "institutional": {"name": "机构/政务账号", "entries": [
        {"rank": 1, "entry_name": "=HYPERLINK(\"x\")", "unit_name": "甲大学", "total": 84.9,
         "components": {"initial": 85, "vote": 98, "expert": 85, "activity": 65}, "winner": True},
        {"rank": 2, "entry_name": "<script>乙</script>", "unit_name": "乙大学", "total": 60,
         "components": {"initial": 65, "vote": 100, "expert": 70, "activity": 0}, "activity_forfeited": True,
         "winner": False}]}}}


def test_exports_keep_names_as_text_and_mark_forfeits_and_winners():
    rows = list(csv.reader(io.StringIO(exports.to_csv(RESULTS).decode("utf-8-sig"))))
    assert rows[1][2] == "'=HYPERLINK(\"x\")"  # never a live formula in a spreadsheet
    assert rows[2][10] == "是" and rows[1][11] == "是" and rows[2][11] == ""
    html = exports.commendation_html(RESULTS)
    assert "甲大学" in html and "乙大学" not in html and "<script>" not in html


def test_the_commendation_list_gives_the_publication_time_in_the_campaign_zone_with_the_zone_named():
    late = {**RESULTS, "published_at": "2024-10-20T17:30:00+00:00"}  # 01:30 on 21 October in Beijing
    html = exports.commendation_html(late)
    assert "发布于 北京时间 2024-10-21 01:30" in html and "2024-10-20T17:30" not in html
    assert "发布于 北京时间 2024-10-21 01:30" in exports.commendation_html({**late, "timezone": "Asia/Shanghai"})
    assert "发布于 2024-10-20 19:30（UTC+2）" in exports.commendation_html({**late, "timezone": "Europe/Berlin"})
