"""Every code the operations page can show is said in words, in Chinese and in English: the refusal codes the voting
service defines, the consumer groups the services subscribe under, the topics, the services, the anti-fraud rules,
the alert states. The codes are collected from where the services define them, so a new one without a label fails
here; and the page rendered in Chinese with every one of them shows none of them raw."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from massline.contracts import topics
from services.antifraud.domain.registry import RULES
from services.gateway import texts
from services.gateway.alerts import Alert, Alerting
from services.gateway.rendering import _words, page_templates
from services.gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def source(*globs: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for g in globs for p in sorted(ROOT.glob(g)))


def voting_codes() -> set[str]:
    """Every code a vote request can be refused with: the voting rules' errors and the service's answers."""
    domain = source("services/voting/domain/*.py")
    answers = source("services/voting/*.py", "shared/massline/errors.py", "shared/massline/auth.py")
    codes = set(re.findall(r'\bcode = "([a-z_]+)"', domain))
    codes |= set(re.findall(r'(?:TicketError|VoteRefused)\("([a-z_]+)"', domain))
    codes |= set(re.findall(r'ApiError\(\s*\d+,\s*"([a-z_]+)"', answers))
    scopes = re.search(r"_LIMIT_WORDS = \{(.*?)\n\}", answers, re.S)
    assert scopes and 'f"sms_{scope}_limit"' in domain
    codes |= {f"sms_{s}_limit" for s in re.findall(r'^\s*"([a-z]+)":', scopes.group(1), re.M)}
    return codes


def consumer_groups() -> set[str]:
    groups = set()
    for handlers in ROOT.glob("services/*/handlers.py"):
        service = handlers.parent.name
        groups |= {f"{service}.{name}" for name in re.findall(r'rt\.subscribe\(\s*topics\.\w+,\s*"(\w+)"',
                                                                   handlers.read_text(encoding="utf-8"))}
    return groups


def all_topics() -> set[str]:
    return {v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str) and v.startswith("massline.")}


def test_the_collections_find_what_the_services_define() -> None:
    # The collectors are not empty by accident: known codes, groups and topics are among what they find.
    assert {"quota_exceeded", "entry_cap_exceeded", "ticket_invalid", "phase_closed", "sms_phone_limit",
            "validation_failed"} <= voting_codes()
    assert {"voting.standings", "antifraud.detectors", "scoring.tallies", "notification.rankings"} <= consumer_groups()
    assert {topics.VOTE, topics.TALLY, topics.VOTE_DECISION} <= all_topics()


@pytest.mark.parametrize("code", sorted(voting_codes()))
def test_every_vote_refusal_code_has_a_label(code: str) -> None:
    zh, en = texts.REFUSALS[code]
    assert CJK.search(zh) and en and code not in zh


@pytest.mark.parametrize("group", sorted(consumer_groups()))
def test_every_consumer_group_has_a_label(group: str) -> None:
    assert CJK.search(texts.group_name(group, "zh")) and group not in texts.group_name(group, "zh")
    assert texts.group_name(group, "en") != group


@pytest.mark.parametrize("topic", sorted(all_topics()))
def test_every_topic_has_a_label(topic: str) -> None:
    assert CJK.search(texts.pick(texts.TOPICS, topic, "zh"))


def test_every_service_and_state_has_a_label() -> None:
    for service in GatewaySettings().upstreams():
        assert CJK.search(texts.pick(texts.SERVICES, service, "zh")), service
    for table, keys in ((texts.CASE_STATUS, ("flagged", "invalidated", "overturned")),
                        (texts.ALERT_STATES, ("firing", "pending")), (texts.SEVERITIES, ("critical", "warning"))):
        for key in keys:
            assert CJK.search(texts.pick(table, key, "zh")), key


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_fraud_rule_says_itself_in_chinese(code: str) -> None:
    # The page shows a case's reason as the anti-fraud service's own label (reason_zh), never the rule's code.
    assert CJK.search(RULES[code].text_zh) and code not in RULES[code].text_zh


class VisibleText(HTMLParser):
    """What a reader sees: text outside <title> elements of SVG and outside attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.hidden += tag in ("title", "script", "style")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("title", "script", "style")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def render(lang: str, **context: Any) -> str:
    template = page_templates().env.get_template("operations.html")
    campaign = {"id": "c1", "title": "活动", "current_phase": "voting", "categories": []}
    queue = {"cases": [], "pages": {}, **context}
    return template.render(lang=lang, html_lang=lang, **_words(lang), time_zone="Asia/Shanghai",
                           zone_note=lambda: "（北京时间）", switch_url="/x", staff=None, c=campaign, flash=None,
                           shown="", order="impact", offset=0, kept={}, per_entry=[], what_if=None, bulk=None,
                           **queue)


def test_the_chinese_page_shows_no_code_raw() -> None:
    codes = sorted(voting_codes())
    groups = sorted(consumer_groups())
    refused = {c: i + 1 for i, c in enumerate(codes)}
    page = render(
        "zh",
        rate={"now": 3.0, "window": "5", "window_s": 300, "votes_in_window": 15, "peak": 7.0, "accepted": 10, "refused": refused, "chart": None},
        pipeline={"groups": [{"group": g, "lag": 1, "broker": 2} for g in groups], "broker_reported": True,
                  "outbox": [{"service": s, "pending": 0, "age": None} for s in texts.SERVICES],
                  "dead": {t: 1 for t in all_topics()}, "unreachable": ["scoring"]},
        errors={"services": [{"service": "voting", "unreachable": False, "clean": False, "server_errors": 1,
                              "server_errors_total": 1, "dead": 0, "dead_total": 0, "refused": refused}],
                "seconds": 600, "recent": True, "clean": False},
        alerting=Alerting(url="http://prom", connected=True, alerts=[
            Alert("ConsumerLagHigh", "firing", "critical", "lag", "消费延迟过高", "", "/console/runbooks/x"),
            Alert("OutboxStuck", "pending", "warning", "outbox stuck", "", "", "")]))
    parser = VisibleText()
    parser.feed(page)
    seen = " ".join(parser.parts)
    shown = [c for c in [*codes, *groups, *all_topics(), *texts.SERVICES, "firing", "pending", "critical"]
             if re.search(rf"(?<![\w.-]){re.escape(c)}(?![\w.-])", seen)]
    assert shown == []
    assert "超出每日票数" in seen and "网络投票 · 实时排名" in seen and "正在告警" in seen and "消费延迟过高" in seen


def test_without_prometheus_the_page_says_alerting_is_not_connected_and_how_to_connect_it() -> None:
    page = render("zh", rate={"now": None, "refused": {}, "chart": None, "accepted": None},
                  pipeline={"groups": [], "outbox": [], "dead": {}, "unreachable": []},
                  errors={"services": [], "seconds": 0, "recent": False, "clean": True},
                  alerting=Alerting(url="", connected=False))
    assert "告警未接入" in page and "MASSLINE_PROMETHEUS_URL" in page
    assert "data-alert=" not in page and "没有正在告警" not in page  # no state it did not read


def test_a_case_that_changes_a_rank_only_together_with_others_says_so() -> None:
    def case(cid: str, alone: bool) -> dict[str, Any]:
        impact = {"changes_rank": True, "entries_moved": 2, "votes": 10}
        return {"id": cid, "reason_code": "coordinated_cohort", "reason": "r", "reason_zh": "协同", "explanation": "e",
                "explanation_zh": "说明", "status": "flagged", "vote_count": 10, "created_at": "2026-12-05T02:00:00+00:00",
                "impact": {**impact, "alone": {**impact, "changes_rank": alone, "entries_moved": 2 if alone else 0}}}
    for lang, words in (("zh", "单独撤销本案不会改变名次"), ("en", "overturning this one alone changes no rank")):
        page = render(lang, rate={"now": None, "refused": {}, "chart": None, "accepted": None},
                      pipeline={"groups": [], "outbox": [], "dead": {}, "unreachable": []},
                      errors={"services": [], "seconds": 0, "recent": False, "clean": True},
                      alerting=Alerting(url="", connected=False),
                      cases=[case("together", False), case("alone", True)], pages={"from": 1, "to": 2, "total": 2})
        cards = page.split('data-case="')[1:]
        assert [c.split('"')[0] for c in cards] == ["together", "alone"]
        assert words in cards[0] and words not in cards[1]


def test_an_entry_whose_share_jumped_is_listed_with_its_votes_and_whether_any_case_covers_it() -> None:
    jump = {"entry_id": "e1", "entry_name": "甲大学案例", "unit_name": "甲大学", "window_start": "2026-12-05T12:10:00Z",
            "window_end": "2026-12-05T12:20:00Z", "identities": 150, "share": 0.75, "share_before": 0.0103,
            "ratio": 43.3, "excess": 148, "surge": True, "counted_votes": 900, "flagged_votes": 0,
            "invalidated_votes": 0, "new_identities": 140, "new_counted_votes": 850}
    held = {**jump, "entry_id": "e2", "entry_name": "乙大学案例", "ratio": 2.5, "surge": False, "counted_votes": 0,
            "flagged_votes": 300}
    for lang, words in (("zh", ("150 个身份（75%），此前 1.0%：43.3 倍", "计入 900 · 待核查 0 · 已作废 0", "无案件覆盖",
                                "20:10", "约多出 148 个身份", "规则视为激增", "人工暂缓计入",
                                "其中 140 个身份此前从未投票（850 票计入）")),
                        ("en", ("150 identities (75%), 1.0% before: 43.3×", "900 counted · 0 held · 0 invalidated",
                                "No case covers it", "20:10", "about 148 identities beyond", "A surge to the rules",
                                "Hold by hand", "140 of them never voted before (850 votes counted)"))):
        page = render(lang, rate={"now": None, "refused": {}, "chart": None, "accepted": None},
                      pipeline={"groups": [], "outbox": [], "dead": {}, "unreachable": []},
                      errors={"services": [], "seconds": 0, "recent": False, "clean": True},
                      alerting=Alerting(url="", connected=False), jumps=[jump, held])
        rows = page.split('<section aria-labelledby="jumps-title"')[1].split("</section>")[0].split("data-entry=")[1:]
        assert all(w in rows[0] for w in words), rows[0]
        assert words[2] not in rows[1] and ("待核查 300" if lang == "zh" else "300 held") in rows[1]
        # The hold's form comes filled with the jump's entry and ten minutes; nothing counted, nothing to hold.
        assert ('href="/console/c/c1/holds/new?entry_id=e1&amp;start=2026-12-05T12%3A10%3A00Z&amp;'
                'end=2026-12-05T12%3A20%3A00Z"') in rows[0]
        assert words[5] not in rows[1] and words[6] not in rows[1]
    assert "过去 24 小时内没有作品的份额突增" in render(
        "zh", rate={"now": None, "refused": {}, "chart": None, "accepted": None},
        pipeline={"groups": [], "outbox": [], "dead": {}, "unreachable": []},
        errors={"services": [], "seconds": 0, "recent": False, "clean": True},
        alerting=Alerting(url="", connected=False), jumps=[])
