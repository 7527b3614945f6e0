"""Each nomination rule fires on the smallest breach and stays quiet on the boundary case that is allowed."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.submission.domain.campaign import CampaignDefinition, load_campaign_file
from services.submission.domain.content import neutralise, neutralise_form, split_holds
from services.submission.domain.rules import (
    ExistingNomination,
    ProposedNomination,
    QuotaShortfall,
    RuleViolation,
    ViolationCode,
    check_form,
    check_nomination,
    count_by_unit_and_category,
    is_valid_mobile,
    is_well_formed_link,
    normalise_mobile,
    platform_for_url,
    quota_shortfalls,
)

ROOT = Path(__file__).parents[2]
CAMPAIGNS = ROOT / "campaigns"
SHANGHAI = ZoneInfo("Asia/Shanghai")
SHAANXI_OPEN = datetime(2024, 8, 20, 10, 0, tzinfo=SHANGHAI)
HENAN_OPEN = datetime(2021, 11, 1, 10, 0, tzinfo=SHANGHAI)


@cache
def shaanxi() -> CampaignDefinition:
    return load_campaign_file(CAMPAIGNS / "shaanxi-2024-accounts.yaml")


@cache
def henan() -> CampaignDefinition:
    return load_campaign_file(CAMPAIGNS / "henan-2021-cases.yaml")


def shaanxi_with(**eligibility: Any) -> CampaignDefinition:
    data = yaml.safe_load((CAMPAIGNS / "shaanxi-2024-accounts.yaml").read_text(encoding="utf-8"))
    data["eligibility"].update(eligibility)
    return CampaignDefinition.model_validate(data)


def account(**changes: Any) -> ProposedNomination:
    """A provincial WeChat account that meets every seed 000 rule."""
    base = ProposedNomination(
        unit_id="xjtu",
        category="institutional",
        platform="wechat",
        account_name="西安交通大学",
        account_id="xjtu1896",
        account_url="https://mp.weixin.qq.com/s/AbCdEf",
        level="provincial",
        operating_entity="西安交通大学党委宣传部",
        followers=20_000,
        posts=320,
        interactions=15_000,
        form={
            "introduction": "学校官方微信公众号，2024年发布原创稿件320篇。",
            "contact_name": "王老师",
            "contact_phone": "13812345678",
        },
    )
    form = {**base.form, **changes.pop("form", {})}
    return dataclasses.replace(base, form=form, **changes)


def case(**changes: Any) -> ProposedNomination:
    """A personal case that meets every seed 001 rule."""
    base = ProposedNomination(
        unit_id="zhumadian",
        category="personal",
        form={
            "submitter_name": "张三",
            "ethnicity": "汉族",
            "birth_month": "1985-06",
            "political_status": "中共党员",
            "gender": "男",
            "mobile": "15236376008",
            "unit_position": "河南省驻马店市XX单位XX职务",
            "case_name": "网上“民生直通车”",
            "case_month": "2021-03",
            "main_deeds": "开设网上留言专栏，全年回复网民留言1200条，办结率98%。",
            "links": ["https://weibo.com/u/123456", "https://www.hnr.cn/news/1.html"],
        },
    )
    form = {**base.form, **changes.pop("form", {})}
    return dataclasses.replace(base, form=form, **changes)


def existing(n: int, **changes: Any) -> ExistingNomination:
    base = ExistingNomination(
        id=f"n{n}",
        unit_id="xjtu",
        category="institutional",
        category_kind="institutional",
        platform="weibo",
        account_id=f"other{n}",
        operating_entity=f"学院{n}",
    )
    return dataclasses.replace(base, **changes)


def codes(violations: list[RuleViolation]) -> list[str]:
    return [v.code for v in violations]


def shaanxi_codes(proposal: ProposedNomination, others=(), at: datetime = SHAANXI_OPEN) -> list[str]:
    return codes(check_nomination(shaanxi(), proposal, others, at=at))


def henan_codes(proposal: ProposedNomination, others=(), at: datetime = HENAN_OPEN) -> list[str]:
    return codes(check_nomination(henan(), proposal, others, at=at))


# --- the valid baselines -----------------------------------------------------------------


def test_valid_account_passes() -> None:
    assert check_nomination(shaanxi(), account(), at=SHAANXI_OPEN) == []


def test_valid_case_passes() -> None:
    assert check_nomination(henan(), case(), at=HENAN_OPEN) == []


def test_every_code_is_stable() -> None:
    assert {c.value for c in ViolationCode} == {
        "phase_closed",
        "quota_unit_exceeded",
        "quota_personal_exceeded",
        "quota_operating_entity_exceeded",
        "below_follower_threshold",
        "matrix_entry_not_allowed",
        "account_already_nominated",
        "account_excluded",
        "self_nomination_not_allowed",
        "platform_not_allowed",
        "case_too_old",
        "field_required",
        "field_too_long",
        "invalid_phone",
        "invalid_link",
        "link_domain_not_allowed",
        "link_platform_mismatch",
        "invalid_number",
        "unknown_category",
        "invalid_value",
        "blocked_term",
    }


def test_violations_carry_both_languages() -> None:
    [violation] = check_nomination(shaanxi(), account(followers=19_999), at=SHAANXI_OPEN)
    assert violation.to_dict() == {
        "code": "below_follower_threshold",
        "field": "followers",
        "message_zh": violation.message_zh,
        "message_en": violation.message_en,
    }
    assert "20,000" in violation.message_zh and "20,000" in violation.message_en


# --- phase_closed -------------------------------------------------------------------------


def test_seed000_nomination_on_the_last_second_of_25_august_passes() -> None:
    assert shaanxi_codes(account(), at=datetime(2024, 8, 25, 23, 59, 59, tzinfo=SHANGHAI)) == []


def test_seed000_nomination_at_midnight_after_25_august_is_closed() -> None:
    assert shaanxi_codes(account(), at=datetime(2024, 8, 26, tzinfo=SHANGHAI)) == ["phase_closed"]


def test_seed000_nomination_before_launch_is_closed() -> None:
    assert shaanxi_codes(account(), at=datetime(2024, 8, 18, 23, 59, tzinfo=SHANGHAI)) == ["phase_closed"]


def test_seed001_nomination_during_voting_is_closed() -> None:
    assert henan_codes(case(), at=datetime(2021, 11, 20, tzinfo=SHANGHAI)) == ["phase_closed"]


def test_phase_closed_names_the_nomination_window() -> None:
    [violation] = check_nomination(shaanxi(), account(), at=datetime(2024, 9, 1, tzinfo=SHANGHAI))
    assert "2024-08-26 00:00" in violation.message_zh


# --- unknown_category ---------------------------------------------------------------------


def test_unknown_category_fails() -> None:
    assert shaanxi_codes(account(category="best")) == ["unknown_category"]


# --- quotas -------------------------------------------------------------------------------


def test_seed000_second_account_of_a_unit_passes() -> None:
    assert shaanxi_codes(account(), [existing(1)]) == []


def test_seed000_third_account_of_a_unit_fails() -> None:
    assert shaanxi_codes(account(), [existing(1), existing(2)]) == ["quota_unit_exceeded"]


def test_seed000_accounts_of_other_units_do_not_count() -> None:
    assert shaanxi_codes(account(), [existing(1, unit_id="nwpu"), existing(2, unit_id="nwpu")]) == []


def test_seed000_withdrawn_and_rejected_nominations_give_their_place_back() -> None:
    others = [existing(1, status="withdrawn"), existing(2, status="rejected"), existing(3)]
    assert shaanxi_codes(account(), others) == []


def test_seed000_correcting_a_nomination_does_not_count_it_twice() -> None:
    others = [existing(1), existing(2, platform="wechat", account_id="xjtu1896")]
    assert shaanxi_codes(account(id="n2"), others) == []


def test_seed000_first_personal_account_passes() -> None:
    assert shaanxi_codes(account(category="personal"), [existing(1)]) == []


def test_seed000_second_personal_account_fails() -> None:
    others = [existing(1, category="personal", category_kind="personal")]
    assert shaanxi_codes(account(category="personal"), others) == ["quota_personal_exceeded"]


def test_seed000_personal_kind_is_looked_up_when_not_given() -> None:
    others = [existing(1, category="personal", category_kind=None)]
    assert shaanxi_codes(account(category="personal"), others) == ["quota_personal_exceeded"]


def test_seed000_same_operating_entity_twice_fails() -> None:
    others = [existing(1, operating_entity="西安交通大学 党委宣传部")]
    assert shaanxi_codes(account(), others) == ["quota_operating_entity_exceeded"]


def test_seed000_operating_entity_counts_across_units() -> None:
    others = [existing(1, unit_id="nwpu", operating_entity="西安交通大学党委宣传部")]
    assert shaanxi_codes(account(), others) == ["quota_operating_entity_exceeded"]


def test_seed000_different_operating_entity_passes() -> None:
    assert shaanxi_codes(account(), [existing(1, operating_entity="西安交通大学团委")]) == []


def test_seed001_has_no_upper_quota() -> None:
    others = [
        ExistingNomination(id=f"c{i}", unit_id="zhumadian", category="personal", category_kind="personal")
        for i in range(20)
    ]
    assert henan_codes(case(), others) == []


# --- below_follower_threshold -------------------------------------------------------------

THRESHOLDS = [
    ("wechat", "provincial", 20_000, "https://mp.weixin.qq.com/s/x"),
    ("wechat", "city", 10_000, "https://mp.weixin.qq.com/s/x"),
    ("weibo", "provincial", 100_000, "https://weibo.com/u/1"),
    ("weibo", "city", 50_000, "https://weibo.com/u/1"),
    ("douyin", "provincial", 100_000, "https://www.douyin.com/user/1"),
    ("douyin", "city", 50_000, "https://v.douyin.com/abc/"),
    ("kuaishou", "provincial", 100_000, "https://www.kuaishou.com/profile/1"),
    ("kuaishou", "city", 50_000, "https://v.kuaishou.com/abc"),
    ("bilibili", "provincial", 10_000, "https://space.bilibili.com/1"),
    ("toutiao", "city", 10_000, "https://www.toutiao.com/c/user/1/"),
]


@pytest.mark.parametrize(("platform", "level", "threshold", "url"), THRESHOLDS)
def test_seed000_exactly_the_threshold_passes(platform: str, level: str, threshold: int, url: str) -> None:
    proposal = account(platform=platform, level=level, followers=threshold, account_url=url)
    assert shaanxi_codes(proposal) == []


@pytest.mark.parametrize(("platform", "level", "threshold", "url"), THRESHOLDS)
def test_seed000_one_below_the_threshold_fails(platform: str, level: str, threshold: int, url: str) -> None:
    proposal = account(platform=platform, level=level, followers=threshold - 1, account_url=url)
    assert shaanxi_codes(proposal) == ["below_follower_threshold"]


def test_seed000_follower_count_given_as_text_is_read() -> None:
    assert shaanxi_codes(account(followers=None, form={"followers": "20000"})) == []
    assert shaanxi_codes(account(followers=None, form={"followers": "19999"})) == ["below_follower_threshold"]


def test_seed000_level_is_required_for_a_wechat_account() -> None:
    assert shaanxi_codes(account(level=None)) == ["field_required"]


def test_seed001_cases_have_no_follower_threshold() -> None:
    assert henan_codes(case(platform="weibo", followers=1)) == []


# --- invalid_number -----------------------------------------------------------------------


@pytest.mark.parametrize("followers", ["2万", "20,000", -5, 20000.5, True])
def test_seed000_followers_must_be_a_whole_number(followers: Any) -> None:
    assert "invalid_number" in shaanxi_codes(account(followers=followers))


def test_seed000_zero_posts_is_a_number() -> None:
    assert shaanxi_codes(account(posts=0)) == []


# --- matrix_entry_not_allowed -------------------------------------------------------------


def test_seed000_matrix_entry_fails() -> None:
    assert shaanxi_codes(account(is_matrix=True)) == ["matrix_entry_not_allowed"]


def test_seed000_several_account_ids_are_a_matrix() -> None:
    assert shaanxi_codes(account(account_id="xjtu1896、xjtu_tw")) == ["matrix_entry_not_allowed"]


def test_seed001_matrix_is_no_concern_for_cases() -> None:
    assert henan_codes(case(is_matrix=True)) == []


# --- account_already_nominated ------------------------------------------------------------


def test_seed000_account_nominated_by_another_unit_fails() -> None:
    others = [existing(1, unit_id="nwpu", platform="wechat", account_id="XJTU1896")]
    assert shaanxi_codes(account(), others) == ["account_already_nominated"]


def test_seed000_same_account_id_on_another_platform_passes() -> None:
    assert shaanxi_codes(account(), [existing(1, unit_id="nwpu", account_id="xjtu1896")]) == []


def test_seed000_withdrawn_account_may_be_nominated_again() -> None:
    others = [existing(1, platform="wechat", account_id="xjtu1896", status="withdrawn")]
    assert shaanxi_codes(account(), others) == []


# --- account_excluded ---------------------------------------------------------------------


def test_seed000_account_on_the_exclusion_list_fails() -> None:
    definition = shaanxi_with(
        excluded_accounts=[{"platform": "wechat", "account_id": "xjtu1896", "reason": "2024年6月被通报"}]
    )
    assert codes(check_nomination(definition, account(), at=SHAANXI_OPEN)) == ["account_excluded"]


def test_seed000_excluded_account_is_matched_by_name() -> None:
    definition = shaanxi_with(
        excluded_accounts=[{"platform": "wechat", "name": "西安交通大学", "reason": "通报"}]
    )
    assert codes(check_nomination(definition, account(), at=SHAANXI_OPEN)) == ["account_excluded"]


def test_seed000_exclusion_on_another_platform_does_not_apply() -> None:
    definition = shaanxi_with(
        excluded_accounts=[{"platform": "weibo", "account_id": "xjtu1896", "reason": "通报"}]
    )
    assert codes(check_nomination(definition, account(), at=SHAANXI_OPEN)) == []


def test_seed000_report_within_twelve_months_excludes() -> None:
    definition = shaanxi_with(
        excluded_accounts=[
            {"platform": "wechat", "account_id": "xjtu1896", "reason": "通报", "reported_on": "2023-08-20"}
        ]
    )
    assert codes(check_nomination(definition, account(), at=SHAANXI_OPEN)) == ["account_excluded"]


def test_seed000_report_older_than_twelve_months_no_longer_excludes() -> None:
    definition = shaanxi_with(
        excluded_accounts=[
            {"platform": "wechat", "account_id": "xjtu1896", "reason": "通报", "reported_on": "2023-08-19"}
        ]
    )
    assert codes(check_nomination(definition, account(), at=SHAANXI_OPEN)) == []


def test_seed000_known_recent_report_of_the_account_excludes() -> None:
    assert shaanxi_codes(account(reported_at=date(2024, 1, 5))) == ["account_excluded"]
    assert shaanxi_codes(account(reported_at=date(2023, 1, 5))) == []


# --- self_nomination_not_allowed ----------------------------------------------------------


def test_seed000_self_nomination_is_refused() -> None:
    assert shaanxi_codes(account(category="personal", is_self_nomination=True)) == [
        "self_nomination_not_allowed"
    ]


def test_seed001_self_nomination_is_allowed_for_personal_cases() -> None:
    assert henan_codes(case(is_self_nomination=True)) == []


@pytest.mark.parametrize("category", ["institutional", "creative"])
def test_seed001_self_nomination_is_refused_for_other_categories(category: str) -> None:
    assert henan_codes(case(category=category, is_self_nomination=True)) == ["self_nomination_not_allowed"]


# --- platform_not_allowed -----------------------------------------------------------------


def test_seed000_unlisted_platform_fails() -> None:
    proposal = account(platform="app", account_url="https://www.xjtu.edu.cn/app")
    assert shaanxi_codes(proposal) == ["platform_not_allowed"]


def test_seed000_other_platform_passes() -> None:
    proposal = account(platform="other", account_url="https://www.zhihu.com/org/xjtu", followers=10_000)
    assert shaanxi_codes(proposal) == []


def test_unknown_platform_id_fails() -> None:
    assert "platform_not_allowed" in shaanxi_codes(account(platform="myspace"))


# --- link_platform_mismatch ---------------------------------------------------------------


def test_seed000_weibo_link_for_a_wechat_account_fails() -> None:
    assert shaanxi_codes(account(account_url="https://weibo.com/u/1")) == ["link_platform_mismatch"]


def test_seed000_university_site_is_not_a_wechat_account_link() -> None:
    assert shaanxi_codes(account(account_url="https://news.xjtu.edu.cn/")) == ["link_platform_mismatch"]


def test_seed000_weibo_account_declared_as_other_platform_fails() -> None:
    proposal = account(platform="other", account_url="https://weibo.com/u/1", followers=10_000)
    assert shaanxi_codes(proposal) == ["link_platform_mismatch"]


def test_seed000_weibo_cn_link_for_a_weibo_account_passes() -> None:
    proposal = account(platform="weibo", account_url="https://m.weibo.cn/u/1", followers=100_000)
    assert shaanxi_codes(proposal) == []


# --- case_too_old -------------------------------------------------------------------------


def test_seed001_case_from_january_2021_passes() -> None:
    assert henan_codes(case(case_month="2021-01")) == []


def test_seed001_case_from_december_2020_fails() -> None:
    assert henan_codes(case(case_month="2020-12")) == ["case_too_old"]


# --- field_required -----------------------------------------------------------------------


def test_seed001_missing_main_deeds_fails() -> None:
    violations = check_nomination(henan(), case(form={"main_deeds": "  "}), at=HENAN_OPEN)
    assert [(v.code, v.field) for v in violations] == [("field_required", "main_deeds")]
    assert violations[0].message_zh == "请填写主要事迹"


def test_seed001_missing_links_fail() -> None:
    assert henan_codes(case(form={"links": []})) == ["field_required"]


def test_seed000_missing_account_name_fails() -> None:
    assert shaanxi_codes(account(account_name=None)) == ["field_required"]


def test_drafts_may_leave_required_fields_empty() -> None:
    assert check_form(henan(), {"category": "personal"}, partial=True) == []
    assert "field_required" in codes(check_form(henan(), {"category": "personal"}))


# --- field_too_long -----------------------------------------------------------------------


def test_seed001_main_deeds_of_1000_characters_pass() -> None:
    assert henan_codes(case(form={"main_deeds": "事" * 1000})) == []


def test_seed001_main_deeds_of_1001_characters_fail() -> None:
    violations = check_nomination(henan(), case(form={"main_deeds": "事" * 1001}), at=HENAN_OPEN)
    assert [(v.code, v.field) for v in violations] == [("field_too_long", "main_deeds")]
    assert "1000" in violations[0].message_zh and "1001" in violations[0].message_zh


# --- invalid_phone ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone", ["15236376008", "138 1234 5678", "138-1234-5678", "+86 13812345678", "19912345678"]
)
def test_seed001_mobile_numbers_pass(phone: str) -> None:
    assert henan_codes(case(form={"mobile": phone})) == []


@pytest.mark.parametrize(
    "phone", ["029-86168941", "12812345678", "1381234567", "138123456789", "1381234567a", "+1 2025550123"]
)
def test_seed001_other_numbers_fail(phone: str) -> None:
    assert henan_codes(case(form={"mobile": phone})) == ["invalid_phone"]


def test_seed000_contact_phone_is_checked_too() -> None:
    assert shaanxi_codes(account(form={"contact_phone": "2788998"})) == ["invalid_phone"]


def test_normalise_mobile_keeps_the_eleven_digits() -> None:
    assert normalise_mobile("+86 138-1234-5678") == "13812345678"
    assert normalise_mobile(13812345678) is None
    assert is_valid_mobile("18729484409")


# --- invalid_link -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "weibo.com/u/1",
        "ftp://weibo.com/u/1",
        "javascript:alert(1)",
        "https://",
        "https://user:secret@weibo.com/u/1",
        "http://192.168.1.1/x",
        "https://weibo.com/u/1 extra",
    ],
)
def test_seed001_malformed_links_fail(link: str) -> None:
    assert henan_codes(case(form={"links": [link]})) == ["invalid_link"]


def test_seed001_link_outside_the_allowed_sites_fails() -> None:
    violations = check_nomination(
        henan(), case(form={"links": ["https://casino.example.com/"]}), at=HENAN_OPEN
    )
    assert codes(violations) == ["link_domain_not_allowed"]
    assert "casino.example.com" in violations[0].message_en


def test_seed001_lookalike_domain_fails() -> None:
    assert henan_codes(case(form={"links": ["https://weibo.com.evil.example/u/1"]})) == ["link_domain_not_allowed"]


def test_seed001_links_may_come_as_one_text() -> None:
    links = "https://weibo.com/u/1\nhttps://www.henan.gov.cn/2021/10-01/1.html"
    assert henan_codes(case(form={"links": links})) == []


def test_seed001_link_hidden_in_main_deeds_is_checked() -> None:
    text = "详见 https://spam.example.com/ 页面"
    assert henan_codes(case(form={"main_deeds": text})) == ["link_domain_not_allowed"]


def test_link_helpers() -> None:
    assert is_well_formed_link("https://mp.weixin.qq.com/s/abc")
    assert not is_well_formed_link("mp.weixin.qq.com/s/abc")
    assert platform_for_url("https://mp.weixin.qq.com/s/abc") == "wechat"
    assert platform_for_url("https://m.weibo.cn/u/1") == "weibo"
    assert platform_for_url("https://v.douyin.com/abc/") == "douyin"
    assert platform_for_url("https://www.kuaishou.com/profile/1") == "kuaishou"
    assert platform_for_url("https://www.toutiao.com/c/user/1/") == "toutiao"
    assert platform_for_url("https://b23.tv/abc") == "bilibili"
    assert platform_for_url("https://baijiahao.baidu.com/s?id=1") == "baidu"
    assert platform_for_url("https://www.yidianzixun.com/channel/1") == "yidian"
    assert platform_for_url("https://www.qq.com/") is None
    assert platform_for_url("https://notweibo.com/") is None


# --- invalid_value and blocked_term -------------------------------------------------------


def test_seed001_gender_outside_the_choices_fails() -> None:
    assert henan_codes(case(form={"gender": "未知"})) == ["invalid_value"]


def test_seed001_birth_month_must_be_a_month() -> None:
    assert henan_codes(case(form={"birth_month": "1985/06"})) == ["invalid_value"]
    assert henan_codes(case(form={"birth_month": date(1985, 6, 1)})) == []


def test_seed000_level_outside_the_choices_fails() -> None:
    assert "invalid_value" in shaanxi_codes(account(level="county"))


def test_blocked_term_is_caught_through_spacing() -> None:
    proposal = account(form={"introduction": "欢迎访问太阳城 博 彩 官网"})
    assert shaanxi_codes(proposal) == ["blocked_term"]


# The first line of seed 003: gambling spam injected into a government page.
SEED_003_SPAM = "您现在所在的位置 : 首页 > 要闻 > 太阳城赌城_太阳城娱乐场$官网"


def test_seed003_gambling_spam_is_a_content_concern_in_either_campaign() -> None:
    assert shaanxi_codes(account(form={"introduction": SEED_003_SPAM})) == ["blocked_term"]
    assert henan_codes(case(form={"main_deeds": SEED_003_SPAM})) == ["blocked_term"]


def test_spam_is_caught_even_where_the_campaign_lists_no_blocked_terms() -> None:
    data = yaml.safe_load((CAMPAIGNS / "shaanxi-2024-accounts.yaml").read_text(encoding="utf-8"))
    data["content"]["blocked_terms"] = []
    bare = CampaignDefinition.model_validate(data)
    [violation] = check_nomination(bare, account(form={"introduction": "真人荷官 在线发牌"}), at=SHAANXI_OPEN)
    assert violation.code == "blocked_term" and violation.field == "introduction"
    assert "真人荷官" in violation.message_zh


def test_content_concerns_hold_while_rule_breaches_refuse() -> None:
    violations = check_nomination(
        henan(), case(form={"main_deeds": SEED_003_SPAM, "links": ["https://casino.example.com/"],
                            "mobile": "12345"}), at=HENAN_OPEN)
    refused, holds = split_holds(violations)
    assert [v.code for v in refused] == ["invalid_phone"]
    assert sorted(h.code for h in holds) == ["blocked_term", "link_domain_not_allowed"]
    assert all(h.message_zh and h.message_en for h in holds)


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("<script>alert(document.cookie)</script>示范号", "示范号"),
        ("<SCRIPT src=//evil.example/x.js></SCRIPT>号", "号"),
        ('<img src=x onerror="alert(1)">服务群众', "服务群众"),
        ('<a href="javascript:steal()">点我</a>', "点我"),
        ("<b>加粗</b><!-- 注释 -->正文", "加粗正文"),
        ("<iframe src=https://evil.example>", ""),
        ("粉丝量 < 10万 > 5万", "粉丝量 ＜ 10万 ＞ 5万"),
        ("<<script>script>alert(1)<</script>/script>", ""),
        ("正常文本\u202e倒置", "正常文本倒置"),
    ],
)
def test_markup_and_scripts_are_neutralised(text: str, public: str) -> None:
    assert neutralise(text) == public
    assert "<" not in neutralise(text)


def test_neutralise_form_leaves_numbers_and_cleans_lists() -> None:
    form = {"followers": 20_000, "links": ["<b>https://weibo.com/u/1</b>"], "name": "<i>甲</i>"}
    assert neutralise_form(form) == {"followers": 20_000, "links": ["https://weibo.com/u/1"], "name": "甲"}


# --- quota_shortfalls ---------------------------------------------------------------------


def test_seed001_unit_short_of_two_per_category_is_shown() -> None:
    counts = {"zhumadian": {"institutional": 2, "personal": 1}}
    assert quota_shortfalls(henan(), counts) == [
        QuotaShortfall("zhumadian", "personal", 2, 1),
        QuotaShortfall("zhumadian", "creative", 2, 0),
    ]


def test_seed001_unit_with_two_in_every_category_has_no_shortfall() -> None:
    counts = {"xinyang": {"institutional": 2, "personal": 3, "creative": 2}}
    assert quota_shortfalls(henan(), counts) == []


def test_seed001_unit_without_nominations_is_short_everywhere() -> None:
    shortfalls = quota_shortfalls(henan(), {}, units=["luoyang"])
    assert [(s.category, s.missing) for s in shortfalls] == [
        ("institutional", 2),
        ("personal", 2),
        ("creative", 2),
    ]
    assert "2" in shortfalls[0].message_zh


def test_seed000_has_no_minimum() -> None:
    assert quota_shortfalls(shaanxi(), {"xjtu": {}}) == []


def test_shortfall_never_blocks_a_nomination() -> None:
    assert henan_codes(case()) == []


def test_counts_leave_withdrawn_nominations_out() -> None:
    nominations = [
        ExistingNomination(id="1", unit_id="zhumadian", category="personal"),
        ExistingNomination(id="2", unit_id="zhumadian", category="personal", status="withdrawn"),
        ExistingNomination(id="3", unit_id="zhumadian", category="creative"),
    ]
    assert count_by_unit_and_category(nominations) == {"zhumadian": {"personal": 1, "creative": 1}}


# --- several at once ----------------------------------------------------------------------


def test_every_broken_rule_is_reported_once() -> None:
    proposal = account(
        category="personal",
        is_self_nomination=True,
        followers=10,
        form={"contact_phone": "123"},
    )
    others = [existing(1), existing(2, category="personal", category_kind="personal")]
    result = shaanxi_codes(proposal, others)
    assert sorted(result) == sorted(
        [
            "self_nomination_not_allowed",
            "invalid_phone",
            "below_follower_threshold",
            "quota_unit_exceeded",
            "quota_personal_exceeded",
        ]
    )
