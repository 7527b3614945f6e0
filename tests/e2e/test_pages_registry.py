"""In a real browser: a unit files an account on the registry page (a name without its region is refused in words,
nothing typed is lost), its city office and then its provincial office approve it from their review queue, and the
unit sees it filed with its history. Screenshots of each step; no serious accessibility problem on the pages."""

from __future__ import annotations

import pytest
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, wait_for
from test_pages_public import serious_problems

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

P = "pgreg"
UNIT, CITY, PROVINCE = f"{P}-unit", f"{P}-city", f"{P}-prov"


def _set_up(api: Api) -> None:
    api.login("admin", "admin-demo-password")
    for org in ({"id": PROVINCE, "name": "陕西网页测试中心", "kind": "office", "level": "provincial"},
                {"id": CITY, "name": "宝鸡网页测试办", "kind": "office", "level": "city", "parent_id": PROVINCE},
                {"id": UNIT, "name": "宝鸡网页学院", "kind": "unit", "level": "unit", "parent_id": CITY}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for username, role in ((UNIT, "unit"), (CITY, "office"), (PROVINCE, "office")):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": username, "display_name": username, "password": PASSWORD, "role": role,
            "organisation_id": username})
        assert r.status_code == 200, r.text
    api.login(UNIT, PASSWORD)
    wait_for("the registry to know the unit", lambda: api.call(
        "POST", "/api/registry/accounts/import", UNIT,
        json={"rows": [{"line": 1, "values": {"platform": "myspace"}}], "keep_good": True},
    ).json()["refused"][0]["code"] != "unit_unknown")


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def _shot(page, name: str) -> None:
    assert serious_problems(page) == [], name
    page.screenshot(path=str(SCREENSHOTS / f"registry-{name}.png"), full_page=True)


def _approve(browser, base: str, office: str, reason: str, shot: str) -> None:
    context = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN", bypass_csp=True)
    desk = context.new_page()
    _sign_in(desk, base, office)
    desk.get_by_role("link", name="备案审核").click()
    desk.get_by_role("link", name="宝鸡网页学院").click()
    playwright.expect(desk.locator("#pending-request")).to_contain_text("开设")
    desk.get_by_label("理由").fill(reason)
    desk.get_by_role("button", name="提交审核意见").click()
    playwright.expect(desk.get_by_role("status")).to_have_text("审核意见已记录。")
    playwright.expect(desk.get_by_text("没有等待本部门审核的申请。")).to_be_visible()
    _shot(desk, shot)
    context.close()


def test_a_unit_files_an_account_and_two_offices_approve_it(system, browser) -> None:
    api = Api(system.gateway_url)
    _set_up(api)
    expect = playwright.expect
    base = system.gateway_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    unit = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN", bypass_csp=True)
    page = unit.new_page()
    _sign_in(page, base, UNIT)
    page.get_by_role("link", name="账号备案").click()
    expect(page.get_by_text("还没有备案账号。")).to_be_visible()
    page.get_by_label("平台", exact=True).select_option("wechat")
    page.get_by_label("平台账号ID").fill("bjwy_weixin")
    page.get_by_label("认证名称（须含行政区域名称）").fill("网页学院")
    page.get_by_label("负责人（本单位工作人员账号）").fill("bj-staff")
    page.get_by_label("负责人联系方式（不公开）").fill("0917-1234567")
    page.get_by_role("button", name="提交备案申请").click()
    expect(page.get_by_role("alert")).to_contain_text("行政区域")
    expect(page.get_by_label("平台账号ID")).to_have_value("bjwy_weixin")
    expect(page.get_by_label("负责人联系方式（不公开）")).to_have_value("0917-1234567")
    _shot(page, "unit-name-refused")

    page.get_by_label("认证名称（须含行政区域名称）").fill("宝鸡网页学院")
    page.get_by_role("button", name="提交备案申请").click()
    expect(page.get_by_role("status")).to_have_text("已提交，等待上级部门逐级审核。")
    expect(page.locator("#account-status")).to_have_text("开设审核中")
    expect(page.locator("#pending-request")).to_contain_text("等待：市级审核")
    expect(page.locator(".facts")).to_contain_text("宝鸡市")
    account_url = page.url.split("?")[0]
    _shot(page, "unit-filed")

    _approve(browser, base, CITY, "材料齐全", "city-approved")
    _approve(browser, base, PROVINCE, "同意备案", "province-approved")

    page.goto(account_url)
    expect(page.locator("#account-status")).to_have_text("已备案")
    expect(page.locator("#account-history")).to_contain_text("市级审核")
    expect(page.locator("#account-history")).to_contain_text("同意备案")
    page.get_by_role("button", name="标记为正常运营").click()
    expect(page.locator("#account-status")).to_have_text("正常运营")
    _shot(page, "unit-active")
    page.goto(f"{base}/console/registry?lang=en")
    expect(page.locator("#registry-accounts")).to_contain_text("Active")
    _shot(page, "unit-list-en")
    unit.close()
