"""Who else is told (reviewers, units on results day, the committee), on which channels, and webhook rules."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from massline.contracts import (
    EntryRanking,
    ExpertAssigned,
    ExpertScoreReopened,
    NominationSubmitted,
    PhaseInfo,
    RankingComputed,
    ResultsPublished,
)
from services.notification import domain
from services.notification.channels import plain, sms_text
from services.notification.rendering import TemplateCatalog

CAMPAIGN = domain.CampaignNames(
    "2024年陕西省“走好网上群众路线”成绩突出账号推选活动",
    {"institutional": {"zh": "机构/政务账号", "en": "Institutional account"},
     "personal": {"zh": "个人账号", "en": "Personal account"}},
)


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return TemplateCatalog.load()


def _entry(name: str, unit: str, rank: int) -> EntryRanking:
    return EntryRanking(entry_id=uuid.uuid4(), entry_name=name, unit_id=unit, rank=rank, total=90.0 - rank,
                        components={"vote": 50.0})


def test_reviewers_named_for_the_campaign_hear_of_each_new_nomination(catalog):
    event = NominationSubmitted(nomination_id=uuid.uuid4(), unit_id="u-xjtu", unit_name="西安交通大学",
                                category_id="institutional", entry_name="西安交大发布")
    notices = domain.notices_for(event, "shaanxi", ["office:xian", "office:province"])
    assert [(n.template, n.recipient) for n in notices] == [
        ("nomination_received", "unit:u-xjtu"),
        ("nomination_to_review", "office:xian"),
        ("nomination_to_review", "office:province"),
    ]
    rendered = catalog.render_notice(notices[1], "shaanxi", CAMPAIGN, "zh")
    assert "西安交通大学" in rendered.body and "西安交大发布" in rendered.subject and "请及时审核" in rendered.body
    assert domain.notices_for(event, "shaanxi") == notices[:1]


def test_results_tell_each_unit_where_its_own_entries_placed(catalog):
    event = ResultsPublished(campaign_id="shaanxi", version=2, categories={
        "institutional": [_entry("西安交大发布", "u-xjtu", 1), _entry("长安发布", "u-city", 2)],
        "personal": [_entry("交大小新", "u-xjtu", 5)],
    })
    notices = {n.recipient: n for n in domain.notices_for(event, "shaanxi")}
    assert sorted(notices) == ["unit:u-city", "unit:u-xjtu"]
    zh = catalog.render_notice(notices["unit:u-xjtu"], "shaanxi", CAMPAIGN, "zh")
    assert "“西安交大发布”（机构/政务账号）：第1名" in zh.body
    assert "“交大小新”（个人账号）：第5名" in zh.body
    assert "长安发布" not in zh.body
    en = catalog.render_notice(notices["unit:u-xjtu"], "shaanxi", CAMPAIGN, "en")
    assert '"西安交大发布" (Institutional account): rank 1' in plain(en.body)


def test_an_entry_name_in_results_is_escaped_and_kept_on_one_line(catalog):
    event = ResultsPublished(campaign_id="shaanxi", version=1, categories={
        "institutional": [_entry("<b>发布</b>\n伪造一行", "u-x", 1)]})
    [notice] = domain.notices_for(event, "shaanxi")
    body = catalog.render_notice(notice, "shaanxi", CAMPAIGN, "zh").body
    assert "<b>" not in body and "&lt;b&gt;" in body
    assert "伪造一行" in body.splitlines()[1]


def test_the_committee_hears_when_a_ranking_is_ready(catalog):
    event = RankingComputed(category_id="institutional", rule_version="shaanxi@1", inputs_digest="abc",
                            entries=[_entry("西安交大发布", "u-xjtu", 1)])
    [notice] = domain.notices_for(event, "shaanxi")
    assert notice.recipient == "committee:shaanxi" and notice.template == "ranking_ready"
    rendered = catalog.render_notice(notice, "shaanxi", CAMPAIGN, "zh")
    assert "机构/政务账号" in rendered.subject and "共1个参评作品" in rendered.body


@pytest.mark.parametrize("template", ["activity_deadline_near", "expert_assigned", "expert_deadline_near"])
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_reminder_and_expert_notices_render_their_deadline(catalog, template, locale):
    rendered = catalog.render(template, locale, domain.NOTICE_KINDS[template].sample)
    assert "2024-09-" in rendered.body


LATE_UTC = datetime(2024, 9, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 October in Beijing: the next day


def _assigned(deadline: datetime | None) -> ExpertAssigned:
    return ExpertAssigned(expert_id="zhang-expert", panel_id="p1", category_ids=["institutional"],
                          entries_count=12, new_entries=12, deadline=deadline)


def test_an_expert_is_told_the_deadline_in_beijing_time_with_the_zone_named(catalog):
    [notice] = domain.notices_for(_assigned(LATE_UTC), "shaanxi")
    zh = catalog.render_notice(notice, "shaanxi", CAMPAIGN, "zh")
    assert "请于北京时间 2024-10-01 01:30前完成评分" in zh.body
    en = catalog.render_notice(notice, "shaanxi", CAMPAIGN, "en")
    assert "to be scored by 2024-10-01 01:30 (UTC+8)." in plain(en.body)
    # A campaign whose definition has not arrived yet is read in Beijing time too.
    assert "北京时间 2024-10-01 01:30" in catalog.render_notice(notice, "shaanxi", None, "zh").body
    assert "2024-09-30 17:30" not in zh.body + en.body


def test_a_campaign_in_another_zone_gives_its_deadlines_there_named_by_the_offset(catalog):
    berlin = replace(CAMPAIGN, timezone="Europe/Berlin")
    [notice] = domain.notices_for(_assigned(LATE_UTC), "berlin")
    assert "请于2024-09-30 19:30（UTC+2）前完成评分" in catalog.render_notice(notice, "berlin", berlin, "zh").body
    assert "by 2024-09-30 19:30 (UTC+2)." in plain(catalog.render_notice(notice, "berlin", berlin, "en").body)
    assert "北京时间" not in catalog.render_notice(notice, "berlin", berlin, "zh").body


def test_a_reminder_gives_the_deadline_in_the_campaign_zone_and_its_sms_stays_the_short_subject(catalog):
    reminder = domain.Notice("activity_deadline_near", "unit:u-xjtu", {"deadline": LATE_UTC, "days_left": 3})
    zh = catalog.render_notice(reminder, "shaanxi", CAMPAIGN, "zh")
    assert "将于北京时间 2024-10-01 01:30截止提交，距截止还有3天" in zh.body
    en = catalog.render_notice(reminder, "shaanxi", CAMPAIGN, "en")
    assert "are due by 2024-10-01 01:30 (UTC+8), 3 days from now." in plain(en.body)
    assert sms_text(zh.subject) == "【群众路线推选】实践活动材料提交截止提醒：还剩3天"
    expert = domain.Notice("expert_deadline_near", "expert:zhang", {"deadline": LATE_UTC, "days_left": 2})
    kolkata = replace(CAMPAIGN, timezone="Asia/Kolkata")
    assert "closes at 2024-09-30 23:00 (UTC+5:30), 2 days from now." in \
        plain(catalog.render_notice(expert, "shaanxi", kolkata, "en").body)


@pytest.mark.parametrize("template", ["activity_deadline_near", "expert_deadline_near"])
def test_an_english_reminder_on_the_last_day_says_one_day_not_one_days(catalog, template):
    last = catalog.render_notice(domain.Notice(template, "unit:u-xjtu", {"deadline": LATE_UTC, "days_left": 1}),
                                 "shaanxi", CAMPAIGN, "en")
    assert last.subject.endswith("due in 1 day") and "1 day from now." in plain(last.body)
    assert "1 days" not in last.subject + plain(last.body)


def test_email_and_sms_only_for_recipients_with_the_detail_and_sms_only_when_urgent():
    both = domain.ContactChannels(email=True, sms=True)
    assert domain.channels_for("nomination_returned", None) == ["inbox"]
    assert domain.channels_for("nomination_returned", both) == ["inbox", "email", "sms"]
    assert domain.channels_for("nomination_received", both) == ["inbox", "email"]
    assert domain.channels_for("nomination_returned", domain.ContactChannels(sms=True)) == ["inbox", "sms"]


def test_sms_text_is_raw_text_not_html():
    assert sms_text("推荐被退回修改：A&amp;B") == "【群众路线推选】推荐被退回修改：A&B"


def test_a_recipient_over_the_rate_limit_waits_for_the_oldest_to_age_out():
    rule = domain.RateLimit(limit=3, window_s=3600)
    now = 10_000.0
    assert domain.rate_limited_until([now - 100, now - 50], now, rule) is None
    assert domain.rate_limited_until([now - 5000, now - 100, now - 50], now, rule) is None
    assert domain.rate_limited_until([now - 300, now - 100, now - 50], now, rule) == now - 300 + 3600


def test_retries_back_off_exponentially_with_full_jitter_up_to_a_cap():
    assert domain.backoff_s(1, 5, 3600, 0.0) == 0 and 4.9 < domain.backoff_s(1, 5, 3600, 0.999) < 5
    assert domain.backoff_s(4, 5, 3600, 0.5) == 20
    assert domain.backoff_s(30, 5, 3600, 0.5) == 1800
    assert domain.backoff_s(10_000, 5, 3600, 0.5) == 1800


def test_a_webhook_is_retried_for_a_day_by_default_the_last_attempt_at_its_age():
    policy = domain.RetryPolicy(max_age_s=86400, max_attempts=None, cap_s=3600)
    made = datetime(2024, 10, 8, tzinfo=UTC)
    now, attempts = made, 0
    while True:
        attempts += 1
        after = domain.webhook_after_failure(attempts, permanent=False, policy=policy, created_at=made, now=now,
                                             base_s=5, jitter=0.5)
        if after is None:
            break
        assert after > now or after == made + timedelta(days=1)
        now = after
    assert now == made + timedelta(days=1) and 40 < attempts < 80
    assert domain.webhook_after_failure(1, permanent=True, policy=policy, created_at=made, now=made,
                                        base_s=5, jitter=0.5) is None
    three = domain.RetryPolicy(max_age_s=86400, max_attempts=3, cap_s=3600)
    assert domain.webhook_after_failure(3, permanent=False, policy=three, created_at=made, now=made,
                                        base_s=5, jitter=0.5) is None


@pytest.mark.parametrize("age,attempts,cap,field", [(59, None, 3600, "max_age_s"), (86400, 0, 3600, "max_attempts"),
                                                    (86400, None, 0, "retry_cap_s"),
                                                    (8 * 86400, None, 3600, "max_age_s")])
def test_a_retry_policy_out_of_range_names_the_field(age, attempts, cap, field):
    with pytest.raises(domain.RetryPolicyInvalid) as err:
        domain.check_retry_policy(age, attempts, cap)
    assert err.value.field_name == field


def test_a_signature_verifies_only_for_the_same_secret_body_and_a_recent_timestamp():
    body = b'{"event_type":"ResultsPublished"}'
    header = domain.signature("s3cret-s3cret-s3cret", 1_700_000_000, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    check = domain.signature_valid
    assert check("s3cret-s3cret-s3cret", "1700000000", body, header, now=1_700_000_100)
    assert not check("other-secret-other", "1700000000", body, header, now=1_700_000_100)
    assert not check("s3cret-s3cret-s3cret", "1700000000", body + b" ", header, now=1_700_000_100)
    assert not check("s3cret-s3cret-s3cret", "1700000001", body, header, now=1_700_000_100)
    assert not check("s3cret-s3cret-s3cret", "1700000000", body, header, now=1_700_009_000)


@pytest.mark.parametrize("url,code", [
    ("ftp://example.org/hook", "webhook_url_scheme"),
    ("file:///etc/passwd", "webhook_url_scheme"),
    ("https://user:pw@example.org/hook", "webhook_url_invalid"),
    ("http:///nohost", "webhook_url_invalid"),
])
def test_a_url_that_is_not_http_is_refused(url, code):
    with pytest.raises(domain.WebhookUrlRefused) as err:
        domain.check_webhook_url(url, production=False)
    assert err.value.code == code


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/h", "http://localhost/h", "http://10.1.2.3/h",
                                 "http://[::1]/h", "http://192.168.0.5/h", "http://169.254.169.254/latest",
                                 "https://intranet.example/h"])
def test_production_refuses_private_and_loopback_targets(url):
    inside = {"intranet.example": ["10.0.0.7"]}
    with pytest.raises(domain.WebhookUrlRefused) as err:
        domain.check_webhook_url(url, production=True, resolve=lambda host: inside[host])
    assert err.value.code == "webhook_url_private"
    assert domain.check_webhook_url(url, production=False) == url


def test_production_accepts_a_public_target():
    url = "https://results.example.org/hook"
    assert domain.check_webhook_url(url, production=True, resolve=lambda host: ["93.184.216.34"]) == url


def test_the_activity_deadline_comes_from_the_campaign_in_its_time_zone():
    phases = [PhaseInfo(id="voting", starts_at=datetime(2024, 9, 10)),
              PhaseInfo(id="expert_review", starts_at=datetime(2024, 9, 21))]
    deadline = domain.activity_deadline({}, phases, "Asia/Shanghai")
    assert deadline == datetime(2024, 9, 20, 16, 0, tzinfo=UTC)
    assert domain.local_time(deadline, "Asia/Shanghai") == "北京时间 2024-09-21 00:00"
    assert domain.local_time(deadline, "Asia/Shanghai", "en") == "2024-09-21 00:00 (UTC+8)"
    explicit = domain.activity_deadline({"activity_deadline": "2024-09-18T12:00:00"}, phases, "Asia/Shanghai")
    assert explicit == datetime(2024, 9, 18, 4, 0, tzinfo=UTC)
    assert domain.activity_deadline({}, phases[:1]) is None


def test_a_reminder_keeps_its_id_when_the_campaign_is_loaded_again():
    deadline = datetime(2024, 9, 20, 16, tzinfo=UTC)
    assert domain.reminder_id("c", "activity_deadline_near", deadline) == \
        domain.reminder_id("c", "activity_deadline_near", deadline)
    assert domain.reminder_id("c", "activity_deadline_near", deadline) != \
        domain.reminder_id("d", "activity_deadline_near", deadline)


def test_who_may_read_which_inbox() -> None:
    from services.notification.domain import may_read_inbox

    assert may_read_inbox("unit", "u1", "univ-a", "unit:univ-a")
    assert not may_read_inbox("unit", "u1", "univ-a", "unit:univ-b")
    assert not may_read_inbox("unit", "u1", "univ-a", "office:univ-a")  # same id, other kind
    assert may_read_inbox("office", "o1", "sx-center", "office:sx-center")
    assert may_read_inbox("expert", "zhang", None, "expert:zhang")
    assert not may_read_inbox("expert", "zhang", None, "expert:li")
    assert may_read_inbox("committee", "c1", None, "committee:shaanxi-2024-accounts")
    assert not may_read_inbox("expert", "zhang", None, "committee:shaanxi-2024-accounts")
    assert may_read_inbox("operator", "op", None, "unit:univ-b") and may_read_inbox("admin", "a", None, "expert:li")


@pytest.mark.parametrize(("locale", "part", "says"), [("zh", "expert", "专家评分"), ("zh", "activity", "实践活动评分"),
                                                     ("en", "expert", "expert score")])
def test_an_expert_hears_that_the_committee_reopened_a_score_and_why(catalog, locale, part, says):
    event = ExpertScoreReopened(expert_id="expert-li", entry_id=uuid.uuid4(), entry_name="西安交大发布",
                                category_id="institutional", component=part, reason="专家申请更正录入错误")
    [notice] = domain.notices_for(event, "shaanxi")
    assert notice.recipient == domain.recipient_address("expert", "expert-li")
    rendered = catalog.render_notice(notice, "shaanxi", CAMPAIGN, locale)
    assert "西安交大发布" in rendered.subject and says in rendered.body and "专家申请更正录入错误" in rendered.body
    assert ("机构/政务账号" if locale == "zh" else "Institutional account") in rendered.body
