"""In a real browser, under the gateway's Content-Security-Policy: the voting page verifies a number and votes,
signing in and the console work, and the API docs render from the gateway's own files; the browser
reports no policy violation on any of them."""

from __future__ import annotations

import pytest
from support import PHONE_SIZE, Api, open_voting

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-edge"
# Set before any page script runs: every violation the browser reports, also those it does not log.
WATCH = ("window.__violations = [];"
         "document.addEventListener('securitypolicyviolation',"
         " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")


def _watched(context):
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: messages.append(str(e)))
    page.add_init_script(WATCH)
    return page, messages


def _no_violation(page, messages: list[str]) -> None:
    assert page.evaluate("window.__violations") == []
    assert not [m for m in messages if "Content Security Policy" in m or "Refused to" in m], messages


def test_pages_work_under_the_content_security_policy(system, browser) -> None:
    api = Api(system.gateway_url)
    open_voting(api, CAMPAIGN, ["边缘测试甲号"])
    base = system.gateway_url
    expect = playwright.expect
    context = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")

    # The voting page: its script asks for a code, verifies it and casts a vote.
    page, messages = _watched(context)
    answer = page.goto(f"{base}/c/{CAMPAIGN}/entries?category=institutional")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    phone = "13912340077"
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_contain_text("验证码已发送")
    page.get_by_label("短信验证码").fill(api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"])
    page.get_by_role("button", name="验证", exact=True).click()
    expect(page.locator("#votes-left")).to_have_text("今日剩余 10 票")
    card = page.locator(".entry", has_text="边缘测试甲号")
    card.get_by_label("票数").fill("2")
    card.get_by_role("button", name="投票给 边缘测试甲号").click()
    expect(card.locator("[role=status]")).to_contain_text("投票成功：已投 2 票。")
    _no_violation(page, messages)

    # Signing in and the console.
    page, messages = _watched(context)
    page.goto(base + "/login")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("admin-demo-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(base + "/console")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    _no_violation(page, messages)

    # The API docs: Swagger UI from the gateway's own files draws the operations.
    page, messages = _watched(context)
    page.goto(base + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("massline")
    expect(page.locator(".opblock").first).to_be_visible()
    _no_violation(page, messages)

    # A service's API, chosen above the docs: its operations, tried through the gateway.
    page.get_by_label("API").select_option("voting")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("voting")
    expect(page.locator(".swagger-ui .servers")).to_contain_text("/api/voting")
    expect(page.locator(".opblock-summary-path", has_text="/campaigns/{campaign_id}/standings").first).to_be_visible()
    _no_violation(page, messages)
    context.close()


def test_each_service_s_api_description_is_served_for_the_gateway_and_its_own_docs_page_leads_there(system) -> None:
    api = Api(system.gateway_url)
    open_voting(api, "pages-edge-docs", ["边缘测试乙号"])
    document = api.call("GET", "/api/voting/openapi.json").json()
    assert document["servers"] == [{"url": "/api/voting"}]
    path = "/campaigns/{campaign_id}/standings"
    assert path in document["paths"]
    # What "Try it out" sends: the server's URL and the path, through the gateway.
    standings = api.call("GET", document["servers"][0]["url"] + path.format(campaign_id="pages-edge-docs"))
    assert standings.status_code == 200 and standings.json()["campaign_id"] == "pages-edge-docs"
    # The gateway's own server dates the answer and names itself once; the service's copies are not handed on.
    assert len(standings.headers.get_list("date")) == 1 and len(standings.headers.get_list("server")) <= 1
    for page in ("docs", "redoc", "docs/oauth2-redirect"):
        moved = api.call("GET", f"/api/voting/{page}", follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == "/docs?api=voting"

