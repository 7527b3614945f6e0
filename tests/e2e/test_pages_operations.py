"""In a real browser: an operator watches event processing, the campaign's own vote figures and the errors per
service, finds a vote farm in the review queue, reads the evidence in Chinese (and in English), and confirms the
case with a reason (a refusal without one is explained and the choice kept)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from massline.contracts import topics
from support import PASSWORD, SCREENSHOTS, Api, open_voting, voter_ticket, wait_for

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
    entry_a, _ = open_voting(api, CAMPAIGN, ["庚大学", "辛大学"])
    [elsewhere] = open_voting(api, ELSEWHERE, ["壬大学"])
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": "ops-operator", "display_name": "值班员", "password": PASSWORD, "role": "operator"})
    assert r.status_code == 200, r.text

    # Six identities vote from one phone (one device fingerprint): a farm.
    def farm_vote(i: int) -> int:
        ticket = voter_ticket(api, CAMPAIGN, f"1352222{i:04d}")
        return api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes",
                        headers={"Authorization": f"Bearer {ticket}"},
                        json={"entry_id": entry_a, "count": 2, "idempotency_key": f"farm-{i}",
                              "device": "same-phone-fingerprint"}).status_code

    wait_for("voting to open", lambda: farm_vote(0) == 201)
    assert [farm_vote(i) for i in range(1, 6)] == [201] * 5
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
    wait_for("a case in the review queue", lambda: api.call(
        "GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases", "ops-operator").json().get("cases"))

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
    # the vote figures are this campaign's own: the farm's 12 votes and its refusal, not the other campaign's votes
    expect(page.locator("#votes-accepted")).to_have_text("12")
    expect(page.locator("#votes-refused")).to_contain_text("quota_exceeded 1")
    # errors per service: the scoring service's dead letter is shown; a service without errors says so
    expect(page.locator("#errors-state")).to_contain_text("有服务出错")
    scoring = page.locator('tr[data-service="scoring"]')
    expect(scoring.locator(".state")).to_have_text("有错误")
    assert int(scoring.locator('[data-figure="dead"]').inner_text().split()[0]) >= 1
    expect(page.locator('tr[data-service="submission"] .state')).to_have_text("无错误")
    expect(page.locator('tr[data-service="voting-refusals"]')).to_contain_text("quota_exceeded")
    # the review queue explains each case in Chinese
    expect(page.locator(".cards .explanation").first).to_contain_text("个不同身份使用同一设备投票")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "operator-operations.png"), full_page=True)

    page.goto(f"{system.gateway_url}/console/c/{ELSEWHERE}/operations")
    expect(page.locator("#votes-accepted")).to_have_text("3")
    expect(page.locator("#votes-refused")).to_have_text("0")

    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/operations")
    page.locator(".cards a").first.click()
    expect(page.locator("#case-status")).to_be_visible()
    expect(page.locator("#case-explanation")).to_have_text(
        re.compile(r"^\d{4}-\d{2}-\d{2}（UTC）有 [56] 个不同身份使用同一设备投票（上限 4 个）$"))
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

    # The decision reached the counts: the farm's votes are invalidated, per entry and with the reason.
    def invalidated() -> Any:
        body = api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/invalidations", "ops-operator").json()
        return [e for e in body.get("entries", []) if e["entry_id"] == entry_a and e.get("invalidated_votes")]

    [entry] = wait_for("the invalidation per entry", invalidated)
    assert entry["invalidated_votes"] >= 10
    assert entry["reasons"][0]["reason_zh"] == "多个身份使用同一设备投票"
    [case] = [k for k in api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases", "ops-operator").json()["cases"]
              if k["reason_code"] == "device_shared"]
    assert "个不同身份使用同一设备投票" in case["explanation_zh"] and "one device" in case["explanation"]
