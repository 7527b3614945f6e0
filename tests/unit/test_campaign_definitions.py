"""The shipped campaign definitions encode their source documents, and broken definitions are refused."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.submission.domain.campaign import (
    PHASE_ORDER,
    CampaignDefinition,
    CampaignDefinitionError,
    load_campaign_file,
    parse_campaign,
)

ROOT = Path(__file__).parents[2]
CAMPAIGNS = ROOT / "campaigns"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@cache
def shaanxi() -> CampaignDefinition:
    return load_campaign_file(CAMPAIGNS / "shaanxi-2024-accounts.yaml")


@cache
def henan() -> CampaignDefinition:
    return load_campaign_file(CAMPAIGNS / "henan-2021-cases.yaml")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --- both files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["shaanxi-2024-accounts", "henan-2021-cases"])
def test_shipped_definition_loads_under_its_file_name(name: str) -> None:
    definition = load_campaign_file(CAMPAIGNS / f"{name}.yaml")
    assert definition.id == name
    assert definition.version >= 1
    assert definition.timezone == "Asia/Shanghai"


@pytest.mark.parametrize("name", ["shaanxi-2024-accounts", "henan-2021-cases"])
def test_shipped_definition_cites_its_seed_sections(name: str) -> None:
    text = (CAMPAIGNS / f"{name}.yaml").read_text(encoding="utf-8")
    assert "§" in text
    assert "assumption" in text


@pytest.mark.parametrize("loader", [shaanxi, henan])
def test_shipped_phases_are_timezone_aware(loader) -> None:
    for phase in loader().phases:
        assert phase.starts_at.utcoffset() == timedelta(hours=8)
        assert phase.ends_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("loader", [shaanxi, henan])
def test_shipped_personal_data_is_never_public(loader) -> None:
    for form_field in loader().form:
        if form_field.type == "phone":
            assert not form_field.public


# --- seed 000: Shaanxi 2024 accounts ------------------------------------------------------


def test_seed000_is_an_accounts_campaign() -> None:
    assert shaanxi().kind == "accounts"


def test_seed000_categories_are_institutional_and_personal_accounts() -> None:
    categories = {c.id: c for c in shaanxi().categories}
    assert set(categories) == {"institutional", "personal"}
    assert categories["institutional"].kind == "institutional"
    assert categories["institutional"].name == "机构/政务账号"
    assert categories["personal"].kind == "personal"
    assert categories["personal"].name == "党员干部个人账号"


def test_seed000_accepts_only_collective_nomination() -> None:
    definition = shaanxi()
    assert definition.eligibility.collective_nomination_only
    assert not any(c.self_nomination_allowed for c in definition.categories)


def test_seed000_campaign_runs_from_mid_august_to_late_october_2024() -> None:
    phases = shaanxi().phases
    assert cst(2024, 8, 11) <= phases[0].starts_at <= cst(2024, 8, 20)
    assert cst(2024, 10, 21) <= phases[-1].ends_at <= cst(2024, 11, 1)


def test_seed000_has_every_phase_in_order() -> None:
    assert [p.id for p in shaanxi().phases] == list(PHASE_ORDER)


def test_seed000_nomination_closes_at_the_end_of_25_august() -> None:
    definition = shaanxi()
    assert definition.is_open("nomination", cst(2024, 8, 25, 23, 59, 59))
    assert not definition.is_open("nomination", cst(2024, 8, 26))


def test_seed000_unit_nominates_at_most_two_accounts() -> None:
    assert shaanxi().quotas.max_per_unit == 2


def test_seed000_unit_nominates_at_most_one_personal_account() -> None:
    assert shaanxi().quotas.max_personal_per_unit == 1


def test_seed000_at_most_one_account_per_operating_entity() -> None:
    assert shaanxi().quotas.max_per_operating_entity == 1


def test_seed000_platforms_are_those_listed_and_others() -> None:
    platforms = set(shaanxi().eligibility.platforms)
    listed = {
        "weibo",
        "wechat",
        "kuaishou",
        "douyin",
        "toutiao",
        "yidian",
        "baidu",
        "bilibili",
        "uc",
        "mini_program",
    }
    assert listed <= platforms
    assert "other" in platforms  # 包括但不限于


def test_seed000_accepts_single_accounts_only_no_matrix() -> None:
    assert shaanxi().eligibility.single_account_only


def test_seed000_wechat_provincial_threshold_is_20000() -> None:
    assert shaanxi().follower_threshold("wechat", "provincial") == 20_000


def test_seed000_wechat_city_threshold_is_10000() -> None:
    assert shaanxi().follower_threshold("wechat", "city") == 10_000


@pytest.mark.parametrize("platform", ["weibo", "douyin", "kuaishou"])
def test_seed000_weibo_douyin_kuaishou_provincial_threshold_is_100000(platform: str) -> None:
    assert shaanxi().follower_threshold(platform, "provincial") == 100_000


@pytest.mark.parametrize("platform", ["weibo", "douyin", "kuaishou"])
def test_seed000_weibo_douyin_kuaishou_city_threshold_is_50000(platform: str) -> None:
    assert shaanxi().follower_threshold(platform, "city") == 50_000


@pytest.mark.parametrize(
    "platform", ["toutiao", "yidian", "baidu", "bilibili", "uc", "mini_program", "other"]
)
@pytest.mark.parametrize("level", ["provincial", "city"])
def test_seed000_other_platforms_threshold_is_10000(platform: str, level: str) -> None:
    assert shaanxi().follower_threshold(platform, level) == 10_000


def test_seed000_excludes_accounts_reported_in_the_last_year() -> None:
    assert shaanxi().eligibility.reported_within_months == 12


def test_seed000_form_asks_for_the_account_facts() -> None:
    ids = {f.id for f in shaanxi().form}
    assert {
        "account_name",
        "platform",
        "account_id",
        "account_url",
        "operating_entity",
        "level",
        "followers",
        "posts",
        "interactions",
        "introduction",
    } <= ids


def test_seed000_approval_chain_is_university_then_center() -> None:
    steps = shaanxi().approval_steps
    assert [(s.name, s.role) for s in steps] == [
        ("高校推荐", "unit"),
        ("陕西高校网络思想政治工作中心审核", "office"),
    ]


def test_seed000_requires_at_least_one_practice_activity() -> None:
    activity = shaanxi().activity
    assert activity is not None and activity.required
    assert activity.min_count == 1


def test_seed000_activity_summary_is_due_by_the_end_of_20_september() -> None:
    activity = shaanxi().activity
    assert activity is not None
    assert activity.summary_deadline == cst(2024, 9, 21)


def test_seed000_forfeits_by_when_the_activity_was_held_and_only_marks_a_late_summary() -> None:
    activity = shaanxi().activity
    assert activity is not None
    assert (activity.held_from, activity.period_end) == (cst(2024, 8, 19), cst(2024, 9, 21))
    assert activity.late_summary == "mark_late"  # the seed names no consequence for a late summary
    assert activity.held_in_period(cst(2024, 9, 20)) and not activity.held_in_period(cst(2024, 9, 21))
    assert shaanxi().results.approval_with_open_cases == "warn"


def test_seed000_weights_are_20_30_30_20() -> None:
    scoring = shaanxi().scoring
    assert {c.id: c.weight for c in scoring.components} == {
        "initial": 20,
        "vote": 30,
        "expert": 30,
        "activity": 20,
    }


def test_seed000_initial_score_comes_from_followers_posts_and_interactions() -> None:
    assert {m.metric for m in shaanxi().scoring.initial_metrics} == {"followers", "posts", "interactions"}


def test_seed000_vote_score_comes_from_the_vote_rank() -> None:
    conversion = shaanxi().scoring.vote_conversion
    assert conversion is not None and conversion.method == "rank_step"
    # A rank conversion ignores the vote counts themselves.
    assert conversion.score(1, votes=10, top_votes=10) == conversion.top
    assert conversion.score(2, votes=9, top_votes=10) == conversion.score(2, votes=1, top_votes=10)
    assert conversion.score(2) < conversion.score(1)


def test_seed000_experts_judge_standardization_reach_influence_service() -> None:
    criteria = {c.id: c.name for c in shaanxi().scoring.expert_criteria}
    assert criteria == {
        "standardization": "规范性",
        "reach": "传播力",
        "influence": "影响力",
        "service": "服务性",
    }


def test_seed000_experts_judge_the_activity_conduct_effect_and_publicity() -> None:
    assert [c.name for c in shaanxi().scoring.activity_criteria] == ["活动开展情况", "活动效果", "宣传效果"]


def test_seed000_activity_score_is_forfeited_without_a_summary() -> None:
    assert shaanxi().scoring.activity_forfeit_if_missing


def test_seed000_results_are_approved_by_committee_then_supervising_unit() -> None:
    results = shaanxi().results
    assert [s.role for s in results.approval_steps] == ["committee", "supervisor"]
    assert results.approval_steps[1].name == "主管单位审批"


def test_seed000_results_bring_a_commendation() -> None:
    assert shaanxi().results.commendation


def test_seed000_forbids_vote_brushing() -> None:
    voting = shaanxi().voting
    assert voting is not None and voting.brushing_forbidden


# --- seed 001: Henan 2021 typical cases ---------------------------------------------------


def test_seed001_is_a_cases_campaign() -> None:
    assert henan().kind == "cases"


def test_seed001_categories_and_planned_winners_are_10_15_15() -> None:
    assert [(c.name, c.kind, c.winners) for c in henan().categories] == [
        ("优秀机构案例", "institutional", 10),
        ("优秀个人案例", "personal", 15),
        ("优秀创意案例", "creative", 15),
    ]


def test_seed001_self_nomination_only_for_personal_cases() -> None:
    definition = henan()
    assert not definition.eligibility.collective_nomination_only
    assert {c.id: c.self_nomination_allowed for c in definition.categories} == {
        "institutional": False,
        "personal": True,
        "creative": False,
    }


def test_seed001_collection_runs_from_20_october_to_20_november() -> None:
    nomination = henan().phase("nomination")
    assert nomination is not None
    assert nomination.starts_at == cst(2021, 10, 20)
    assert nomination.ends_at == cst(2021, 11, 20)


def test_seed001_voting_runs_from_20_to_30_november() -> None:
    definition = henan()
    assert not definition.is_open("voting", cst(2021, 11, 19, 23, 59))
    assert definition.is_open("voting", cst(2021, 11, 20))
    assert definition.is_open("voting", cst(2021, 11, 30, 23, 59))
    assert not definition.is_open("voting", cst(2021, 12, 1))


def test_seed001_showcase_lasts_until_31_december() -> None:
    publication = henan().phase("publication")
    assert publication is not None
    assert publication.ends_at == cst(2022, 1, 1)


def test_seed001_ten_votes_per_person_per_day_all_to_one_entry_allowed() -> None:
    voting = henan().voting
    assert voting is not None
    assert voting.votes_per_day == 10
    assert voting.all_to_one_entry_allowed
    assert voting.per_entry_daily_cap is None


def test_seed001_forbids_vote_brushing() -> None:
    voting = henan().voting
    assert voting is not None and voting.brushing_forbidden


def test_seed001_each_unit_recommends_at_least_two_per_category() -> None:
    quotas = henan().quotas
    assert quotas.min_per_unit_per_category == 2
    assert quotas.max_per_unit is None


def test_seed001_cases_date_from_january_2021() -> None:
    assert henan().eligibility.cases_from == "2021-01"


def test_seed001_platforms_are_those_listed() -> None:
    assert {
        "weibo",
        "wechat",
        "toutiao",
        "baidu",
        "yidian",
        "douyin",
        "kuaishou",
        "mini_program",
        "app",
    } <= set(henan().eligibility.platforms)


def test_seed001_form_has_the_fields_of_annex_2() -> None:
    labels = [f.label for f in henan().form]
    for label in (
        "姓名（报送人）",
        "民族",
        "出生年月",
        "政治面貌",
        "性别",
        "手机号",
        "单位及职务",
        "征集类别",
        "案例名称",
        "主要事迹",
        "网上相关账号、作品、案例链接",
    ):
        assert label in labels


def test_seed001_main_deeds_at_most_1000_characters() -> None:
    main_deeds = henan().field("main_deeds")
    assert main_deeds is not None
    assert main_deeds.required and main_deeds.max_length == 1000


def test_seed001_links_are_required() -> None:
    links = henan().field("links")
    assert links is not None and links.type == "url_list" and links.required


@pytest.mark.parametrize(
    "field_id", ["submitter_name", "ethnicity", "birth_month", "political_status", "gender", "mobile"]
)
def test_seed001_personal_data_is_not_public(field_id: str) -> None:
    form_field = henan().field(field_id)
    assert form_field is not None and not form_field.public


def test_seed001_mobile_is_a_phone_field() -> None:
    mobile = henan().field("mobile")
    assert mobile is not None and mobile.type == "phone"


def test_seed001_approval_chain_is_unit_then_internet_affairs_office_both_sealed() -> None:
    steps = henan().approval_steps
    assert [(s.name, s.role, s.seal_required) for s in steps] == [
        ("所在单位意见", "unit", True),
        ("省、市级网信办意见", "office", True),
    ]


def test_seed001_scoring_combines_the_panel_with_public_interaction() -> None:
    scoring = henan().scoring
    assert {c.id for c in scoring.components} == {"expert", "vote"}
    assert sum(c.weight for c in scoring.components) == 100
    assert scoring.weight("expert") > scoring.weight("vote")


def test_seed001_scoring_weights_are_marked_as_an_assumption() -> None:
    text = (CAMPAIGNS / "henan-2021-cases.yaml").read_text(encoding="utf-8")
    scoring = text[text.index("\nscoring:") : text.index("\nvoting:")]
    assert "assumption" in scoring


def test_seed001_panel_judges_the_five_qualities_of_a_case() -> None:
    assert [c.name for c in henan().scoring.expert_criteria] == [
        "典型性",
        "创新性",
        "示范性",
        "精确性",
        "可复制推广性",
    ]


def test_seed001_results_are_published_by_the_end_of_december() -> None:
    results = henan().results
    assert results.announce_by == cst(2022, 1, 1)
    assert results.channels == ["映象网首页公告区", "大象新闻APP"]


# --- broken definitions -------------------------------------------------------------------

MINIMAL: dict = {
    "id": "test-campaign",
    "version": 1,
    "title": "测试活动",
    "title_en": "Test campaign",
    "organizer": "测试网信办",
    "kind": "accounts",
    "categories": [
        {"id": "institutional", "name": "机构账号", "name_en": "Institutional", "kind": "institutional"},
        {"id": "personal", "name": "个人账号", "name_en": "Personal", "kind": "personal"},
    ],
    "phases": [
        {
            "id": "nomination",
            "name": "报名",
            "starts_at": "2024-08-19T00:00:00",
            "ends_at": "2024-08-26T00:00:00",
        },
        {
            "id": "voting",
            "name": "投票",
            "starts_at": "2024-09-01T00:00:00",
            "ends_at": "2024-09-10T00:00:00",
        },
    ],
    "eligibility": {
        "platforms": ["wechat", "weibo"],
        "follower_thresholds": [{"platform": "wechat", "level": "provincial", "min_followers": 20000}],
    },
    "form": [
        {"id": "category", "label": "类别", "label_en": "Category", "type": "category", "required": True},
        {"id": "platform", "label": "平台", "label_en": "Platform", "type": "platform", "required": True},
    ],
    "approval_steps": [{"id": "unit", "name": "单位推荐", "role": "unit"}],
    "scoring": {
        "components": [
            {"id": "expert", "name": "专家", "weight": 70},
            {"id": "vote", "name": "投票", "weight": 30},
        ],
        "vote_conversion": {"method": "rank_step", "step": 2},
        "expert_criteria": [{"id": "reach", "name": "传播力", "max_points": 100}],
    },
    "voting": {"votes_per_day": 10, "verification": ["sms"]},
}


def minimal(**changes) -> dict:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def refused(data: dict) -> list[dict[str, str]]:
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return caught.value.errors


def fields(errors: list[dict[str, str]]) -> list[str]:
    return [e["field"] for e in errors]


def test_minimal_definition_is_accepted() -> None:
    definition = parse_campaign(yaml.safe_dump(MINIMAL, allow_unicode=True))
    assert definition.id == "test-campaign"


def test_unknown_top_level_key_is_refused() -> None:
    errors = refused(minimal(winners=40))
    assert fields(errors) == ["winners"]
    assert "unknown key" in errors[0]["message"]


def test_unknown_nested_key_is_refused_with_its_path() -> None:
    data = minimal()
    data["phases"][1]["closes"] = "2024-09-10T00:00:00"
    assert fields(refused(data)) == ["phases[1].closes"]


def test_weights_not_summing_to_100_are_refused() -> None:
    data = minimal()
    data["scoring"]["components"][0]["weight"] = 60
    errors = refused(data)
    assert fields(errors) == ["scoring.components"]
    assert "90" in errors[0]["message"] and "100" in errors[0]["message"]


def test_overlapping_phases_are_refused() -> None:
    data = minimal()
    data["phases"][1]["starts_at"] = "2024-08-25T00:00:00"
    errors = refused(data)
    assert fields(errors) == ["phases[1].starts_at"]
    assert "nomination" in errors[0]["message"]


def test_phase_ending_before_it_starts_is_refused() -> None:
    data = minimal()
    data["phases"][0]["ends_at"] = "2024-08-18T00:00:00"
    assert fields(refused(data)) == ["phases[0].ends_at"]


def test_phases_out_of_order_are_refused() -> None:
    data = minimal()
    data["phases"].reverse()
    assert "phases[1].id" in fields(refused(data))


def test_repeated_phase_is_refused() -> None:
    data = minimal()
    data["phases"].append(
        {"id": "voting", "name": "投票", "starts_at": "2024-09-11T00:00:00", "ends_at": "2024-09-12T00:00:00"}
    )
    assert "phases[2].id" in fields(refused(data))


def test_unknown_phase_id_is_refused() -> None:
    data = minimal()
    data["phases"][1]["id"] = "lottery"
    assert fields(refused(data)) == ["phases[1].id"]


def test_bad_timezone_is_refused() -> None:
    errors = refused(minimal(timezone="Asia/Xian"))
    assert fields(errors) == ["timezone"]
    assert "Asia/Xian" in errors[0]["message"]


def test_naive_dates_are_read_in_the_campaign_timezone() -> None:
    definition = parse_campaign(yaml.safe_dump(MINIMAL, allow_unicode=True))
    assert definition.phases[0].starts_at == datetime(2024, 8, 18, 16, 0, tzinfo=UTC)
    other = parse_campaign(yaml.safe_dump(minimal(timezone="Europe/Berlin"), allow_unicode=True))
    assert other.phases[0].starts_at == datetime(2024, 8, 18, 22, 0, tzinfo=UTC)


def test_unquoted_yaml_timestamps_are_read_in_the_campaign_timezone() -> None:
    text = yaml.safe_dump(MINIMAL, allow_unicode=True).replace("'2024-08-19T00:00:00'", "2024-08-19T00:00:00")
    assert "starts_at: 2024-08-19T00:00:00\n" in text
    definition = parse_campaign(text)
    assert definition.phases[0].starts_at == datetime(2024, 8, 19, tzinfo=SHANGHAI)


def test_explicit_offsets_are_kept() -> None:
    data = minimal()
    data["phases"][0]["starts_at"] = "2024-08-19T00:00:00+00:00"
    definition = parse_campaign(yaml.safe_dump(data))
    assert definition.phases[0].starts_at == datetime(2024, 8, 19, tzinfo=UTC)


def test_bare_day_is_refused_as_ambiguous() -> None:
    data = minimal()
    data["phases"][0]["ends_at"] = "2024-08-25"
    errors = refused(data)
    assert fields(errors) == ["phases[0].ends_at"]


def test_threshold_on_an_unlisted_platform_is_refused() -> None:
    data = minimal()
    data["eligibility"]["follower_thresholds"].append(
        {"platform": "douyin", "level": "city", "min_followers": 1}
    )
    assert fields(refused(data)) == ["eligibility.follower_thresholds[1].platform"]


def test_repeated_threshold_is_refused() -> None:
    data = minimal()
    data["eligibility"]["follower_thresholds"].append(
        {"platform": "wechat", "level": "provincial", "min_followers": 1}
    )
    assert fields(refused(data)) == ["eligibility.follower_thresholds[1]"]


def test_unknown_platform_is_refused() -> None:
    data = minimal()
    data["eligibility"]["platforms"].append("myspace")
    assert fields(refused(data)) == ["eligibility.platforms"]


def test_zero_winners_are_refused() -> None:
    data = minimal()
    data["categories"][0]["winners"] = 0
    assert fields(refused(data)) == ["categories[0].winners"]


def test_repeated_category_is_refused() -> None:
    data = minimal()
    data["categories"][1]["id"] = "institutional"
    assert fields(refused(data)) == ["categories[1].id"]


def test_self_nomination_contradicting_collective_nomination_is_refused() -> None:
    data = minimal()
    data["eligibility"]["collective_nomination_only"] = True
    data["categories"][1]["self_nomination_allowed"] = True
    assert fields(refused(data)) == ["categories[1].self_nomination_allowed"]


def test_personal_quota_above_unit_quota_is_refused() -> None:
    errors = refused(minimal(quotas={"max_per_unit": 1, "max_personal_per_unit": 2}))
    assert fields(errors) == ["quotas.max_personal_per_unit"]


def test_voting_phase_without_voting_rules_is_refused() -> None:
    data = minimal()
    del data["voting"]
    assert "voting" in fields(refused(data))


def test_vote_component_without_conversion_is_refused() -> None:
    data = minimal()
    del data["scoring"]["vote_conversion"]
    assert fields(refused(data)) == ["scoring.vote_conversion"]


def test_activity_component_without_activity_is_refused() -> None:
    data = minimal()
    data["scoring"]["components"] = [
        {"id": "expert", "name": "专家", "weight": 50},
        {"id": "vote", "name": "投票", "weight": 30},
        {"id": "activity", "name": "活动", "weight": 20},
    ]
    assert set(fields(refused(data))) == {"activity", "scoring.activity_criteria"}


def test_required_activity_without_deadline_is_refused() -> None:
    assert fields(refused(minimal(activity={"required": True}))) == ["activity"]


def test_per_entry_cap_contradicting_all_to_one_is_refused() -> None:
    data = minimal()
    data["voting"]["per_entry_daily_cap"] = 3
    assert fields(refused(data)) == ["voting.per_entry_daily_cap"]


def test_select_without_choices_is_refused() -> None:
    data = minimal()
    data["form"].append({"id": "gender", "label": "性别", "label_en": "Gender", "type": "select"})
    assert fields(refused(data)) == ["form[2]"]


def test_rule_field_of_the_wrong_type_is_refused() -> None:
    data = minimal()
    data["form"].append({"id": "followers", "label": "粉丝量", "label_en": "Followers", "type": "text"})
    assert fields(refused(data)) == ["form[2].type"]


def test_unknown_field_type_is_refused() -> None:
    data = minimal()
    data["form"][1]["type"] = "signature"
    assert fields(refused(data)) == ["form[1].type"]


def test_form_without_category_field_is_refused() -> None:
    data = minimal()
    data["form"] = data["form"][1:]
    assert fields(refused(data)) == ["form"]


def test_missing_key_is_named() -> None:
    data = minimal()
    del data["title"]
    errors = refused(data)
    assert fields(errors) == ["title"]
    assert "required" in errors[0]["message"]


def test_several_problems_are_reported_together() -> None:
    data = minimal(timezone="Mars/Olympus", colour="red")
    data["scoring"]["components"][0]["weight"] = 10
    assert set(fields(refused(data))) >= {"timezone", "colour"}


def test_duplicate_yaml_key_is_refused() -> None:
    text = yaml.safe_dump(MINIMAL, allow_unicode=True, sort_keys=False) + "version: 2\n"
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign(text)
    assert "duplicate key" in caught.value.errors[0]["message"]


def test_malformed_yaml_is_refused() -> None:
    with pytest.raises(CampaignDefinitionError):
        parse_campaign("id: [unclosed")


def test_a_list_is_not_a_definition() -> None:
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign("- id: x\n")
    assert caught.value.errors[0]["field"] == ""


def test_error_text_names_each_field() -> None:
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign(yaml.safe_dump(minimal(timezone="Nowhere/Town"), allow_unicode=True))
    assert "timezone:" in str(caught.value)


# --- queries ------------------------------------------------------------------------------


def test_phase_at_finds_the_running_phase_and_nothing_between_phases() -> None:
    definition = shaanxi()
    assert definition.phase_at(cst(2024, 9, 10)).id == "voting"
    assert definition.phase_at(cst(2024, 8, 1)) is None
    assert definition.phase_at(cst(2024, 11, 1)) is None
    between = henan()
    assert between.phase_at(cst(2021, 10, 19, 23)) is None


def test_phase_at_accepts_any_timezone() -> None:
    instant = datetime(2024, 8, 25, 16, 0, tzinfo=UTC)  # 2024-08-26 00:00 in Shanghai
    assert shaanxi().phase_at(instant).id == "initial_review"


def test_phase_at_refuses_naive_instants() -> None:
    with pytest.raises(ValueError):
        shaanxi().phase_at(datetime(2024, 8, 20))


def test_follower_threshold_needs_the_level_where_it_matters() -> None:
    assert shaanxi().follower_threshold("wechat", None) is None
    assert shaanxi().follower_threshold("bilibili", None) == 10_000


def test_follower_threshold_is_none_without_thresholds() -> None:
    assert henan().follower_threshold("weibo", "provincial") is None


def test_public_fields_leave_personal_data_out() -> None:
    public = henan().public_field_ids()
    assert "main_deeds" in public and "mobile" not in public and "gender" not in public
