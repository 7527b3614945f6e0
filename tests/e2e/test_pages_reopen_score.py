"""In a real browser: an expert locks a score, the committee reopens it with a reason after a confirmation, the
expert finds on their scoring page that it was reopened, by whom, when and why, scores again and locks it, and the
committee sees the new score with the record of the reopening; a reopening that another committee member already
made is refused on the page. Points are shown under the campaign's names of the criteria."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, account_form, wait_for

from services.operations.demo import demo_definition

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-reopen"
CATEGORY = "institutional"
P = "ro"  # prefix of this test's organisations and people
EXPERT = f"{P}-expert"


def _ranked(api: Api) -> dict[str, dict[str, Any]]:
    r = api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/rankings/{CATEGORY}")
    return {e["entry_id"]: e for e in r.json()["entries"]} if r.status_code == 200 else {}


def _campaign_in_expert_review(api: Api) -> tuple[str, str]:
    """Two approved entries in the expert review, one expert assigned both: the entry ids."""
    api.login("admin", "admin-demo-password")
    for org in ({"id": f"{P}-office", "name": "重开评分中心", "kind": "office", "level": "provincial"},
                {"id": f"{P}-unit-a", "name": "庚大学", "kind": "unit", "level": "unit", "parent_id": f"{P}-office"},
                {"id": f"{P}-unit-b", "name": "辛大学", "kind": "unit", "level": "unit", "parent_id": f"{P}-office"}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for user, role, org in ((f"{P}-office", "office", f"{P}-office"), (f"{P}-unit-a", "unit", f"{P}-unit-a"),
                            (f"{P}-unit-b", "unit", f"{P}-unit-b"), (EXPERT, "expert", None),
                            (f"{P}-committee", "committee", None), (f"{P}-committee-2", "committee", None),
                            (f"{P}-supervisor", "supervisor", None)):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": user, "display_name": user, "password": PASSWORD, "role": role, "organisation_id": org})
        assert r.status_code == 200, r.text
        api.login(user, PASSWORD)
    definition = demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    api.phase(CAMPAIGN, "nomination")
    ids = []
    for unit, name, followers in ((f"{P}-unit-a", "庚大学", 70_000), (f"{P}-unit-b", "辛大学", 60_000)):
        r = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", unit,
                     json={"category_id": CATEGORY, "form": account_form(name, f"{P}_{unit}", followers)})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        r = api.call("POST", f"/api/submission/nominations/{ids[-1]}/review", f"{P}-office",
                     json={"decision": "approve", "reason": "符合条件"})
        assert r.status_code == 200, r.text
    # The first event of a fresh stack waits for the scoring consumer to join its group.
    wait_for("both entries in the ranking", lambda: len(_ranked(api)) == 2, timeout=60)
    api.phase(CAMPAIGN, "expert_review")
    scoring = f"/api/scoring/campaigns/{CAMPAIGN}"
    r = api.call("PUT", f"{scoring}/panels/{P}-panel", "admin",
                 json={"name": "重开评分评审组", "category_ids": [CATEGORY], "experts_per_entry": 1})
    assert r.status_code == 200, r.text
    r = api.call("PUT", f"{scoring}/panels/{P}-panel/experts/{EXPERT}", "admin", json={"display_name": "专家"})
    assert r.status_code == 200, r.text
    r = api.call("POST", f"{scoring}/panels/{P}-panel/assignments", "admin")
    assert r.status_code == 200, r.text
    return ids[0], ids[1]


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def _score_and_submit(page, entry_id: str, points: dict[str, str]) -> None:
    card = page.locator(f"#a-{entry_id}-expert")
    for name, value in points.items():
        card.get_by_label(name).fill(value)
    card.get_by_role("button", name="提交评分").click()
    playwright.expect(page.get_by_role("status")).to_have_text("评分已提交。")


def test_the_committee_reopens_a_locked_score_and_the_expert_scores_again(system, browser) -> None:
    api = Api(system.gateway_url)
    entry_a, entry_b = _campaign_in_expert_review(api)
    expect = playwright.expect
    base = system.gateway_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # --- the expert scores both entries and submits: the scores are locked ---
    expert = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    page = expert.new_page()
    _sign_in(page, base, EXPERT)
    page.get_by_role("link", name="我的评审任务").first.click()
    _score_and_submit(page, entry_a, {"规范性": "20", "传播力": "20", "影响力": "20", "服务性": "20"})
    _score_and_submit(page, entry_b, {"规范性": "15", "传播力": "15", "影响力": "15", "服务性": "15"})
    expect(page.locator(f"#a-{entry_a}-expert .status")).to_have_text("已提交（已锁定）")
    wait_for("the expert scores in the ranking", lambda: (r := _ranked(api))
             and r[entry_a]["components"]["expert"] == 80 and r[entry_b]["components"]["expert"] == 60)

    # --- the committee finds the locked score; a reopening needs a reason ---
    committee = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    desk = committee.new_page()
    _sign_in(desk, base, f"{P}-committee")
    desk.get_by_role("link", name="专家评分明细").first.click()
    expect(desk.get_by_role("heading", name="专家评分明细")).to_be_visible()
    row_a = desk.locator(f"#s-{entry_a}-{EXPERT}-expert")
    expect(row_a.locator(".status")).to_have_text("已提交（已锁定）")
    expect(row_a.locator(".score")).to_have_text("80.00")
    # the points under the campaign's names of the criteria, not their ids
    expect(row_a.locator(".criteria-points")).to_have_text(
        "各评分项：规范性 20/25，传播力 20/25，影响力 20/25，服务性 20/25")
    expect(row_a).not_to_contain_text("standardization")
    row_a.locator("summary", has_text="重新开放评分").click()
    row_a.get_by_role("button", name="重新开放评分").click()
    expect(desk.get_by_role("alert")).to_contain_text("请填写重新开放的理由（至少 2 个字）")
    row_a = desk.locator(f"#s-{entry_a}-{EXPERT}-expert")
    expect(row_a.locator(".status")).to_have_text("已提交（已锁定）")

    # --- the reason, then a page that says what reopening does; only confirming reopens ---
    reason = "专家来函：规范性一项录入有误，申请更正"
    row_a.get_by_label("重新开放的理由").fill(reason)
    row_a.get_by_role("button", name="重新开放评分").click()
    expect(desk.get_by_role("heading", name="确认重新开放评分")).to_be_visible()
    target = desk.locator("#reopen-target")
    for shown in ("庚大学", EXPERT, "账号评分", "80.0", "规范性 20/25", reason):
        expect(target).to_contain_text(shown)
    expect(desk.locator(".notice.warn")).to_contain_text("不计入排名")
    assert _ranked(api)[entry_a]["components"]["expert"] == 80  # nothing changed before the confirmation
    desk.screenshot(path=str(SCREENSHOTS / "committee-confirms-reopening.png"), full_page=True)
    desk.get_by_role("button", name="确认重新开放").click()
    expect(desk.get_by_role("status")).to_have_text("评分已重新开放，等待专家修改后重新提交。")
    row_a = desk.locator(f"#s-{entry_a}-{EXPERT}-expert")
    expect(row_a.locator(".status")).to_have_text("已重新开放，待专家重新提交（暂不计入）")
    expect(row_a.locator(".reopenings")).to_contain_text(f"重新开放：{P}-committee")
    expect(row_a.locator(".reopenings")).to_contain_text(reason)
    expect(row_a.get_by_role("button", name="重新开放评分")).to_have_count(0)
    wait_for("the reopened score to stop counting", lambda: _ranked(api)[entry_a]["components"]["expert"] != 80)

    # --- the expert is told, in the inbox, which score was reopened and why ---
    def told() -> bool:
        page.goto(f"{base}/console/inbox")
        return page.get_by_text(reason).count() > 0

    wait_for("the reopening notice in the expert's inbox", told)
    expect(page.locator("main")).to_contain_text("评分已重新开放")

    # --- on the scoring page the expert finds the score open again: reopened by whom, when and why ---
    page.goto(f"{base}/console/c/{CAMPAIGN}/scoring")
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.locator(".status")).to_have_text("草稿（未计入）")
    told = card_a.locator(".reopened")
    expect(told).to_contain_text("评审委员会已重新开放这项评分：请按下面的理由修改后重新提交")
    expect(told.locator("li")).to_have_count(1)
    expect(told).to_contain_text(f"重新开放：{P}-committee")
    expect(told).to_contain_text(f"重新开放的理由：{reason}")
    when = told.locator("time").get_attribute("datetime") or ""
    assert abs(datetime.fromisoformat(when) - datetime.now(UTC)) < timedelta(minutes=10), when
    # read in the campaign's zone (Asia/Shanghai), which the page names, not as the service's UTC
    beijing = datetime.fromisoformat(when).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    expect(told).to_contain_text(f"重新开放：{P}-committee，北京时间 {beijing}")
    expect(told).not_to_contain_text(datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M"))
    expect(page.locator(f"#a-{entry_b}-expert .reopened")).to_have_count(0)  # still locked, never reopened
    page.screenshot(path=str(SCREENSHOTS / "expert-sees-why-score-reopened.png"), full_page=True)
    # ... and in English, with the criteria under their English names
    page.get_by_role("link", name="English").click()
    card_a = page.locator(f"#a-{entry_a}-expert")
    told = card_a.locator(".reopened")
    expect(told).to_contain_text("The committee reopened this score: please correct it as the reason below says")
    expect(told).to_contain_text(f"Reopened by {P}-committee at {beijing} (UTC+8)")
    expect(told).to_contain_text(reason)
    expect(card_a.get_by_label("Standardization")).to_have_value("20")
    page.get_by_role("link", name="中文").click()

    # --- the expert changes it and locks it again; the record of the reopening stays on the card ---
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.get_by_label("规范性")).to_have_value("20")
    expect(card_a.get_by_label("规范性")).to_be_editable()
    _score_and_submit(page, entry_a, {"规范性": "25"})
    card_a = page.locator(f"#a-{entry_a}-expert")
    expect(card_a.locator(".status")).to_have_text("已提交（已锁定）")
    expect(card_a.locator(".score")).to_have_text("85.00")
    expect(card_a.locator(".reopened")).to_contain_text("这项评分曾由评审委员会重新开放，您已修改并重新提交。")
    expect(card_a.locator(".reopened")).to_contain_text(reason)
    wait_for("the new score in the ranking", lambda: _ranked(api)[entry_a]["components"]["expert"] == 85)
    expert.close()

    # --- the committee sees the new score, locked again, with the record of the reopening ---
    desk.goto(f"{base}/console/c/{CAMPAIGN}/expert-scores")
    row_a = desk.locator(f"#s-{entry_a}-{EXPERT}-expert")
    expect(row_a.locator(".status")).to_have_text("重新提交（已锁定）")
    expect(row_a.locator(".score")).to_have_text("85.00")
    expect(row_a.locator(".reopenings li")).to_have_count(1)
    expect(row_a.locator(".reopenings")).to_contain_text(reason)
    desk.screenshot(path=str(SCREENSHOTS / "committee-reopened-expert-score.png"), full_page=True)
    desk.get_by_role("link", name="终评与发布").click()
    expect(desk.locator(f"#e-{entry_a} .components")).to_contain_text("85")

    # --- a score another committee member reopened meanwhile: the confirmation is refused, in words ---
    desk.goto(f"{base}/console/c/{CAMPAIGN}/expert-scores?category={CATEGORY}")
    row_b = desk.locator(f"#s-{entry_b}-{EXPERT}-expert")
    row_b.locator("summary", has_text="重新开放评分").click()
    row_b.get_by_label("重新开放的理由").fill("复核评分")
    row_b.get_by_role("button", name="重新开放评分").click()
    expect(desk.get_by_role("heading", name="确认重新开放评分")).to_be_visible()
    r = api.call("POST", f"/api/scoring/campaigns/{CAMPAIGN}/expert-scores/reopen", f"{P}-committee-2",
                 json={"expert_id": EXPERT, "entry_id": entry_b, "component": "expert", "reason": "另一委员已处理"})
    assert r.status_code == 200, r.text
    desk.get_by_role("button", name="确认重新开放").click()
    expect(desk.get_by_role("alert")).to_contain_text("这项评分目前没有锁定（可能已被重新开放，或专家尚未提交），无需重新开放。")
    row_b = desk.locator(f"#s-{entry_b}-{EXPERT}-expert")
    expect(row_b.locator(".status")).to_have_text("已重新开放，待专家重新提交（暂不计入）")
    expect(row_b.locator(".reopenings li")).to_have_count(1)
    expect(row_b.locator(".reopenings")).to_contain_text(f"重新开放：{P}-committee-2")
    expect(row_b.locator(".reopenings")).to_contain_text("另一委员已处理")

    # --- when the page is already behind, the refusal comes before the confirmation ---
    r = api.call("POST", f"/api/scoring/campaigns/{CAMPAIGN}/expert-scores/reopen", f"{P}-committee-2",
                 json={"expert_id": EXPERT, "entry_id": entry_a, "component": "expert", "reason": "专家再次来函"})
    assert r.status_code == 200, r.text
    row_a = desk.locator(f"#s-{entry_a}-{EXPERT}-expert")
    row_a.locator("summary", has_text="重新开放评分").click()
    row_a.get_by_label("重新开放的理由").fill("复核评分")
    row_a.get_by_role("button", name="重新开放评分").click()
    expect(desk.get_by_role("alert")).to_contain_text("这项评分目前没有锁定")
    expect(desk.get_by_role("heading", name="确认重新开放评分")).to_have_count(0)
    expect(desk.locator(f"#s-{entry_a}-{EXPERT}-expert .reopenings li")).to_have_count(2)
    desk.get_by_role("link", name="English").click()
    expect(desk.get_by_role("heading", name="Expert scores")).to_be_visible()
    expect(desk.locator(f"#s-{entry_b}-{EXPERT}-expert .status")).to_have_text(
        "Reopened: waiting for the expert to submit again (does not count)")
    named = desk.locator(f"#s-{entry_b}-{EXPERT}-expert .criteria-points")
    for shown in ("Standardization 15/25", "Reach 15/25", "Influence 15/25", "Service 15/25"):
        expect(named).to_contain_text(shown)
    committee.close()

    # --- the supervising unit reads the same scores but cannot reopen them ---
    supervisor = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    boss = supervisor.new_page()
    _sign_in(boss, base, f"{P}-supervisor")
    boss.goto(f"{base}/console/c/{CAMPAIGN}/expert-scores")
    expect(boss.locator(f"#s-{entry_a}-{EXPERT}-expert .reopenings")).to_contain_text("专家再次来函")
    expect(boss.get_by_role("button", name="重新开放评分")).to_have_count(0)
    supervisor.close()
