"""Account health through the running system: a unit files an account and reports stale figures, `massline
accounts check` finds it idle, notification tells the unit, an overdue finding reaches the provincial office, the
unit reports it fixed on its page and the city office accepts on its board; the monthly report page draws its
charts. The person in charge appears on none of these pages, files or notices."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONTACT = "13955556666"


def _organisations(api: Api, p: str) -> None:
    orgs = [{"id": f"{p}-prov", "name": "陕西省委网信办", "kind": "office", "level": "provincial"},
            {"id": f"{p}-city", "name": "西安市委网信办", "kind": "office", "level": "city", "parent_id": f"{p}-prov"},
            {"id": f"{p}-unit", "name": "西安市文旅局", "kind": "unit", "level": "unit", "parent_id": f"{p}-city"}]
    for org in orgs:
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": org["id"], "display_name": org["name"], "password": PASSWORD, "role": org["kind"],
            "organisation_id": org["id"]})
        assert r.status_code == 200, r.text
        api.login(org["id"], PASSWORD)


def _active_account(api: Api, p: str) -> str:
    """Filed by the unit, approved by the city then the provincial office, put in operation."""
    unit = f"{p}-unit"
    body = {"platform": "douyin", "level": "unit", "platform_account_id": f"xa-{p}", "verified_name": "西安文旅",
            "person_in_charge": {"username": "wang", "contact": CONTACT}}
    # The registry learns the offices above the unit from submission's events.
    filed = wait_for("the registry to know the unit's offices", lambda: (
        r := api.call("POST", "/api/registry/accounts", unit, json=body)).status_code == 201 and r)
    request_id, account_id = filed.json()["id"], filed.json()["account_id"]
    for office in (f"{p}-city", f"{p}-prov"):
        r = api.call("POST", f"/api/registry/requests/{request_id}/decision", office, json={"decision": "approve"})
        assert r.status_code == 200, r.text
    r = api.call("POST", f"/api/registry/accounts/{account_id}/activate", unit)
    assert r.status_code == 200, r.text
    return str(account_id)


def _inbox(api: Api, who: str) -> list[dict[str, Any]]:
    r = api.call("GET", f"/api/notification/inbox/{who}", who.split(":", 1)[1])
    return r.json().get("notifications", []) if r.status_code == 200 else []


def _signed_in(base: str, username: str) -> httpx.Client:
    page = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    r = page.post("/login", data={"username": username, "password": PASSWORD, "next": "/console"})
    assert r.status_code == 200 and "/console" in str(r.url), r.text[:300]
    return page


def test_a_stale_account_is_found_followed_escalated_and_closed(system) -> None:
    api = Api(system.gateway_url)
    api.login("admin", "admin-demo-password")
    p = f"h{uuid.uuid4().hex[:6]}"
    _organisations(api, p)
    account_id = _active_account(api, p)
    # The checks count Beijing's calendar days (`report_timezone`), which is a day ahead of UTC from 16:00 UTC.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    r = api.call("POST", f"/api/registry/accounts/{account_id}/snapshots", f"{p}-unit", json={
        "taken_on": (today - timedelta(days=1)).isoformat(), "followers": 5000, "posts": 4, "reposts": 3,
        "comments": 2, "last_update_on": (today - timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text

    env = {**os.environ, **system.env()}
    env.pop("MASSLINE_ADMIN_PASSWORD", None)

    def massline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.operations", "accounts", *args, "--url",
                               system.gateway_url], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    out = massline("check")
    assert out.returncode == 0, out.stderr
    assert "idle_no_update" in out.stdout and "西安文旅" in out.stdout and CONTACT not in out.stdout
    notice = wait_for("the unit to be told", lambda: [n for n in _inbox(api, f"unit:{p}-unit")
                                                      if "西安文旅" in n["subject"]])
    assert "整改" in notice[0]["body"] and CONTACT not in notice[0]["body"]

    out = massline("check", "--on", (today + timedelta(days=8)).isoformat())
    assert out.returncode == 0, out.stderr
    assert f"followed by {p}-prov" in out.stdout
    wait_for("the provincial office to be told", lambda: [n for n in _inbox(api, f"office:{p}-prov")
                                                          if "西安文旅" in n["subject"]])

    unit_page = _signed_in(system.gateway_url, f"{p}-unit")
    board = unit_page.get("/console/accounts/findings")
    assert "西安文旅" in board.text and "报告已整改" in board.text and CONTACT not in board.text
    finding_id = next(f["id"] for f in api.call("GET", "/api/registry/findings", f"{p}-unit").json()["findings"]
                      if f["code"] == "idle_no_update")
    r = unit_page.post(f"/console/accounts/findings/{finding_id}/fixed", data={"note": "已恢复更新"})
    assert "已报告整改" in r.text

    office_page = _signed_in(system.gateway_url, f"{p}-city")
    exported = office_page.get("/console/accounts/findings.csv")
    assert exported.status_code == 200 and "西安文旅" in exported.content.decode("utf-8-sig")
    assert CONTACT not in exported.content.decode("utf-8-sig")
    r = office_page.post(f"/console/accounts/findings/{finding_id}/decision", data={"decision": "accept"})
    assert "已处理" in r.text
    closed = office_page.get("/console/accounts/findings?status=closed")
    assert "西安文旅" in closed.text and "整改完成" in closed.text

    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    report = office_page.post("/console/accounts/report", data={"month": month})
    assert "月报已生成" in report.text and report.text.count("<svg") == 3 and "西安市文旅局" in report.text
    book = office_page.get(f"/console/accounts/report/{month}.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    wait_for("the office to be told of its report", lambda: [n for n in _inbox(api, f"office:{p}-city")
                                                             if month in n["subject"]])


def test_unit_and_office_follow_a_finding_in_the_browser(system, browser) -> None:
    from playwright.sync_api import expect

    api = Api(system.gateway_url)
    api.login("admin", "admin-demo-password")
    p = f"b{uuid.uuid4().hex[:6]}"
    _organisations(api, p)
    account_id = _active_account(api, p)
    # The checks count Beijing's calendar days (`report_timezone`), which is a day ahead of UTC from 16:00 UTC.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    r = api.call("POST", f"/api/registry/accounts/{account_id}/snapshots", f"{p}-unit", json={
        "taken_on": today.isoformat(), "followers": 900, "posts": 6, "reposts": 0, "comments": 0,
        "last_update_on": today.isoformat()})
    assert r.status_code == 201, r.text
    last_month = today.replace(day=1) - timedelta(days=2)
    r = api.call("POST", f"/api/registry/accounts/{account_id}/snapshots", f"{p}-unit", json={
        "taken_on": last_month.isoformat(), "followers": 800, "posts": 12, "reposts": 0, "comments": 0,
        "last_update_on": last_month.isoformat()})
    assert r.status_code == 201, r.text
    assert api.call("POST", "/api/registry/checks/run", f"{p}-city", json={}).status_code == 200
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = system.gateway_url

    unit = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN").new_page()
    _sign_in(unit, base, f"{p}-unit")
    unit.get_by_role("link", name="账号检查问题").click()
    expect(unit.get_by_role("heading", name="账号检查问题")).to_be_visible()
    expect(unit.locator(".card").filter(has_text="西安文旅")).to_contain_text("无转发、无评论")
    bad = (f"account_id,taken_on,followers,posts,reposts,comments\n{account_id},{today},900,6,4,2\n"
           f"{account_id},{today},many,6,4,2\n").encode()
    unit.get_by_label("数据文件").set_input_files(files=[{"name": "figures.csv", "mimeType": "text/csv",
                                                         "buffer": bad}])
    unit.get_by_role("button", name="导入").click()
    expect(unit.get_by_role("alert")).to_contain_text("第 3 行")
    expect(unit.get_by_role("alert")).to_contain_text("未写入任何数据")
    unit.screenshot(path=str(SCREENSHOTS / "unit-account-findings.png"), full_page=True)
    unit.get_by_label("整改说明").fill("已开通评论并回复网民留言")
    unit.get_by_role("button", name="报告已整改").click()
    expect(unit.get_by_role("status")).to_contain_text("已报告整改")
    assert CONTACT not in unit.content()

    office = browser.new_context(locale="zh-CN").new_page()
    _sign_in(office, base, f"{p}-city")
    office.goto(base + "/console/accounts/findings?status=reported_fixed")
    expect(office.get_by_role("link", name="Excel")).to_be_visible()
    office.get_by_label("审核决定").select_option("accept")
    office.screenshot(path=str(SCREENSHOTS / "office-findings-board.png"), full_page=True)
    office.get_by_role("button", name="提交").click()
    expect(office.get_by_role("status")).to_contain_text("已处理")
    office.get_by_role("link", name="账号月报").click()
    office.get_by_role("button", name="生成月报").click()
    expect(office.get_by_role("status")).to_contain_text("月报已生成")
    expect(office.get_by_role("img", name="各单位发布数")).to_contain_text("12")
    office.screenshot(path=str(SCREENSHOTS / "office-monthly-report.png"), full_page=True)
    assert CONTACT not in office.content()


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="工作台").wait_for()
