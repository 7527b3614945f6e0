"""In a real browser on a phone-sized screen: the public finds a campaign, searches its entries, verifies a mobile
number, votes until the day's quota is used up and reads why the next vote is refused; a voter on a virtual
operator's number, on a network that asked for codes, solves a captcha first."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest
from support import PHONE_SIZE, SCREENSHOTS, Api, open_voting

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-vote"


def test_a_voter_verifies_votes_until_the_quota_and_reads_the_refusal(system, browser) -> None:
    api = Api(system.gateway_url)
    open_voting(api, CAMPAIGN, ["网页测试甲号", "网页测试乙号"])
    context = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    expect = playwright.expect

    # The landing page lists the campaign; its page shows the categories and the current phase.
    page.goto(system.gateway_url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.locator(f"a[href='/c/{CAMPAIGN}']").click()
    expect(page.get_by_role("heading", name="征集类别")).to_be_visible()
    expect(page.locator(".phase")).to_contain_text("网络投票")
    page.get_by_role("link", name="机构/政务账号").click()

    # Entries are searchable by name.
    expect(page.locator(".entry")).to_have_count(2)
    page.get_by_label("按名称或单位搜索").fill("乙号")
    page.get_by_role("button", name="搜索").click()
    expect(page.locator(".entry")).to_have_count(1)
    expect(page.locator(".entry h3")).to_have_text("网页测试乙号")

    # An entry's page shows public fields only: the contact's mobile number never reaches it.
    page.get_by_role("link", name="网页测试乙号").click()
    expect(page.get_by_role("heading", name="网页测试乙号")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("网页测试乙号的官方账号")
    assert "13700001234" not in page.content() and "联系人" not in page.locator(".facts").inner_text()

    # A wrong number is explained before anything is sent; then the voter verifies with the texted code.
    page.goto(f"{system.gateway_url}/c/{CAMPAIGN}/entries?category=institutional")
    page.get_by_label("手机号码").fill("12345")
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_have_text("请输入11位手机号码。")
    phone = "13912340008"
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_contain_text("验证码已发送")
    code = api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
    page.get_by_label("短信验证码").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="验证", exact=True).click()
    expect(page.locator("#vote-message")).to_have_text("验证码不正确，请核对短信后重新输入。")
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="验证", exact=True).click()
    expect(page.locator("#votes-left")).to_have_text("今日剩余 10 票")
    # The page keeps its ticket stamped with this page view (claim `pv`) and votes with it (docs/pages.md).
    ticket = page.evaluate(f"sessionStorage.getItem('massline-ticket:{CAMPAIGN}')")
    claims = json.loads(base64.urlsafe_b64decode(ticket.split(".")[1] + "=="))
    assert isinstance(claims.get("pv"), int) and claims["pv"] >= claims["iat"]

    # Seven votes to one entry, then five more than the three left: refused, with the number left.
    card_a = page.locator(".entry", has_text="网页测试甲号")
    card_b = page.locator(".entry", has_text="网页测试乙号")
    card_a.get_by_label("票数").fill("7")
    card_a.get_by_role("button", name="投票给 网页测试甲号").click()
    expect(card_a.locator("[role=status]")).to_have_text(re.compile(r"^投票成功：已投 7 票。 回执编号：[0-9a-f-]{36} 核验回执"))
    # the receipt's link goes to the campaign's vote-log page, where the vote can be checked once sealed
    expect(card_a.get_by_role("link", name="核验回执")).to_have_attribute(
        "href", re.compile(r"^/c/[^/]+/vote-log\?vote_id=[0-9a-f-]{36}$"))
    expect(page.locator("#votes-left")).to_have_text("今日剩余 3 票")
    card_b.get_by_label("票数").fill("5")
    card_b.get_by_role("button", name="投票给 网页测试乙号").click()
    expect(card_b.locator("[role=status]")).to_contain_text("今天还剩 3 票")
    card_b.get_by_label("票数").fill("3")
    card_b.get_by_role("button", name="投票给 网页测试乙号").click()
    expect(card_b.locator("[role=status]")).to_contain_text("投票成功：已投 3 票。")
    expect(page.locator("#votes-left")).to_have_text("今日剩余 0 票")

    # The quota is used up: the next vote is refused in words, and the page still says 0 left after a reload.
    card_a.get_by_label("票数").fill("1")
    card_a.get_by_role("button", name="投票给 网页测试甲号").click()
    expect(card_a.locator("[role=status]")).to_have_text(
        "您今天的票数不够了：今天还剩 0 票，每人每天最多 10 票。明天可以再投。")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "voter-quota-refused.png"), full_page=True)
    page.reload()
    expect(page.locator("#votes-left")).to_have_text("今日剩余 0 票")

    # Standings while voting show ranks only (the campaign hides counts); the same page reads in English.
    page.goto(f"{system.gateway_url}/c/{CAMPAIGN}/standings")
    expect(page.locator("table.standings tbody tr")).to_have_count(2)
    expect(page.locator("table.standings tbody tr").first).to_contain_text("网页测试甲号")
    expect(page.get_by_text("投票期间只公布名次，不公布票数；")).to_be_visible()
    assert page.locator("th", has_text="票数").count() == 0
    assert page.locator("#held-note").count() == 0 and page.locator(".vote-states").count() == 0  # no counts shown, and no entry has held votes
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Live standings")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{system.gateway_url}/c/{CAMPAIGN}/results")
    expect(page.get_by_text("The results have not been published yet.")).to_be_visible()
    context.close()


def test_a_voter_on_a_busy_network_solves_the_captcha_before_the_code_is_sent(system, browser) -> None:
    """With the service's default limits: a captcha for a virtual operator's number (what code platforms sell) once
    the voter's network was sent three codes within the hour."""
    api = Api(system.gateway_url)
    campaign = "pages-captcha"
    open_voting(api, campaign, ["图形验证甲号"])
    left = 3600 - time.time() % 3600  # codes are counted in fixed hours: not across the turn of one
    if left < 60:
        time.sleep(left + 0.5)
    for i in range(3):  # three neighbours on the voter's /24 already asked for codes
        r = api.call("POST", f"/api/voting/campaigns/{campaign}/voters/sms-code", json={"phone": f"1390000010{i}"},
                     headers={"X-Forwarded-For": f"203.0.113.{60 + i}"})
        assert r.status_code == 202, r.text
    context = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  extra_http_headers={"X-Forwarded-For": "203.0.113.50"})
    page = context.new_page()
    expect = playwright.expect
    page.goto(f"{system.gateway_url}/c/{campaign}/entries?category=institutional")
    expect(page.locator("#captcha-field")).to_be_hidden()

    # The code request is answered `captcha_required`: the page shows the picture and says why.
    phone = "17012340019"
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_have_text("请先输入图中的字符，再获取验证码。")
    picture = page.get_by_role("img", name="图形验证码：请输入图中的字符")
    expect(picture).to_be_visible()
    expect(picture).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_have_text("请输入图中的字符。")

    # A wrong answer brings a new picture; the right one (any case) sends the code and the picture goes away.
    first = picture.get_attribute("data-captcha-id")
    answer = api.call("GET", f"/api/voting/dev/captchas/{first}").json()["answer"]
    page.get_by_label("图中字符").fill("".join("A" if c != "A" else "B" for c in answer))
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_have_text("图中字符输入不正确或图片已过期，请按新图片重新输入。")
    expect(picture).not_to_have_attribute("data-captcha-id", first)
    expect(page.get_by_label("图中字符")).to_have_value("")
    answer = api.call("GET", f"/api/voting/dev/captchas/{picture.get_attribute('data-captcha-id')}").json()["answer"]
    page.get_by_label("图中字符").fill(answer.lower())
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#vote-message")).to_contain_text("验证码已发送")
    expect(page.locator("#captcha-field")).to_be_hidden()
    code = api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="验证", exact=True).click()
    expect(page.locator("#votes-left")).to_have_text("今日剩余 10 票")
    context.close()
