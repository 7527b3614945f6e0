"""In a real browser: an operator watches event processing, the campaign's own vote figures and the errors per
service, finds in the review queue first the vote farm whose held votes would change a rank (the what-if panel shows
how), reads the evidence in Chinese (and in English), confirms the case with a reason (a refusal without one is
explained and the choice kept), and overturns the other case from the queue's checkboxes."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from support import PASSWORD, SCREENSHOTS, Api, open_voting, put_policy, voter_ticket, wait_for

from massline.contracts import topics
from services.antifraud import domain
from services.gateway import texts

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-ops"
ELSEWHERE = "pages-ops-other"


def _malformed(bootstrap: str, topic: str) -> None:
    """One message no consumer can read, produced from a thread of its own (the browser holds this one's loop)."""
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b'{"event_id": "not-a-uuid", "payload": ', key=b"ops-bad")
        finally:
            await producer.stop()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


def _dead_letters(text: str, topic: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("massline_dead_letters_total{") and f'topic="{topic}"' in line)


def test_an_operator_confirms_a_vote_farm_case_from_the_console(system, browser) -> None:
    api = Api(system.gateway_url)
    entry_a, entry_b = open_voting(api, CAMPAIGN, ["庚大学", "辛大学"],
                                   replace={"show_counts: rank_only": "show_counts: always"})
    [elsewhere] = open_voting(api, ELSEWHERE, ["壬大学"])
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": "ops-operator", "display_name": "值班员", "password": PASSWORD, "role": "operator"})
    assert r.status_code == 200, r.text
    # Every finding is held for review in this campaign (by default a device farm is invalidated at once).
    r = put_policy(api, CAMPAIGN, "admin", {"policy": "flag", "reason": "本活动的异常投票一律先人工核查"})
    assert r.status_code == 200, r.text

    def cast(phone: str, entry: str, count: int, key: str, device: str | None = None, address: str | None = None
             ) -> int:
        ticket = voter_ticket(api, CAMPAIGN, phone)
        forwarded = {"X-Forwarded-For": address} if address else {}  # a farm's phone hopping addresses
        return api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes",
                        headers={"Authorization": f"Bearer {ticket}", **forwarded},
                        json={"entry_id": entry, "count": count, "idempotency_key": key,
                              **({"device": device} if device else {})}).status_code

    # Six identities vote from one phone (one device fingerprint), a new address each, for 庚大学: a farm of 12 votes.
    def farm_vote(i: int) -> int:
        return cast(f"1352222{i:04d}", entry_a, 2, f"farm-{i}", "same-phone-fingerprint", f"100.{64 + i}.5.{9 + i}")

    wait_for("voting to open", lambda: farm_vote(0) == 201)
    assert [farm_vote(i) for i in range(1, 6)] == [201] * 5
    # 辛大学 gets 6 votes from three people, and 5 from a second phone with five identities: a smaller farm, whose
    # release alone would change no rank (辛大学 leads either way); releasing the first farm's puts 庚大学 first.
    assert [cast(f"1354444{i:04d}", entry_b, 2, f"honest-{i}") for i in range(3)] == [201] * 3
    assert [cast(f"1355555{i:04d}", entry_b, 1, f"farm2-{i}", "second-phone-fingerprint", f"100.{80 + i}.5.{9 + i}")
            for i in range(5)] == [201] * 5
    # One refusal in this campaign (more votes than a day allows) and votes in another campaign at the same time.
    ticket = voter_ticket(api, CAMPAIGN, "13522229999")
    assert api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={"Authorization": f"Bearer {ticket}"},
                    json={"entry_id": entry_a, "count": 11, "idempotency_key": "too-many"}).status_code == 429
    ticket = voter_ticket(api, ELSEWHERE, "13533330000")
    assert api.call("POST", f"/api/voting/campaigns/{ELSEWHERE}/votes", headers={"Authorization": f"Bearer {ticket}"},
                    json={"entry_id": elsewhere, "count": 3, "idempotency_key": "elsewhere"}).status_code == 201
    # A message the scoring service cannot read: it is dead-lettered, and the errors panel says so.
    scoring_metrics = system.service_url("scoring") + "/metrics"
    dead_before = _dead_letters(httpx.get(scoring_metrics).text, topics.TALLY)
    _malformed(system.kafka_bootstrap, topics.TALLY)
    wait_for("the scoring service to dead-letter it",
             lambda: _dead_letters(httpx.get(scoring_metrics).text, topics.TALLY) > dead_before)
    api.login("ops-operator", PASSWORD)

    def held_cases() -> list[dict[str, Any]]:
        return [k for k in api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases?status=flagged",
                                    "ops-operator").json().get("cases", []) if k["reason_code"] == "device_shared"]

    wait_for("both farms held in the review queue", lambda: len(held_cases()) == 2)

    # Lag is measured every few seconds once a group has fetched from its partitions.
    wait_for("lag gauges", lambda: "massline_consumer_lag{" in httpx.get(
        system.service_url("voting") + "/metrics").text, timeout=60)
    expect = playwright.expect
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    page.goto(system.gateway_url + "/login")
    page.get_by_label("用户名").fill("ops-operator")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations")
    expect(page.get_by_role("heading", name="运行监测")).to_be_visible()
    # every consumer group is listed with how many messages wait for it
    expect(page.locator('td[data-group="voting.standings"]')).to_have_text("0", timeout=15_000)
    expect(page.locator('td[data-group="antifraud.detectors"]')).to_be_visible()
    # the vote figures are this campaign's own: its 23 votes and its refusal (in words), not the other campaign's
    expect(page.locator("#votes-accepted")).to_have_text("23")
    expect(page.locator("#votes-refused")).to_contain_text("超出每日票数 1")
    # errors per service: the scoring service's dead letter is shown; a service without errors says so
    expect(page.locator("#errors-state")).to_contain_text("有服务出错")
    scoring = page.locator('tr[data-service="scoring"]')
    expect(scoring.locator(".state")).to_have_text("有错误")
    assert int(scoring.locator('[data-figure="dead"]').inner_text().split()[0]) >= 1
    expect(page.locator('tr[data-service="submission"] .state')).to_have_text("无错误")
    expect(page.locator('tr[data-service="voting-refusals"]')).to_contain_text("超出每日票数")
    # One screen of health: alerts (not connected here, and said so), lag per group in words, every outbox.
    expect(page.locator("#alerts")).to_contain_text("告警未接入")
    expect(page.locator("#alerts")).to_contain_text("MASSLINE_PROMETHEUS_URL")
    expect(page.locator("#lag")).to_contain_text("网络投票 · 实时排名")
    expect(page.locator("#lag")).to_contain_text("票数汇总")  # the dead-lettered topic, in words
    for service in ("submission", "voting", "antifraud", "scoring"):
        row = page.locator(f'#outbox tr[data-outbox="{service}"]')
        expect(row.locator('[data-figure="pending"]')).to_have_text(re.compile(r"^\d+$"))
        expect(row.locator('[data-figure="age"]')).to_have_text(re.compile(r"^(—|\d+ 秒)$"))
    # The vote rate: the five-minute average, labelled so, and a chart of the last 30 minutes with a value axis
    # (votes a minute) and a time axis (HH:MM). The gateway samples every 15 s: a chart needs two samples.
    wait_for("two samples of the vote counters",
             lambda: (page.reload(), page.locator("#rate-chart").count() == 1)[1], timeout=60)
    # (within the gateway's first minute it says how many votes in how many seconds instead of extrapolating)
    expect(page.locator("#vote-rate")).to_have_text(re.compile(
        r"^(近 [\d.]+ 分钟平均：每分钟 [\d.]+ 票|近 \d+ 秒共 \d+ 票（采样不足一分钟，暂不折算每分钟速率）)$"))
    chart = page.locator("#rate-chart")
    expect(chart.locator(".y-axis text.tick")).to_have_count(3)
    expect(chart.locator(".y-axis text.unit")).to_have_text("票/分钟")
    assert chart.locator(".x-axis text.time").count() >= 1
    for label in chart.locator(".x-axis text.time").all_text_contents():
        assert re.fullmatch(r"\d{2}:\d{2}", label), label
    expect(page.locator("#rate figcaption")).to_contain_text("近 30 分钟每分钟的票数（北京时间）")
    # No code is shown raw anywhere on the Chinese page: refusals, rules, groups, topics, services are in words.
    shown = page.locator("main").inner_text()
    raw = [c for c in [*texts.REFUSALS, *domain.REASONS, "voting.standings", "antifraud.detectors", topics.TALLY,
                       "submission", "voting", "antifraud", "scoring", "notification", "registry"]
           if re.search(rf"(?<![\w./-]){re.escape(c)}(?![\w./-])", shown)]
    assert raw == []
    # The review queue: first the farm whose held votes would change a rank, marked so; each case explained in
    # Chinese with the anti-fraud service's own words for the rule, never its code.
    cards = page.locator("#queue .card")
    expect(cards).to_have_count(2)
    first, second = cards.nth(0), cards.nth(1)
    expect(first.locator(".rank-badge")).to_have_text("会改变名次")
    expect(first).to_contain_text("2 个作品名次会变化")
    expect(first.locator("h3")).to_have_text(domain.REASONS_ZH["device_shared"])
    expect(first.locator(".explanation")).to_contain_text("6 个不同身份使用同一设备投票")
    expect(second.locator(".rank-badge")).to_have_count(0)
    expect(second.locator(".explanation")).to_contain_text("5 个不同身份使用同一设备投票")
    expect(page.locator("#queue")).not_to_contain_text("device_shared")
    expect(page.locator("#queue-range")).to_have_text("第 1–2 个，共 2 个")
    # What-if: releasing every held vote (12 for 庚大学, 5 for 辛大学) puts 庚大学 first; confirming every held case
    # keeps the ranks as they are (held votes are out of the count already).
    expect(page.locator("#what-if-summary")).to_contain_text("待核查票全部恢复计入：2 个作品名次会变化")
    expect(page.locator("#what-if-summary")).to_contain_text("待核查案件全部确认作废：名次不变")
    gao = page.locator(f'#what-if tr[data-entry="{entry_a}"]')
    expect(gao.locator("th")).to_contain_text("庚大学")
    expect(gao.locator('[data-scenario="now"]')).to_contain_text("第 2 名")
    expect(gao.locator('[data-scenario="released"] .badge')).to_have_text("第 1 名")
    expect(gao.locator('[data-scenario="released"]')).to_contain_text("12 票")
    expect(gao.locator('[data-scenario="confirmed"]')).to_contain_text("第 2 名")
    # A dozen votes jump nowhere: the list of entries whose share jumped says there are none (the service answered).
    expect(page.locator("#jumps")).to_contain_text("过去 24 小时内没有作品的份额突增。")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "operator-operations.png"), full_page=True)
    # The same page at a desktop width: the three health panels side by side, the chart wide.
    desk = page.context.new_page()
    desk.set_viewport_size({"width": 1366, "height": 900})
    desk.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations")
    expect(desk.locator("#rate-chart")).to_be_visible()
    box = [desk.locator(f"#{p}").bounding_box() for p in ("alerts", "lag", "outbox")]
    assert all(b is not None for b in box) and box[0]["y"] == box[1]["y"] == box[2]["y"]  # one row
    desk.screenshot(path=str(SCREENSHOTS / "operator-operations-desktop.png"), full_page=True)
    desk.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations?lang=en")
    expect(desk.locator("#vote-rate")).to_have_text(re.compile(r"votes a minute|votes in the last \d+ seconds"))
    expect(desk.locator("#votes-refused")).to_contain_text("Over the daily quota 1")
    expect(desk.locator("#alerts")).to_contain_text("Alerting is not connected")
    desk.screenshot(path=str(SCREENSHOTS / "operator-operations-desktop-en.png"), full_page=True)
    desk.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations?lang=zh")
    desk.close()
    # The same queue in English.
    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations?lang=en")
    expect(page.locator("#queue .card").first.locator(".rank-badge")).to_have_text("Changes a rank")
    expect(page.locator("#queue .card h3").first).to_have_text(domain.REASONS["device_shared"])
    expect(page.locator("#what-if-summary")).to_contain_text("If every held vote counted: 2 entries would change rank")
    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations?lang=zh")

    page.goto(f"{system.gateway_url}/console/c/{ELSEWHERE}/operations")
    expect(page.locator("#votes-accepted")).to_have_text("3")
    expect(page.locator("#votes-refused")).to_have_text("0")

    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations")
    page.locator("#queue .card h3 a").first.click()
    expect(page.locator("#case-status")).to_be_visible()
    expect(page.locator("h1")).to_have_text(domain.REASONS_ZH["device_shared"])
    expect(page.locator("#case-explanation")).to_have_text(
        re.compile(r"^北京时间 \d{4}-\d{2}-\d{2} 有 6 个不同身份使用同一设备投票（上限 4 个"))
    expect(page.locator("p", has=page.locator("#case-status"))).to_contain_text("，6 个身份）")  # what the case holds
    page.get_by_label("确认作废（这些票不计入）").check()
    page.get_by_role("button", name="提交处理决定").click()
    expect(page.get_by_role("alert")).to_be_visible()  # no reason: explained, the choice kept
    expect(page.get_by_label("确认作废（这些票不计入）")).to_be_checked()
    page.get_by_label("理由").fill("同一设备多个身份集中投票，确认为刷票")
    page.get_by_role("button", name="提交处理决定").click()
    expect(page.get_by_text("处理决定已记录。")).to_be_visible()
    expect(page.locator(".history")).to_contain_text("自动标记待查")
    page.screenshot(path=str(SCREENSHOTS / "operator-confirms-case.png"), full_page=True)
    # The same case in English reads the detector's English sentence.
    page.goto(page.url.split("?")[0] + "?lang=en")
    expect(page.locator("#case-explanation")).to_contain_text("different identities voted from one device")

    # Back in the queue (in Chinese): the second farm is left; overturned from its checkbox, with a reason.
    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations?lang=zh")
    expect(page.locator("#queue .card")).to_have_count(1)
    expect(page.locator("#what-if-summary")).to_contain_text("待核查票全部恢复计入：名次不变")
    page.locator("#queue .card").first.get_by_label("选中此案件").check()
    page.get_by_label("推翻（这些票恢复计入）").check()
    page.get_by_role("button", name="提交批量处理决定").click()
    expect(page.get_by_role("alert")).to_contain_text("请填写理由")  # no reason: explained, the choices kept
    expect(page.locator("#queue .card").first.get_by_label("选中此案件")).to_be_checked()
    expect(page.get_by_label("推翻（这些票恢复计入）")).to_be_checked()
    page.get_by_label("理由").fill("核实为同一家庭共用的手机")
    page.get_by_role("button", name="提交批量处理决定").click()
    expect(page.locator("#bulk-done")).to_have_text("已处理 1 个案件；0 个已是该状态，未重复处理。")
    expect(page.locator("#queue")).to_contain_text("没有案件。")
    expect(page.locator("#what-if-summary")).to_have_text("当前没有待核查的案件，名次不会因核查而变化。")
    page.screenshot(path=str(SCREENSHOTS / "operator-bulk-overturn.png"), full_page=True)

    # The decisions reached the counts: the first farm's votes are invalidated, per entry and with the reason; the
    # second farm's count for 辛大学 again (each held vote reinstated), in the public standings too.
    def invalidated() -> Any:
        body = api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/invalidations", "ops-operator").json()
        return [e for e in body.get("entries", []) if e["entry_id"] == entry_a and e.get("invalidated_votes")]

    [entry] = wait_for("the invalidation per entry", invalidated)
    assert entry["invalidated_votes"] == 12
    assert entry["reasons"][0]["reason_zh"] == domain.REASONS_ZH["device_shared"]
    cases = [k for k in api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases?sort=newest",
                                 "ops-operator").json()["cases"] if k["reason_code"] == "device_shared"]
    assert sorted(k["status"] for k in cases) == ["invalidated", "overturned"]
    assert all("个不同身份使用同一设备投票" in k["explanation_zh"] and "one device" in k["explanation"] for k in cases)

    def standing() -> Any:
        body = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json()
        rows = {e["entry_id"]: e for cat in body.get("categories", {}).values() for e in cat}
        a, b = rows.get(entry_a, {}), rows.get(entry_b, {})
        return (a.get("votes"), a.get("invalidated"), b.get("votes"), b.get("held")) == (0, 12, 11, 0)

    wait_for("the public standings to count the overturned farm's votes again", standing)
