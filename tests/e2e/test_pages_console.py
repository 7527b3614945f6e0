"""In a real browser: a unit's nomination that breaks a rule is explained and kept, fixed and submitted; the
office returns it with a reason, and the unit reads the reason."""

from __future__ import annotations

import pytest
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, wait_for

from services.operations.demo import demo_definition

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-console"
OFFICE = f"{CAMPAIGN}-office"
UNIT = f"{CAMPAIGN}-unit"


def _campaign_in_nomination(api: Api) -> None:
    api.login("admin", "admin-demo-password")
    for org in ({"id": OFFICE, "name": "网页审核中心", "kind": "office", "level": "provincial"},
                {"id": UNIT, "name": "网页示范大学", "kind": "unit", "level": "unit", "parent_id": OFFICE}):
        r = api.call("PUT", "/api/submission/organisations", "admin", json=org)
        assert r.status_code == 200, r.text
    for username, role in ((OFFICE, "office"), (UNIT, "unit")):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": username, "display_name": username, "password": PASSWORD, "role": role,
            "organisation_id": username})
        assert r.status_code == 200, r.text
    definition = demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    api.phase(CAMPAIGN, "nomination")


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def test_a_unit_fixes_a_refused_nomination_and_the_office_returns_it_with_a_reason(system, browser) -> None:
    api = Api(system.gateway_url)
    _campaign_in_nomination(api)
    expect = playwright.expect
    base = system.gateway_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # A wrong password is refused in words; the staff token then lives in a cookie no script can read.
    unit = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    page = unit.new_page()
    page.goto(base + "/console")
    page.get_by_label("用户名").fill(UNIT)
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确。")
    expect(page.get_by_label("用户名")).to_have_value(UNIT)
    _sign_in(page, base, UNIT)
    assert page.evaluate("document.cookie") == "" and any(c["httpOnly"] for c in unit.cookies())

    page.locator(f"a[href='/console/c/{CAMPAIGN}/nominations']").click()
    page.get_by_role("link", name="新增推荐").click()

    # As the unit types, a malformed phone number is pointed out next to its field.
    page.get_by_label("推选类别").select_option("institutional")
    page.get_by_label("账号名称").fill("网页示范大学微信")
    page.get_by_label("账号所属平台").select_option("wechat")
    page.get_by_label("账号ID").fill("wysf_weixin")
    page.get_by_label("账号主页链接").fill("https://mp.weixin.qq.com/s/wysf")
    page.get_by_label("运营主体").fill("网页示范大学党委宣传部")
    page.get_by_label("账号级别").select_option("provincial")
    page.get_by_label("粉丝量").fill("5000")
    page.get_by_label("发稿量").fill("300")
    page.get_by_label("互动量").fill("9000")
    page.get_by_label("账号简介").fill("学校官方微信公众号，发布校园要闻。")
    page.locator("#f_contact_name").fill("王老师")
    page.get_by_label("联系人手机号码").fill("1380013")
    expect(page.locator("#err-contact_phone")).to_have_text("联系人手机号码应为11位手机号码。")
    page.get_by_label("联系人手机号码").fill("13800138000")
    expect(page.locator("#err-contact_phone")).to_have_text("")

    # The follower threshold is the service's rule: refused with its message, and nothing typed is lost.
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("alert")).to_contain_text("粉丝")
    expect(page.locator("#err-followers")).not_to_be_empty()
    expect(page.get_by_label("粉丝量")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("账号名称")).to_have_value("网页示范大学微信")
    expect(page.get_by_label("账号简介")).to_have_value("学校官方微信公众号，发布校园要闻。")
    expect(page.get_by_label("账号级别")).to_have_value("provincial")
    expect(page.get_by_label("联系人手机号码")).to_have_value("13800138000")
    page.screenshot(path=str(SCREENSHOTS / "unit-nomination-refused.png"), full_page=True)
    page.get_by_label("粉丝量").fill("50000")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_have_text("推荐已提交。")
    expect(page.locator("#nomination-status")).to_have_text("审核中")
    expect(page.locator(".facts")).to_contain_text("省级")
    nomination_url = page.url.split("?")[0]
    page.screenshot(path=str(SCREENSHOTS / "unit-nomination-submitted.png"), full_page=True)

    # The office finds it in its queue and returns it with a reason.
    office = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    desk = office.new_page()
    _sign_in(desk, base, OFFICE)
    desk.goto(f"{base}/console/c/{CAMPAIGN}/review")
    desk.get_by_role("link", name="网页示范大学微信").click()
    desk.get_by_label("退回修改").check()
    desk.get_by_label("理由").fill("粉丝量截图不清晰，请补充后台截图")
    desk.get_by_role("button", name="提交审核意见").click()
    expect(desk.get_by_role("status")).to_have_text("审核意见已记录。")
    expect(desk.get_by_text("没有待审核的推荐。")).to_be_visible()
    desk.screenshot(path=str(SCREENSHOTS / "office-returned-nomination.png"), full_page=True)

    # The unit sees the status and the office's reason on its nomination, with the way to correct it.
    page.goto(nomination_url)
    expect(page.locator("#nomination-status")).to_have_text("已退回，待修改")
    expect(page.locator("#returned-reason")).to_contain_text("粉丝量截图不清晰，请补充后台截图")
    expect(page.get_by_role("link", name="修改并重新提交")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "unit-reads-return-reason.png"), full_page=True)

    # The notice of the return reaches the unit's inbox (by event, through the notification service).
    def notice_arrived() -> bool:
        page.goto(f"{base}/console/inbox")
        return page.get_by_text("粉丝量截图不清晰，请补充后台截图").count() > 0

    wait_for("the return notice in the unit's inbox", notice_arrived)
    expect(page.get_by_role("heading", name="消息")).to_be_visible()
    assert "&lt;" not in page.locator("main").inner_text()  # nothing escaped twice
    page.screenshot(path=str(SCREENSHOTS / "unit-inbox.png"), full_page=True)
    office.close()
    unit.close()
