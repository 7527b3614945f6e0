"""In a real browser, on the whole system: the registry's events reach submission over the broker, the unit picks
its account from the registry on the nomination form (a suspended one is offered but cannot be picked), and the
office reviewing it sees the account's registry status and the snapshot its figures came from."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, wait_for

from massline.contracts import AccountFiled, AccountSnapshotRecorded, AccountSuspended, Event, make_envelope, topics
from services.operations.demo import demo_definition

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-registry"
OFFICE, UNIT = "preg-office", "preg-unit"
REFERENCE = datetime.now(UTC).date() - timedelta(days=1)


def _publish(bootstrap: str, events: list[Event]) -> None:
    """As the registry service would: each event in its envelope on massline.registry.v1, keyed by the account."""
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for e in events:
                env = make_envelope(e, campaign_id="registry", producer="registry")
                await producer.send_and_wait(topics.REGISTRY, env.to_bytes(), key=e.key().encode())
        finally:
            await producer.stop()

    # The browser's driver runs an event loop in this thread: the producer gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


def _account(name: str, platform_id: str) -> AccountFiled:
    return AccountFiled(account_id=uuid.uuid4(), unit_id=UNIT, unit_name="网页备案大学", platform="wechat",
                        level="provincial", platform_account_id=platform_id, verified_name=name, region="陕西省西安市",
                        status="active")


def _set_up(api: Api) -> None:
    api.login("admin", "admin-demo-password")
    for org in ({"id": OFFICE, "name": "网页备案审核中心", "kind": "office", "level": "provincial"},
                {"id": UNIT, "name": "网页备案大学", "kind": "unit", "level": "unit", "parent_id": OFFICE}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for username, role in ((OFFICE, "office"), (UNIT, "unit")):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": username, "display_name": username, "password": PASSWORD, "role": role,
            "organisation_id": username})
        assert r.status_code == 200, r.text
        api.login(username, PASSWORD)
    definition = (demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
                  + f"nomination_accounts: registry\nreference_period:\n"
                    f"  starts_on: {REFERENCE - timedelta(days=60)}\n  ends_on: {REFERENCE}\n")
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    api.phase(CAMPAIGN, "nomination")


def _sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    playwright.expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def test_a_unit_picks_its_registry_account_and_the_office_sees_its_status_and_snapshot(system, browser) -> None:
    api = Api(system.gateway_url)
    _set_up(api)
    expect = playwright.expect
    base = system.gateway_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    good, suspended = _account("西安备案大学", "gh_preg_good"), _account("西安备案大学新闻", "gh_preg_off")
    snapshot = AccountSnapshotRecorded(snapshot_id=uuid.uuid4(), account_id=good.account_id, unit_id=UNIT,
                                       taken_on=REFERENCE, followers=36_000, posts=410, reposts=2_500, comments=1_500)
    _publish(system.kafka_bootstrap, [
        good, suspended, snapshot,
        AccountSuspended(**suspended.model_dump(exclude={"status"}), status="suspended", reason="内容长期未更新")])

    def learnt() -> bool:
        r = api.call("GET", f"/api/submission/campaigns/{CAMPAIGN}/registry-accounts", UNIT)
        accounts = r.json().get("accounts", []) if r.status_code == 200 else []
        return len(accounts) == 2 and {a["status"] for a in accounts} == {"active", "suspended"}

    wait_for("the registry's events in submission", learnt)

    unit = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    page = unit.new_page()
    _sign_in(page, base, UNIT)
    page.goto(f"{base}/console/c/{CAMPAIGN}/nominations/new")
    picker = page.locator("#f_registry_account_id")
    expect(picker).to_contain_text("西安备案大学")
    expect(picker).to_contain_text("已暂停或注销的账号不得参评")
    expect(page.locator(f"input[value='{suspended.account_id}']")).to_be_disabled()
    expect(page.get_by_label("账号名称")).to_have_count(0)  # the registry fills the name
    page.screenshot(path=str(SCREENSHOTS / "unit-registry-picker.png"), full_page=True)
    page.locator(f"input[value='{good.account_id}']").check()
    page.get_by_label("推选类别").select_option("institutional")
    page.get_by_label("账号主页链接").fill("https://mp.weixin.qq.com/s/preg")
    page.get_by_label("运营主体").fill("网页备案大学党委宣传部")
    page.get_by_label("账号简介").fill("学校官方微信公众号。")
    page.locator("#f_contact_name").fill("王老师")
    page.get_by_label("联系人手机号码").fill("13800138000")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_have_text("推荐已提交。")
    expect(page.locator("h1")).to_have_text("西安备案大学")

    office = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    desk = office.new_page()
    _sign_in(desk, base, OFFICE)
    desk.goto(f"{base}/console/c/{CAMPAIGN}/review")
    desk.get_by_role("link", name="西安备案大学").click()
    section = desk.locator("#registry-account")
    expect(section).to_contain_text("正常")
    expect(section).to_contain_text("gh_preg_good")
    expect(section).to_contain_text(str(snapshot.snapshot_id))
    expect(section).to_contain_text(f"{REFERENCE}：粉丝 36000 · 发稿 410 · 互动 4000")
    desk.screenshot(path=str(SCREENSHOTS / "office-registry-account.png"), full_page=True)
