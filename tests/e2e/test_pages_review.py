"""In a real browser: an expert scores on the scoring form, the committee adjusts with a reason, the supervisor
approves, the committee publishes, and the public reads the results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, account_form, wait_for

from massline.numbers import score_text
from services.operations.demo import demo_definition

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-review"
CATEGORY = "institutional"
P = "pr"  # prefix of this test's organisations and people


def _vote(api: Api, phone: str, entry_id: str, count: int, key: str) -> httpx.Response:
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone})
    assert r.status_code == 202, r.text
    code = api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
    ticket = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-verify",
                      json={"phone": phone, "code": code}).json()["ticket"]
    return api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={"Authorization": f"Bearer {ticket}"},
                    json={"entry_id": entry_id, "count": count, "idempotency_key": key})


def _ranked(api: Api) -> dict[str, dict[str, Any]]:
    r = api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/rankings/{CATEGORY}")
    return {e["entry_id"]: e for e in r.json()["entries"]} if r.status_code == 200 else {}


def _campaign_in_expert_review(api: Api) -> tuple[str, str]:
    """Two approved entries with votes, voting closed, one expert assigned both: the entry ids."""
    api.login("admin", "admin-demo-password")
    for org in ({"id": f"{P}-office", "name": "网页终评中心", "kind": "office", "level": "provincial"},
                {"id": f"{P}-unit-a", "name": "戊大学", "kind": "unit", "level": "unit", "parent_id": f"{P}-office"},
                {"id": f"{P}-unit-b", "name": "己大学", "kind": "unit", "level": "unit", "parent_id": f"{P}-office"}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for user, role, org in ((f"{P}-office", "office", f"{P}-office"), (f"{P}-unit-a", "unit", f"{P}-unit-a"),
                            (f"{P}-unit-b", "unit", f"{P}-unit-b"), (f"{P}-expert", "expert", None),
                            (f"{P}-committee", "committee", None), (f"{P}-supervisor", "supervisor", None)):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": user, "display_name": user, "password": PASSWORD, "role": role, "organisation_id": org})
        assert r.status_code == 200, r.text
        api.login(user, PASSWORD)
    definition = demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    api.phase(CAMPAIGN, "nomination")
    ids = []
    for unit, name, followers in ((f"{P}-unit-a", "戊大学", 80_000), (f"{P}-unit-b", "己大学", 40_000)):
        r = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", unit,
                     json={"category_id": CATEGORY, "form": account_form(name, f"{P}_{unit}", followers)})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        r = api.call("POST", f"/api/submission/nominations/{ids[-1]}/review", f"{P}-office",
                     json={"decision": "approve", "reason": "符合条件"})
        assert r.status_code == 200, r.text
    entry_a, entry_b = ids
    wait_for("entries to become votable", lambda: len(
        api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/entries").json().get("entries", [])) == 2)
    api.phase(CAMPAIGN, "voting")
    wait_for("voting to open", lambda: _vote(api, "13922220000", entry_b, 5, "pr-probe").status_code in (200, 201))
    assert _vote(api, "13922220001", entry_a, 2, "pr-1").status_code == 201
    api.phase(CAMPAIGN, "expert_review")
    wait_for("the final tally in the ranking", lambda: (r := _ranked(api)) and len(r) == 2
             and r[entry_b]["components"]["vote"] == 100 and r[entry_a]["components"]["vote"] == 98)
    scoring = f"/api/scoring/campaigns/{CAMPAIGN}"
    r = api.call("PUT", f"{scoring}/panels/{P}-panel", "admin",
                 json={"name": "网页评审组", "category_ids": [CATEGORY], "experts_per_entry": 1})
    assert r.status_code == 200, r.text
    r = api.call("PUT", f"{scoring}/panels/{P}-panel/experts/{P}-expert", "admin", json={"display_name": "专家"})
    assert r.status_code == 200, r.text
    r = api.call("POST", f"{scoring}/panels/{P}-panel/assignments", "admin")
    assert r.status_code == 200, r.text
    return entry_a, entry_b


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def _fill_scores(card, points: dict[str, str]) -> None:
    for name, value in points.items():
        card.get_by_label(name).fill(value)


def test_an_expert_scores_the_committee_publishes_and_the_public_sees_the_results(system, browser) -> None:
    api = Api(system.gateway_url)
    entry_a, entry_b = _campaign_in_expert_review(api)
    expect = playwright.expect
    base = system.gateway_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # --- the expert finds both assignments; a score out of range is explained and kept ---
    expert = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    page = expert.new_page()
    _sign_in(page, base, f"{P}-expert")
    page.get_by_role("link", name="我的评审任务").first.click()
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.get_by_role("heading")).to_contain_text("戊大学")
    expect(card_a.get_by_label("规范性")).to_have_attribute("max", "25")
    _fill_scores(card_a, {"规范性": "30", "传播力": "22", "影响力": "21", "服务性": "24"})
    card_a.get_by_role("button", name="提交评分").click()
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.get_by_role("alert")).to_contain_text("每项须在 0 到")
    expect(card_a.get_by_label("规范性")).to_have_value("30")
    expect(card_a.get_by_label("服务性")).to_have_value("24")

    # --- a draft is kept without counting; submitting locks it and it shows in the ranking ---
    card_a.get_by_label("规范性").fill("23")
    card_a.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("status")).to_have_text("草稿已保存（尚未计入）。")
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.locator(".status")).to_have_text("草稿（未计入）")
    expect(card_a.get_by_label("规范性")).to_have_value("23")
    card_a.get_by_role("button", name="提交评分").click()
    expect(page.get_by_role("status")).to_have_text("评分已提交。")
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.locator(".status")).to_have_text("已提交（已锁定）")
    expect(card_a.locator(".score")).to_have_text("90.00")
    expect(card_a.get_by_role("button", name="提交评分")).to_have_count(0)
    card_b = page.locator(f"#a-{entry_b}-expert")
    _fill_scores(card_b, {"规范性": "20", "传播力": "20", "影响力": "20", "服务性": "20"})
    card_b.get_by_role("button", name="提交评分").click()
    expect(page.get_by_role("status")).to_have_text("评分已提交。")
    wait_for("the expert scores in the ranking", lambda: (r := _ranked(api))
             and r[entry_a]["components"]["expert"] == 90 and r[entry_b]["components"]["expert"] == 80)
    expert.close()

    # --- the committee reads every component, adjusts with a reason, and is told approval comes first ---
    committee = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    desk = committee.new_page()
    _sign_in(desk, base, f"{P}-committee")
    desk.get_by_role("link", name="终评与发布").first.click()
    row_a = desk.locator(f"#e-{entry_a}")
    expect(row_a.locator(".components")).to_contain_text("专家评审")
    expect(row_a.locator(".components")).to_contain_text("90")
    row_a.get_by_text("计算依据").click()
    expect(row_a.locator(".explain").first).to_be_visible()
    desk.get_by_label("调整的作品").select_option(entry_b)
    desk.get_by_role("spinbutton", name="调整分值").fill("-3")
    desk.get_by_role("button", name="记录调整").click()
    expect(desk.get_by_role("alert")).to_have_text("请填写理由：每个审核决定都要说明理由。")
    expect(desk.get_by_role("spinbutton", name="调整分值")).to_have_value("-3")
    desk.get_by_label("调整理由").fill("部分稿件未注明转载来源")
    desk.get_by_role("button", name="记录调整").click()
    expect(desk.get_by_role("status")).to_have_text("调整已记录，排名已重新计算。")
    expect(desk.locator(f"#e-{entry_b}")).to_contain_text("部分稿件未注明转载来源")
    adjusted_total = _ranked(api)[entry_b]["total"]
    desk.get_by_role("button", name="发布结果").click()
    expect(desk.get_by_role("alert")).to_have_text("结果须经主管单位审批后才能发布。")
    assert api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/results").status_code == 404

    # --- the supervising unit approves the rankings as they are ---
    supervisor = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    boss = supervisor.new_page()
    _sign_in(boss, base, f"{P}-supervisor")
    boss.goto(f"{base}/console/c/{CAMPAIGN}/final-review")
    expect(boss.get_by_role("button", name="发布结果")).to_have_count(0)
    boss.get_by_label("审批意见").fill("同意发布")
    boss.get_by_role("button", name="审批通过当前排名").click()
    expect(boss.get_by_role("status")).to_have_text("已审批当前排名。")
    expect(boss.locator("#approval-state")).to_contain_text("排名未再变化")
    supervisor.close()

    # --- the committee publishes one winner; the page links to the public results ---
    desk.goto(f"{base}/console/c/{CAMPAIGN}/final-review")
    desk.get_by_label("入选数量").fill("1")
    desk.get_by_role("button", name="发布结果").click()
    expect(desk.get_by_role("status")).to_have_text("结果已发布。")
    expect(desk.locator("#approval-state")).to_contain_text("已发布第 1 版。")
    desk.get_by_role("link", name="查看公开结果").click()
    committee.close()

    # --- the public sees the published results, in order, with the winner marked, in either language ---
    public = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    reader = public.new_page()
    reader.goto(f"{base}/c/{CAMPAIGN}/results")
    rows = reader.locator("table.standings tbody tr")
    expect(rows).to_have_count(2)
    ranking = _ranked(api)
    first, second = sorted(ranking, key=lambda e: ranking[e]["rank"])
    names = {entry_a: "戊大学", entry_b: "己大学"}
    expect(rows.nth(0)).to_contain_text(names[first])
    expect(rows.nth(0)).to_contain_text("入选")
    expect(rows.nth(1)).to_contain_text(names[second])
    expect(rows.nth(1)).not_to_contain_text("入选")
    expect(reader.locator("tr:has-text('己大学') td.num")).to_have_text(score_text(adjusted_total))
    assert "13700001234" not in reader.content() and "13922220001" not in reader.content()
    # when it was published, in the campaign's zone (Asia/Shanghai) and saying so
    published = reader.locator("main time").first
    when = datetime.fromisoformat(published.get_attribute("datetime") or "")
    assert abs(when - datetime.now(UTC)) < timedelta(minutes=10), when
    beijing = when.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    expect(published).to_have_text(f"北京时间 {beijing}")
    reader.screenshot(path=str(SCREENSHOTS / "public-reads-published-results.png"), full_page=True)
    reader.get_by_role("link", name="English").click()
    expect(reader.get_by_role("heading", name="Results")).to_be_visible()
    expect(rows.nth(0)).to_contain_text("Selected")
    expect(reader.locator("main time").first).to_have_text(f"{beijing} (UTC+8)")
    public.close()
