"""In a real browser: an operator watches event processing, finds a vote farm in the review queue, reads the
evidence, and confirms the case with a reason (a refusal without one is explained and the choice kept)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support import PASSWORD, SCREENSHOTS, Api, open_voting, voter_ticket, wait_for

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-ops"


def test_an_operator_confirms_a_vote_farm_case_from_the_console(system, browser) -> None:
    api = Api(system.gateway_url)
    entry_a, _ = open_voting(api, CAMPAIGN, ["庚大学", "辛大学"])
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

    page.locator(".cards a").first.click()
    expect(page.locator("#case-status")).to_be_visible()
    assert "one device" in page.content() or "设备" in page.content()
    page.get_by_label("确认作废（这些票不计入）").check()
    page.get_by_role("button", name="提交处理决定").click()
    expect(page.get_by_role("alert")).to_be_visible()  # no reason: explained, the choice kept
    expect(page.get_by_label("确认作废（这些票不计入）")).to_be_checked()
    page.get_by_label("理由").fill("同一设备多个身份集中投票，确认为刷票")
    page.get_by_role("button", name="提交处理决定").click()
    expect(page.get_by_text("处理决定已记录。")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "operator-confirms-case.png"), full_page=True)

    # The decision reached the counts: the farm's votes are invalidated, per entry and with the reason.
    def invalidated() -> Any:
        body = api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/invalidations", "ops-operator").json()
        return [e for e in body.get("entries", []) if e["entry_id"] == entry_a and e.get("invalidated_votes")]

    [entry] = wait_for("the invalidation per entry", invalidated)
    assert entry["invalidated_votes"] >= 10
